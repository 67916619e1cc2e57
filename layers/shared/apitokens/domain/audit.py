"""Audit events as plain data: what happened to a token, by whom, from where. The store writes
each in the change's own transaction (store/audit_items.py builds its item).

An event never holds a secret nor a digest of one: the token's sid identifies it. Who acted and
from where is request-scoped: the HTTP guard (and the authorizer, the leak routes, the scheduled
sweep) set `current` once per request, so the repository stamps every event of that request
without each layer passing it along.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from apitokens.domain import base62

ActorType = Literal["user", "token", "system"]

CREATED = "token.created"
UPDATED = "token.updated"
DEACTIVATED = "token.deactivated"
REACTIVATED = "token.reactivated"
DELETED = "token.deleted"
ROLLED = "token.rolled"
# Deactivated because an ancestor was (cascading revocation).
REVOKED_BY_CASCADE = "token.revoked_by_cascade"
LEAKED = "token.leaked"
USED_FROM_NEW_IP = "token.used_from_new_ip"
EXPIRING = "token.expiring"
EXPIRED = "token.expired"
EVENT_TYPES: tuple[str, ...] = (
    CREATED,
    UPDATED,
    DEACTIVATED,
    REACTIVATED,
    DELETED,
    ROLLED,
    REVOKED_BY_CASCADE,
    LEAKED,
    USED_FROM_NEW_IP,
    EXPIRING,
    EXPIRED,
)

EVENT_SID_PREFIX = "evt_"
# Bounds what a client can make us store per event.
USER_AGENT_MAX = 256
DEFAULT_RETENTION_DAYS = 400


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who acts and from where, for every event of one request."""

    actor: Actor
    request_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


SYSTEM = RequestContext(Actor("system", "apitokens"))
_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("audit_context", default=SYSTEM)


def current() -> RequestContext:
    return _current.get()


def set_current(context: RequestContext) -> None:
    _current.set(context)


@contextmanager
def acting_as(context: RequestContext) -> Iterator[None]:
    reset = _current.set(context)
    try:
        yield
    finally:
        _current.reset(reset)


def _caller(event: Mapping[str, Any]) -> Mapping[str, Any]:
    request_context = event.get("requestContext") or {}
    return request_context.get("identity") or request_context.get("http") or {}


def source_ip(event: Mapping[str, Any]) -> str | None:
    """The caller's IP as API Gateway saw it: a REST API's requestContext.identity.sourceIp, an
    HTTP API's requestContext.http.sourceIp; never a header the client sets (X-Forwarded-For)."""
    value = _caller(event).get("sourceIp")
    return value if isinstance(value, str) else None


def context_from_event(event: Mapping[str, Any], actor: Actor) -> RequestContext:
    """requestId, sourceIp and User-Agent of an API Gateway event: a REST API's (the caller in
    requestContext.identity) or an HTTP API's (payload format 2.0: requestContext.http). The IP
    is the one API Gateway saw, never a header the client sets (X-Forwarded-For)."""
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    agent = headers.get("user-agent") or _caller(event).get("userAgent")
    return RequestContext(
        actor=actor,
        request_id=(event.get("requestContext") or {}).get("requestId"),
        source_ip=source_ip(event),
        user_agent=str(agent)[:USER_AGENT_MAX] if agent else None,
    )


class _EventSids:
    """evt_ + 9 base62 digits of milliseconds + 15 random: time-ordered like token sids, so an
    account's events are newest first by a descending Query."""

    def __init__(self) -> None:
        import secrets
        import threading

        self._secrets = secrets
        self._lock = threading.Lock()
        self._last = (0, 0)

    def new(self) -> str:
        millis = time.time_ns() // 1_000_000
        with self._lock:
            last_ms, last_random = self._last
            if millis <= last_ms:
                millis, random_part = last_ms, last_random + 1
            else:
                random_part = self._secrets.randbelow(62**15 // 2)
            self._last = (millis, random_part)
        return EVENT_SID_PREFIX + base62.encode(millis, 9) + base62.encode(random_part, 15)


_sids = _EventSids()


def new_event_sid() -> str:
    return _sids.new()


def change(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


def event_document(
    event_type: str,
    account_sid: str,
    token_sid: str,
    occurred_at: str,
    changes: Mapping[str, Any] | None = None,
    *,
    context: RequestContext | None = None,
    sid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The event as the API and the bus show it."""
    context = context or current()
    return {
        "sid": sid or new_event_sid(),
        "type": event_type,
        "occurredAt": occurred_at,
        "accountSid": account_sid,
        "apiTokenSid": token_sid,
        "actor": {"type": context.actor.type, "id": context.actor.id},
        "requestId": context.request_id,
        "sourceIp": context.source_ip,
        "userAgent": context.user_agent,
        "changes": dict(changes or {}),
        **extra,
    }
