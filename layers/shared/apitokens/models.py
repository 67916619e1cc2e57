"""The API's JSON shapes, camelCase on the wire exactly as the seed shows them.

Request bodies forbid unknown fields and are validated strictly (no "true" for true).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from apitokens.records import TokenPage, TokenRecord
from apitokens.scopes import ALL_SCOPES

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 500


def _no_control_characters(value: str, allowed: str = "") -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char not in allowed:
            raise ValueError(f"must not contain control or unassigned characters (found U+{ord(char):04X})")
    return value


def _valid_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return _no_control_characters(value)


def _valid_description(value: str) -> str:
    return _no_control_characters(value, allowed="\n\t")


def _valid_scopes(value: list[str]) -> list[str]:
    unknown = [scope for scope in value if scope not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(map(repr, unknown[:5]))}; see the scope catalog")
    if len(set(value)) != len(value):
        raise ValueError("must not repeat a scope")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, for example 2030-12-31T23:59:59.000Z")
    return value


TokenName = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(_valid_name)]
TokenDescription = Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH), AfterValidator(_valid_description)]
ScopeList = Annotated[list[str], Field(min_length=1, max_length=len(ALL_SCOPES)), AfterValidator(_valid_scopes)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=False)


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class CreateTokenRequest(_Request):
    name: TokenName
    description: TokenDescription | None = None
    scopes: ScopeList
    expires_at: Timestamp | None = None


class UpdateTokenRequest(_Request):
    """PUT body. Absent `description` keeps the current one; `null` clears it."""

    name: TokenName
    description: TokenDescription | None = None
    is_active: bool


class ApiToken(_Response):
    sid: str
    account_sid: str
    name: str
    description: str | None
    scopes: list[str]
    last_used_at: str | None
    expires_at: str | None
    is_active: bool
    created_at: str

    @classmethod
    def from_record(cls, record: TokenRecord) -> ApiToken:
        return cls(
            sid=record.sid,
            account_sid=record.account_sid,
            name=record.name,
            description=record.description,
            scopes=list(record.scopes),
            last_used_at=record.last_used_at,
            expires_at=record.expires_at,
            is_active=record.is_active,
            created_at=record.created_at,
        )


class CreatedApiToken(_Response):
    """The creation response, in the seed's field order; the only place `token` ever appears."""

    sid: str
    token: str
    account_sid: str
    name: str
    description: str | None
    scopes: list[str]
    expires_at: str | None
    is_active: bool
    created_at: str

    @classmethod
    def from_record(cls, record: TokenRecord, token: str) -> CreatedApiToken:
        return cls(
            sid=record.sid,
            token=token,
            account_sid=record.account_sid,
            name=record.name,
            description=record.description,
            scopes=list(record.scopes),
            expires_at=record.expires_at,
            is_active=record.is_active,
            created_at=record.created_at,
        )


class ApiTokenList(_Response):
    has_more: bool
    records: list[ApiToken]

    @classmethod
    def from_page(cls, page: TokenPage) -> ApiTokenList:
        return cls(has_more=page.has_more, records=[ApiToken.from_record(record) for record in page.records])


class DeletedApiToken(_Response):
    sid: str
    deleted: bool = True


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class ListQuery(BaseModel):
    """Query string of List: limit 1-100 (default 20) and startingAfter, a token sid."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=100)
    starting_after: str | None = Field(default=None, alias="startingAfter")
