"""The token operations: the domain rules between the HTTP layer and the repository.

Every function takes the calling principal and raw path/query values, validates them, and
either returns a record or raises a DomainError; none knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from apitokens import ids, tokens
from apitokens.errors import FieldError, InsufficientScope, InvalidRequest
from apitokens.models import CreateTokenRequest, ListQuery, UpdateTokenRequest
from apitokens.principal import Principal
from apitokens.records import TokenPage, TokenRecord
from apitokens.repository import TokenRepository
from apitokens.settings import Settings
from apitokens.timeutil import format_timestamp, utcnow


@dataclass(frozen=True, slots=True)
class CreatedToken:
    record: TokenRecord
    # The plaintext value: returned to the caller once and never stored or logged.
    secret: str


def _check_no_escalation(principal: Principal, scopes: Iterable[str], expires_at: str | None) -> None:
    """A credential may only grant what it holds: a subset of its scopes, for no longer than it
    lives. That goes for creating a token and for changing one (re-activating a deactivated token
    grants it again)."""
    extra = sorted(set(scopes) - principal.scopes)
    if extra:
        raise InsufficientScope(f"These credentials cannot grant scopes they do not hold: {', '.join(extra)}.")
    if principal.expires_at is not None and (expires_at is None or expires_at > principal.expires_at):
        raise InsufficientScope(
            f"A token that expires at {principal.expires_at} can only create tokens that expire no later."
        )


def create_token(
    repository: TokenRepository,
    settings: Settings,
    principal: Principal,
    account_sid: str,
    request: CreateTokenRequest,
    *,
    now: datetime | None = None,
) -> CreatedToken:
    ids.require_account_sid(account_sid)
    now = now or utcnow()
    expires_at = None
    if request.expires_at is not None:
        if request.expires_at <= now:
            raise InvalidRequest(
                "expiresAt must be in the future.",
                [
                    FieldError(
                        "expiresAt",
                        f"{format_timestamp(request.expires_at)} is not after now ({format_timestamp(now)})",
                    )
                ],
            )
        expires_at = format_timestamp(request.expires_at)
    _check_no_escalation(principal, request.scopes, expires_at)
    secret = tokens.generate(settings.token_prefix)
    record = TokenRecord(
        sid=ids.new_token_sid(),
        account_sid=account_sid,
        name=request.name,
        description=request.description,
        scopes=tuple(request.scopes),
        expires_at=expires_at,
        is_active=True,
        created_at=format_timestamp(now),
    )
    repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
    return CreatedToken(record=record, secret=secret)


def list_tokens(repository: TokenRepository, account_sid: str, query: ListQuery) -> TokenPage:
    ids.require_account_sid(account_sid)
    if query.starting_after is not None:
        ids.require_token_sid(query.starting_after, "startingAfter")
    return repository.list_page(account_sid, query.limit, query.starting_after)


def get_token(repository: TokenRepository, account_sid: str, token_sid: str) -> TokenRecord:
    return repository.get(ids.require_account_sid(account_sid), ids.require_token_sid(token_sid))


def update_token(
    repository: TokenRepository, principal: Principal, account_sid: str, token_sid: str, request: UpdateTokenRequest
) -> TokenRecord:
    return repository.update(
        ids.require_account_sid(account_sid),
        ids.require_token_sid(token_sid),
        name=request.name,
        is_active=request.is_active,
        description=request.description,
        replace_description="description" in request.model_fields_set,
        # Checked on the token as read, before the write; its scopes and expiry never change.
        check=lambda current: _check_no_escalation(principal, current.scopes, current.expires_at),
    )


def delete_token(repository: TokenRepository, account_sid: str, token_sid: str) -> None:
    repository.delete(ids.require_account_sid(account_sid), ids.require_token_sid(token_sid))
