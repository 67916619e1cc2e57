"""Domain records: what the repository stores and returns, free of any wire or driver format.

Timestamps are kept as strings in the one format of timeutil (they sort as instants).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenRecord:
    sid: str
    account_sid: str
    name: str
    description: str | None
    scopes: tuple[str, ...]
    expires_at: str | None
    is_active: bool
    created_at: str
    last_used_at: str | None = None


@dataclass(frozen=True, slots=True)
class TokenPage:
    records: tuple[TokenRecord, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Credential:
    """What the authorizer needs to know about a token, read with one GetItem by digest."""

    account_sid: str
    token_sid: str
    scopes: tuple[str, ...]
    expires_at: str | None
    is_active: bool
    last_used_at: str | None
