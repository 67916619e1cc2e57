"""Domain records: what the repository stores and returns, free of any wire or driver format.

Timestamps are kept as strings in the one format of timeutil (they sort as instants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CreatorType = Literal["user", "token"]
# Why a token stopped working: deactivated or deleted by a caller, reported as leaked, or
# deactivated because an ancestor was (docs/api.md: "Lineage").
RevokedReason = Literal["revoked", "leaked", "parent_revoked"]
REVOKED: RevokedReason = "revoked"
LEAKED: RevokedReason = "leaked"
PARENT_REVOKED: RevokedReason = "parent_revoked"


@dataclass(frozen=True, slots=True)
class Creator:
    type: CreatorType
    id: str


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
    # Lineage: who created the token (a user's subject or a token's sid), and the creating
    # token's sid (None when a user created it).
    created_by_type: CreatorType = "user"
    created_by_id: str = ""
    parent_sid: str | None = None
    revoked_reason: RevokedReason | None = None
    revoked_at: str | None = None
    # The token that replaced this one by a roll.
    rolled_to: str | None = None

    @property
    def created_by(self) -> Creator:
        """The creator as the API shows it (the record keeps it flat, as the item stores it)."""
        return Creator(self.created_by_type, self.created_by_id)


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
    # The lookup item carries them so the authorizer's one read knows whether an IP is new.
    recent_clients: tuple[RecentClient, ...] = ()
    # How many copies of the lookup item the token has (every change writes them all).
    lookup_copies: int = 1


@dataclass(frozen=True, slots=True)
class Child:
    """One lineage edge, read by a key condition in the account's partition: enough to revoke the
    child without reading its token item (its lookup item is keyed by the digest)."""

    sid: str
    secret_digest: str
    lookup_copies: int = 1
    # A roll's pending move (docs/api.md: "Roll"): not a child, but a predecessor whose children
    # belong to this parent until they are moved; a cascade walks them without revoking it.
    moving: bool = False


@dataclass(frozen=True, slots=True)
class RecentClient:
    """One of the few most recently seen source IPs of a token (docs/api.md: "Usage")."""

    ip: str
    user_agent: str | None
    first_seen_at: str
    last_seen_at: str


@dataclass(frozen=True, slots=True)
class Usage:
    last_used_at: str | None
    recent_clients: tuple[RecentClient, ...]


@dataclass(frozen=True, slots=True)
class EventPage:
    records: tuple[dict[str, Any], ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ExpiringToken:
    """A token in the expiry index: enough to decide and record a warning."""

    account_sid: str
    sid: str
    expires_at: str
    is_active: bool
    # The smallest daysLeft already announced (0: token.expired was), None if none yet.
    notice: int | None
