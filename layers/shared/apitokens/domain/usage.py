"""Where a token is used from: its few most recently seen source IPs (GitLab keeps 5).

The authorizer records them in its at-most-once-a-minute lastUsedAt write, from the lookup item
it reads anyway (so still one read per authorization and no extra write). An IP that only uses
the token between two such writes of other IPs is therefore not seen: the list is a sample taken
once a minute, not a log of every request.
"""

from __future__ import annotations

from apitokens.domain.records import RecentClient

MAX_RECENT_CLIENTS = 5


def record_client(
    clients: tuple[RecentClient, ...], ip: str, user_agent: str | None, now: str
) -> tuple[tuple[RecentClient, ...], bool]:
    """The list with this request's client in it (most recently seen first, at most
    MAX_RECENT_CLIENTS), and whether its IP is new to the list."""
    known = next((client for client in clients if client.ip == ip), None)
    first_seen = known.first_seen_at if known is not None else now
    seen = RecentClient(ip=ip, user_agent=user_agent, first_seen_at=first_seen, last_seen_at=now)
    others = sorted((client for client in clients if client.ip != ip), key=lambda c: c.last_seen_at, reverse=True)
    return (seen, *others)[:MAX_RECENT_CLIENTS], known is None
