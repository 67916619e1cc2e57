"""Identifier formats: account sids (the deployment's AccountIdPattern, acc_... by default) and
token sids (tok_...).

New token sids are `tok_` + 24 base62 characters: 9 of milliseconds since the epoch, then 15
random ones (88 bits: the random part starts in the lower half of its range, leaving room to
count up). Because the alphabet is in ASCII order, sids sort by creation time, so
"newest first" is a plain descending Query on the sort key. Within one process, sids are also
strictly increasing when several are made in the same millisecond.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

from apitokens.domain import adopted, base62
from apitokens.domain.errors import InvalidRequest

# The default AccountIdPattern.
ACCOUNT_SID_PATTERN = adopted.ServiceDefaults().account_id_regex
# The API contract's examples have 21 to 24 characters after tok_; new sids have 24.
TOKEN_SID_PATTERN = re.compile(r"tok_[A-Za-z0-9]{21,24}")

TOKEN_SID_PREFIX = "tok_"
_TIME_DIGITS = 9
_RANDOM_DIGITS = 15


def account_sid_pattern() -> re.Pattern[str]:
    """The deployment's AccountIdPattern."""
    return adopted.current().account_id_regex


def is_account_sid(value: str) -> bool:
    return adopted.current().account_id_regex.fullmatch(value) is not None


def is_token_sid(value: str) -> bool:
    return TOKEN_SID_PATTERN.fullmatch(value) is not None


def require_account_sid(value: str) -> str:
    if not is_account_sid(value):
        raise InvalidRequest(account_sid_rule())
    return value


def account_sid_rule() -> str:
    """What a malformed account sid's error says."""
    pattern = adopted.current().account_id_regex
    if pattern.pattern == ACCOUNT_SID_PATTERN.pattern:
        return "accountSid must be acc_ followed by 24 or 27 letters and digits."
    return f"accountSid must match {pattern.pattern}."


def require_token_sid(value: str, name: str = "apiTokenSid") -> str:
    if not is_token_sid(value):
        raise InvalidRequest(f"{name} must be tok_ followed by 21 to 24 letters and digits.")
    return value


class _MonotonicSidFactory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)

    def new(self, now_ms: int | None = None) -> str:
        millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self._lock:
            last_ms, last_random = self._last
            if millis <= last_ms:
                # Same (or an earlier, if the clock stepped back) millisecond: count up from the
                # last sid so that the order still follows creation.
                millis, random_part = last_ms, last_random + 1
                if random_part >= 62**_RANDOM_DIGITS:
                    millis, random_part = last_ms + 1, 0
            else:
                random_part = secrets.randbelow(62**_RANDOM_DIGITS // 2)
            self._last = (millis, random_part)
        return TOKEN_SID_PREFIX + base62.encode(millis, _TIME_DIGITS) + base62.encode(random_part, _RANDOM_DIGITS)


_factory = _MonotonicSidFactory()


def new_token_sid(now_ms: int | None = None) -> str:
    """A new, time-ordered token sid."""
    return _factory.new(now_ms)
