"""API Gateway's authorizer cache, as the local gateway emulates it (AuthorizerCacheTtl > 0).

API Gateway keys a cached authorizer answer by the values of the authorizer's identity sources
(the template's Identity: Headers, QueryStrings, Context) and reuses it, for the TTL, for every
request whose identity sources have the same values, whatever route that is. Emulating it is
what lets tests prove over HTTP that caching never allows a request that would be refused
without it. A request missing an identity source is refused (401) without calling the
authorizer, cache or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

IdentitySource = tuple[str, str]  # ("header" | "query" | "context", name)


def identity_values(
    sources: Sequence[IdentitySource],
    headers: Mapping[str, str],
    query: Mapping[str, str],
    context: Mapping[str, Any],
) -> tuple[str, ...] | None:
    """The identity sources' values of a request, or None when one is missing or empty."""
    lower_headers = {name.lower(): value for name, value in headers.items()}
    values = []
    for where, name in sources:
        if where == "header":
            value = lower_headers.get(name.lower())
        elif where == "query":
            value = query.get(name)
        else:
            value = context.get(name)
        if value is None or str(value) == "":
            return None
        values.append(str(value))
    return tuple(values)


class AuthorizerCache:
    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def answer(self, key: tuple[str, ...], authorize: Callable[[], Any]) -> Any:
        """The cached answer for `key`, or authorize() (cached when it returns; an error, such
        as a 401, is not cached)."""
        if self.ttl_seconds <= 0:
            return authorize()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        decision = authorize()
        with self._lock:
            self._entries[key] = (now + self.ttl_seconds, decision)
        return decision
