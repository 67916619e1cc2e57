"""The JSON shapes of POST /apiTokens/verify (IAM-authorized; apitokens.auth.verify).

Apart from the token models (models.py), as the leak-report shapes are, so that no other handler's
cold start builds them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, RootModel, model_validator

from apitokens.auth.verify import Question, RouteQuestion, ScopeQuestion, Verification
from apitokens.domain.scopes import is_known_scope
from apitokens.settings import MAX_ACCOUNT_ID_LENGTH
from apitokens.wire.models import AccountSid, RequestModel, ResponseModel, Scope, TokenSid, WireTimestamp

# A request path as a backend received it, without the stage: printable ASCII without `?` and `#`.
REQUEST_PATH_PATTERN = r"^/[\x21\x22\x24-\x3e\x40-\x7e]*$"
MAX_PATH_LENGTH = 2048
# Longer than any account sid: what is not one is held by no token (allowed: false), not a 400.
MAX_ACCOUNT_SID_LENGTH = MAX_ACCOUNT_ID_LENGTH


def _known_scope(value: str) -> str:
    if not is_known_scope(value):
        raise ValueError(f"unknown scope {value!r}; see the scope catalog")
    return value


# The catalog's methods (scopes.METHODS), spelled out for the schema; a unit test compares them.
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class VerifyTokenRequest(RequestModel):
    """A token, and optionally one question: `method` + `path`, or `requiredScope` + `accountSid`."""

    token: str = Field(description="The token to check, as the caller received it (any string).")
    method: Method | None = Field(default=None, description="With `path`: the request to decide on.")
    path: Annotated[str, Field(max_length=MAX_PATH_LENGTH, pattern=REQUEST_PATH_PATTERN)] | None = Field(
        default=None, description="A request path without the stage, e.g. /accounts/acc_.../metrics."
    )
    required_scope: Annotated[Scope, AfterValidator(_known_scope)] | None = Field(
        default=None, description="With `accountSid`: the scope to decide on."
    )
    account_sid: Annotated[str, Field(min_length=1, max_length=MAX_ACCOUNT_SID_LENGTH)] | None = Field(
        default=None, description="The account `requiredScope` is asked for."
    )

    @model_validator(mode="after")
    def _one_question(self) -> Self:
        route = (self.method, self.path)
        scope = (self.required_scope, self.account_sid)
        if (None in route and route != (None, None)) or (None in scope and scope != (None, None)):
            raise ValueError("method and path go together, and so do requiredScope and accountSid")
        if None not in route and None not in scope:
            raise ValueError("ask one question: method and path, or requiredScope and accountSid")
        return self

    @property
    def question(self) -> Question | None:
        if self.method is not None and self.path is not None:
            return RouteQuestion(self.method, self.path)
        if self.required_scope is not None and self.account_sid is not None:
            return ScopeQuestion(self.required_scope, self.account_sid)
        return None


class InactiveToken(ResponseModel):
    """Any token that would be refused (unknown, malformed, inactive, expired, leaked, another
    environment's): this and nothing else."""

    active: Literal[False] = False


class ActiveToken(ResponseModel):
    active: Literal[True] = True
    account_sid: AccountSid
    token_sid: TokenSid
    scopes: list[str]
    expires_at: WireTimestamp | None


class ActiveTokenDecision(ActiveToken):
    """An active token and the answer to the question asked."""

    allowed: bool


class VerifyTokenAnswer(RootModel[InactiveToken | ActiveTokenDecision | ActiveToken]):
    """The verify route's answer, as published: one of the three shapes above."""


def answer(verification: Verification) -> InactiveToken | ActiveToken | ActiveTokenDecision:
    principal = verification.principal
    if principal is None or principal.token_sid is None:
        return InactiveToken()
    fields = {
        "account_sid": next(iter(principal.account_sids)),
        "token_sid": principal.token_sid,
        "scopes": sorted(principal.scopes),
        "expires_at": principal.expires_at,
    }
    if verification.allowed is None:
        return ActiveToken.model_validate(fields)
    return ActiveTokenDecision.model_validate({**fields, "allowed": verification.allowed})
