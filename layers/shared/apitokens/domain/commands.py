"""What a caller asks the rules to do, as plain values: the wire layer validates a request and
hands one of these on (wire/models.py: each request model's `command`), so the rules never see
a wire model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CreateToken:
    name: str
    scopes: tuple[str, ...]
    description: str | None = None
    expires_at: datetime | None = None
    metadata: dict[str, str] | None = None
    # None: the creating token's networks, or anywhere when a user creates it.
    allowed_ips: tuple[str, ...] | None = None
    # The request as the caller sent it: what an idempotent retry must repeat exactly.
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpdateToken:
    name: str
    is_active: bool
    description: str | None = None
    # False when the request left description out: the token keeps the one it has.
    replace_description: bool = False
    # With is_active false, by a user: a successor the token made by rolling itself lives on.
    keep_successor: bool = False
    metadata: dict[str, str] | None = None
    replace_metadata: bool = False
    allowed_ips: tuple[str, ...] | None = None
    replace_allowed_ips: bool = False


@dataclass(frozen=True, slots=True)
class RollToken:
    grace_period_seconds: int = 0
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListTokens:
    limit: int = 20
    starting_after: str | None = None


@dataclass(frozen=True, slots=True)
class ListAuditEvents:
    limit: int = 20
    starting_after: str | None = None
    api_token_sid: str | None = None
    type: str | None = None
