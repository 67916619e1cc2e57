"""The API's JSON shapes, camelCase on the wire exactly as the API contract shows them.

Request bodies forbid unknown fields and are validated strictly (no "true" for true).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from apitokens.domain import commands
from apitokens.domain.ids import TOKEN_SID_PATTERN, account_sid_pattern
from apitokens.domain.records import RevokedReason, TokenPage, TokenRecord
from apitokens.domain.scopes import known_scopes, unknown_scopes
from apitokens.wire.restrictions import AllowedIps, Metadata
from apitokens.wire.visible_text import DESCRIPTION_PATTERN, NAME_PATTERN, is_valid_description, is_valid_name

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 500

# What names and descriptions may hold (visible text, emoji sequences included) and the
# published patterns saying the same in ECMA-262: apitokens.wire.visible_text.


def _valid_name(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError("must contain visible text and no control, invisible or separator characters")
    return value


def _valid_description(value: str) -> str:
    if not is_valid_description(value):
        raise ValueError("must not contain control or invisible formatting characters (tab and newlines are fine)")
    return value


def _valid_scopes(value: list[str]) -> list[str]:
    unknown = unknown_scopes(value)
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(map(repr, unknown[:5]))}; see the scope catalog")
    if len(set(value)) != len(value):
        raise ValueError("must not repeat a scope")
    return value


def _aware(value: datetime) -> datetime:
    """The time in UTC; it must name its zone, and exist in UTC (year 1 to 9999)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, for example 2030-12-31T23:59:59.000Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def schema_keywords(**keywords: Any) -> Any:
    """JSON Schema keywords that the validators above enforce but pydantic cannot derive."""
    return Field(json_schema_extra=keywords)


TokenName = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX_LENGTH, description="Not blank; no control or invisible characters."),
    schema_keywords(pattern=NAME_PATTERN),
    AfterValidator(_valid_name),
]
TokenDescription = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX_LENGTH, description="No control or invisible characters but tab and newlines."),
    schema_keywords(pattern=DESCRIPTION_PATTERN),
    AfterValidator(_valid_description),
]


def _scope_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(known_scopes())


def _scope_list_bounds(schema: dict[str, Any]) -> None:
    schema.update(maxItems=len(known_scopes()), uniqueItems=True)


def _account_sid_pattern(schema: dict[str, Any]) -> None:
    schema["pattern"] = f"^{account_sid_pattern().pattern}$"


# The deployment's scopes and account ids: read when a schema is made, not at import. Past the
# scopes' count, a list repeats a scope or names an unknown one, which _valid_scopes refuses.
Scope = Annotated[str, Field(json_schema_extra=_scope_enum)]
ScopeList = Annotated[
    list[Scope],
    Field(min_length=1, json_schema_extra=_scope_list_bounds),
    AfterValidator(_valid_scopes),
]
Timestamp = Annotated[
    datetime,
    Field(description="ISO 8601 with a time zone, in the future; null or absent for no expiration."),
    AfterValidator(_aware),
]
# What responses carry, for the published schema.
WireTimestamp = Annotated[str, schema_keywords(format="date-time")]
TokenSid = Annotated[str, schema_keywords(pattern=f"^{TOKEN_SID_PATTERN.pattern}$")]
AccountSid = Annotated[str, Field(json_schema_extra=_account_sid_pattern)]


def build(*models: type[BaseModel]) -> None:
    """Builds the models a handler uses, at its import (cold start), not at its first request.
    Every model here is defer_build: a handler never pays for building the models it does not
    use (each uses two or three of ten)."""
    for model in models:
        model.model_rebuild(force=True)


class RequestModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=False, defer_build=True
    )


class ResponseModel(BaseModel):
    # Every field is always serialised, so the schema marks every field required.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
        defer_build=True,
    )


class CreateTokenRequest(RequestModel):
    name: TokenName
    description: TokenDescription | None = None
    scopes: ScopeList
    expires_at: Timestamp | None = None
    metadata: Metadata | None = None
    allowed_ips: AllowedIps | None = None

    def command(self) -> commands.CreateToken:
        return commands.CreateToken(
            name=self.name,
            scopes=tuple(self.scopes),
            description=self.description,
            expires_at=self.expires_at,
            metadata=self.metadata,
            allowed_ips=None if self.allowed_ips is None else tuple(self.allowed_ips),
            body=self.model_dump(mode="json", by_alias=True),
        )


class UpdateTokenRequest(RequestModel):
    """PUT body. Absent `description`, `metadata` or `allowedIps` keeps the current one; `null`
    clears it (allowedIps null: from anywhere)."""

    name: TokenName
    description: TokenDescription | None = None
    is_active: bool
    keep_successor: bool = Field(
        default=False,
        description="With isActive false, by a user: a successor this token made by rolling itself is not "
        "deactivated with it (it moves to this token's parent). Default: it is.",
    )
    metadata: Metadata | None = None
    allowed_ips: AllowedIps | None = None

    def command(self) -> commands.UpdateToken:
        return commands.UpdateToken(
            name=self.name,
            is_active=self.is_active,
            description=self.description,
            replace_description="description" in self.model_fields_set,
            keep_successor=self.keep_successor,
            metadata=self.metadata,
            replace_metadata="metadata" in self.model_fields_set,
            allowed_ips=None if self.allowed_ips is None else tuple(self.allowed_ips),
            replace_allowed_ips="allowed_ips" in self.model_fields_set,
        )


