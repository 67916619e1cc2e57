"""The token operations: the domain rules between the HTTP layer and the repository.

Every function takes the calling principal and raw path/query values, validates them, and
either returns a record or raises a DomainError; none knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apitokens import ids, tokens
from apitokens.errors import FieldError, Forbidden, InsufficientScope, InvalidRequest, TokenStateConflict
from apitokens.models import CreateTokenRequest, ListQuery, UpdateTokenRequest
from apitokens.principal import Principal
from apitokens.records import LEAKED, TokenPage, TokenRecord
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
        **lineage(principal),
    )
    repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
    return CreatedToken(record=record, secret=secret)


def lineage(principal: Principal) -> dict[str, Any]:
    """createdBy and parentSid of a token this principal creates: a token made by an API token is
    that token's child, so revoking the creator reaches it."""
    if principal.type == "token":
        return {"created_by_type": "token", "created_by_id": principal.token_sid, "parent_sid": principal.token_sid}
    return {"created_by_type": "user", "created_by_id": principal.id, "parent_sid": None}


def list_tokens(repository: TokenRepository, account_sid: str, query: ListQuery) -> TokenPage:
    ids.require_account_sid(account_sid)
    if query.starting_after is not None:
        ids.require_token_sid(query.starting_after, "startingAfter")
    return repository.list_page(account_sid, query.limit, query.starting_after)


def get_token(repository: TokenRepository, account_sid: str, token_sid: str) -> TokenRecord:
    return repository.get(ids.require_account_sid(account_sid), ids.require_token_sid(token_sid))


def _check_update(principal: Principal, current: TokenRecord, activate: bool) -> None:
    """Checked on the token as read, before the write; its scopes and expiry never change."""
    _check_no_escalation(principal, current.scopes, current.expires_at)
    if activate and not current.is_active:
        if current.revoked_reason == LEAKED:
            raise TokenStateConflict("This token was revoked as leaked and can never be re-activated.")
        if principal.type != "user":
            raise Forbidden("Only a user can re-activate a token; an API token cannot.")


def update_token(
    repository: TokenRepository,
    principal: Principal,
    account_sid: str,
    token_sid: str,
    request: UpdateTokenRequest,
    *,
    now: datetime | None = None,
) -> TokenRecord:
    """Deactivating (isActive false) also deactivates every descendant before it returns; the
    same request again resumes a cascade that failed midway."""
    account_sid = ids.require_account_sid(account_sid)
    token_sid = ids.require_token_sid(token_sid)
    timestamp = format_timestamp(now or utcnow())
    record, has_children = repository.update(
        account_sid,
        token_sid,
        name=request.name,
        is_active=request.is_active,
        description=request.description,
        replace_description="description" in request.model_fields_set,
        now=timestamp,
        check=lambda current: _check_update(principal, current, request.is_active),
    )
    if has_children and not request.is_active:
        repository.revoke_descendants(account_sid, token_sid, timestamp)
    return record


def delete_token(repository: TokenRepository, account_sid: str, token_sid: str, *, now: datetime | None = None) -> None:
    repository.delete(
        ids.require_account_sid(account_sid), ids.require_token_sid(token_sid), format_timestamp(now or utcnow())
    )
