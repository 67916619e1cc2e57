"""Expiry warnings: token.expiring at 30, 7 and 1 days before a token's expiresAt and
token.expired once it has passed, each once per token, through the audit path (so they are in
the API and on the bus).

The daily sweep reads the expiry index (GSI3, a few partitions per expiry day) for the days from
LOOKBACK_DAYS ago to 30 days ahead: its reads grow with the tokens expiring in that window, not
with all tokens. A token's item records the nearest warning sent (expiryNotice), so a rerun or a
concurrent run sends nothing twice; token.expired also takes it out of the index. A token that
is inactive gets no warning. A sweep missed for more than LOOKBACK_DAYS days misses the
token.expired of tokens that expired before that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apitokens.domain import audit
from apitokens.domain.records import ExpiringToken
from apitokens.domain.timeutil import format_timestamp

if TYPE_CHECKING:
    from apitokens.rules.ports import EventStore

WARNING_DAYS = (30, 7, 1)
LOOKBACK_DAYS = 7
SWEEPER = audit.RequestContext(audit.Actor("system", "expiry_sweep"))


@dataclass(frozen=True, slots=True)
class SweepResult:
    items_read: int
    queries: int
    expiring: int
    expired: int


def due_notice(token: ExpiringToken, now: datetime) -> tuple[int, int] | None:
    """(notice, daysLeft) to send now, or None. notice is the threshold (30, 7, 1; 0 = expired)."""
    if not token.is_active:
        return None
    left = datetime.fromisoformat(token.expires_at.replace("Z", "+00:00")) - now
    if left <= timedelta(0):
        notice, days_left = 0, 0
    else:
        days_left = math.ceil(left / timedelta(days=1))
        nearer = [days for days in WARNING_DAYS if days_left <= days]
        if not nearer:
            return None
        notice = min(nearer)
    if token.notice is not None and token.notice <= notice:
        return None
    return notice, days_left


def sweep(repository: EventStore, now: datetime) -> SweepResult:
    timestamp = format_timestamp(now)
    read = queries = expiring = expired = 0
    for offset in range(-LOOKBACK_DAYS, max(WARNING_DAYS) + 1):
        day = (now + timedelta(days=offset)).strftime("%Y-%m-%d")
        tokens, items, day_queries = repository.expiring_on(day)
        read += items
        queries += day_queries
        for token in tokens:
            due = due_notice(token, now)
            if due is None:
                continue
            notice, days_left = due
            if notice == 0:
                document = audit.event_document(
                    audit.EXPIRED,
                    token.account_sid,
                    token.sid,
                    timestamp,
                    {"expiresAt": audit.change(token.expires_at, token.expires_at)},
                    context=SWEEPER,
                )
            else:
                document = audit.event_document(
                    audit.EXPIRING, token.account_sid, token.sid, timestamp, {}, context=SWEEPER, daysLeft=days_left
                )
            if repository.record_expiry_notice(token, notice, document):
                if notice == 0:
                    expired += 1
                else:
                    expiring += 1
    return SweepResult(items_read=read, queries=queries, expiring=expiring, expired=expired)