# A week: Stripe's longest overlap when rolling a key.
MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60


class RollTokenRequest(RequestModel):
    """POST .../roll body (optional): how long the old token keeps working."""

    grace_period_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_GRACE_PERIOD_SECONDS,
        description="Seconds the old token keeps working (0, the default: it stops now).",
    )

    def command(self) -> commands.RollToken:
        return commands.RollToken(self.grace_period_seconds, body=self.model_dump(mode="json", by_alias=True))


class CreatedBy(ResponseModel):
    type: Literal["user", "token"]
    id: str = Field(description="The user's subject, or the creating token's sid.")


@dataclass(frozen=True, slots=True)
class _Issued:
    """A record with the token value just issued for it (and, on a roll, the sid it replaces):
    what the creation and roll responses are validated from. Every other attribute is the
    record's, so a field added to the record and the response cannot be forgotten here."""

    record: TokenRecord
    token: str
    rolled_from: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)


class ApiToken(ResponseModel):
    sid: TokenSid
    account_sid: AccountSid
    name: str
    description: str | None
    scopes: list[str]
    last_used_at: WireTimestamp | None
    expires_at: WireTimestamp | None
    is_active: bool
    created_at: WireTimestamp
    created_by: CreatedBy
    parent_sid: TokenSid | None
    revoked_reason: RevokedReason | None
    revoked_at: WireTimestamp | None
    rolled_to: TokenSid | None = Field(description="The token that replaced this one by a roll, or null.")
    redacted_token: str = Field(description="The value's prefix and last four characters, to recognise it in a log.")
    metadata: dict[str, str] | None
    allowed_ips: list[str] | None = Field(
        description="The networks the token works from (CIDR blocks); null: anywhere."
    )

    @classmethod
    def from_record(cls, record: TokenRecord) -> ApiToken:
        # Validated from the record's attributes by pydantic-core: measured faster than building
        # it with model_construct in Python (100-token page, validate+serialise: 0.70 ms against
        # 0.93 ms), and no field is copied by hand.
        return cls.model_validate(record, from_attributes=True)


class CreatedApiToken(ResponseModel):
    """The creation response, in the API contract's field order; the only place `token` ever appears."""

    sid: TokenSid
    token: str = Field(description="The token value (at_live_... or at_test_...), returned in this response only.")
    account_sid: AccountSid
    name: str
    description: str | None
    scopes: list[str]
    expires_at: WireTimestamp | None
    is_active: bool
    created_at: WireTimestamp
    created_by: CreatedBy
    parent_sid: TokenSid | None
    revoked_reason: RevokedReason | None
    revoked_at: WireTimestamp | None
    rolled_to: TokenSid | None = Field(description="The token that replaced this one by a roll, or null.")
    redacted_token: str = Field(description="The value's prefix and last four characters, to recognise it in a log.")
    metadata: dict[str, str] | None
    allowed_ips: list[str] | None = Field(
        description="The networks the token works from (CIDR blocks); null: anywhere."
    )

    @classmethod
    def from_record(cls, record: TokenRecord, token: str) -> CreatedApiToken:
        return cls.model_validate(_Issued(record, token), from_attributes=True)


class RolledApiToken(CreatedApiToken):
    """The roll response: the new token as create answers it, plus the sid it replaces."""

    rolled_from: TokenSid

    @classmethod
    def from_roll(cls, record: TokenRecord, token: str, rolled_from: str) -> RolledApiToken:
        return cls.model_validate(_Issued(record, token, rolled_from), from_attributes=True)


class ApiTokenList(ResponseModel):
    has_more: bool
    records: list[ApiToken]

    @classmethod
    def from_page(cls, page: TokenPage) -> ApiTokenList:
        return cls.model_validate(page, from_attributes=True)


class DeletedApiToken(ResponseModel):
    sid: TokenSid
    deleted: bool = True


class ErrorDetail(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorBody


def _true_or_false(value: object) -> bool:
    """A query flag spelled exactly true or false. pydantic's lax booleans (1, yes, on, t, ...)
    would turn a typo into a choice, and this one decides whether a token keeps working."""
    if value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value == "true"


class DeleteQuery(BaseModel):
    """Query string of Delete: keepSuccessor (true or false, default false)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    keep_successor: Annotated[bool, BeforeValidator(_true_or_false)] = Field(default=False, alias="keepSuccessor")


class ListQuery(BaseModel):
    """Query string of List: limit 1-100 (default 20) and startingAfter, a token sid."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    limit: int = Field(default=20, ge=1, le=100)
    starting_after: str | None = Field(default=None, alias="startingAfter")

    def command(self) -> commands.ListTokens:
        return commands.ListTokens(self.limit, self.starting_after)
