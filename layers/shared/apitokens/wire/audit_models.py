"""The JSON shapes of the audit trail and of a token's usage: GET .../auditEvents and
GET .../usage.

Apart from the token models (models.py) so that the token handlers' cold start does not build
classes only these handlers use (docs/performance.md, "Cold start").
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from apitokens.domain.audit import EVENT_TYPES
from apitokens.domain.commands import ListAuditEvents
from apitokens.domain.ids import TOKEN_SID_PATTERN
from apitokens.domain.records import EventPage, Usage
from apitokens.wire.models import AccountSid, ResponseModel, TokenSid, WireTimestamp, schema_keywords

EVENT_SID_PATTERN = r"evt_[A-Za-z0-9]{24}"
_EVENT_SID = re.compile(EVENT_SID_PATTERN)
_TOKEN_SID = re.compile(TOKEN_SID_PATTERN.pattern)


def _valid_event_sid(value: str) -> str:
    if _EVENT_SID.fullmatch(value) is None:
        raise ValueError("must be the sid of an audit event (evt_ followed by 24 letters and digits)")
    return value


def _valid_token_sid(value: str) -> str:
    if _TOKEN_SID.fullmatch(value) is None:
        raise ValueError("must be tok_ followed by 21 to 24 letters and digits")
    return value


def _valid_event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type; one of {', '.join(EVENT_TYPES)}")
    return value


class AuditEventsQuery(BaseModel):
    """Query string of GET .../auditEvents: limit and startingAfter as for tokens, and filters."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    limit: int = Field(default=20, ge=1, le=100)
    starting_after: Annotated[str, AfterValidator(_valid_event_sid)] | None = Field(default=None, alias="startingAfter")
    api_token_sid: Annotated[str, AfterValidator(_valid_token_sid)] | None = Field(default=None, alias="apiTokenSid")
    type: Annotated[str, AfterValidator(_valid_event_type)] | None = None

    def command(self) -> ListAuditEvents:
        return ListAuditEvents(self.limit, self.starting_after, self.api_token_sid, self.type)


class AuditActor(ResponseModel):
    type: Literal["user", "token", "system"]
    id: str


class AuditEvent(ResponseModel):
    """One audit event. `daysLeft` only on token.expiring."""

    model_config = ConfigDict(extra="allow")

    sid: Annotated[str, schema_keywords(pattern=f"^{EVENT_SID_PATTERN}$")]
    type: str
    occurred_at: WireTimestamp
    account_sid: AccountSid
    api_token_sid: TokenSid
    actor: AuditActor
    request_id: str | None
    source_ip: str | None
    user_agent: str | None
    changes: dict[str, Any]


class AuditEventList(ResponseModel):
    has_more: bool
    records: list[AuditEvent]

    @classmethod
    def from_page(cls, page: EventPage) -> AuditEventList:
        return cls(has_more=page.has_more, records=[AuditEvent.model_validate(event) for event in page.records])


class RecentClientModel(ResponseModel):
    ip: str
    user_agent: str | None
    first_seen_at: WireTimestamp
    last_seen_at: WireTimestamp


class TokenUsage(ResponseModel):
    last_used_at: WireTimestamp | None
    recent_clients: list[RecentClientModel]

    @classmethod
    def from_usage(cls, usage: Usage) -> TokenUsage:
        return cls(
            last_used_at=usage.last_used_at,
            recent_clients=[
                RecentClientModel(
                    ip=client.ip,
                    user_agent=client.user_agent,
                    first_seen_at=client.first_seen_at,
                    last_seen_at=client.last_seen_at,
                )
                for client in usage.recent_clients
            ],
        )
