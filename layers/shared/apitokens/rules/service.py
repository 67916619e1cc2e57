"""The token operations: the rules between the HTTP layer and the store's ports.

Every function takes the calling principal, raw path values and a command (domain/commands.py),
validates them, and either returns a record or raises a DomainError; none knows about HTTP or
DynamoDB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from apitokens.domain import ids, networks, tokens
from apitokens.domain.commands import CreateToken, ListAuditEvents, ListTokens, RollToken, UpdateToken
from apitokens.domain.errors import (
    DomainError,
    FieldError,
    Forbidden,
    InsufficientScope,
    InvalidRequest,
    TokenLimitReached,
    TokenStateConflict,
)
from apitokens.domain.principal import Principal
from apitokens.domain.records import LEAKED, EventPage, TokenPage, TokenRecord, Usage
from apitokens.domain.timeutil import format_timestamp, utcnow
from apitokens.settings import Settings

if TYPE_CHECKING:
    from apitokens.rules.ports import EventStore, TokenStore

logger = Logger()


@dataclass(frozen=True, slots=True)
class CreatedToken:
    record: TokenRecord
    # The plaintext value: returned to the caller once and never stored or logged.
    secret: str


def _check_no_escalation(
    principal: Principal, scopes: Iterable[str], expires_at: str | None, allowed_ips: Iterable[str] | None = None
) -> None:
    """A credential may only grant what it holds: a subset of its scopes, for no longer than it
    lives, from no network it is not allowed itself (`allowed_ips` None: anywhere). That goes for
    creating a token and for changing one (re-activating a deactivated token grants it again)."""
    extra = sorted(set(scopes) - principal.scopes)
    if extra:
        raise InsufficientScope(f"These credentials cannot grant scopes they do not hold: {', '.join(extra)}.")
    if principal.expires_at is not None and (expires_at is None or expires_at > principal.expires_at):
        raise InsufficientScope(
            f"A token that expires at {principal.expires_at} can only create tokens that expire no later."
        )
    _check_networks(principal, allowed_ips)


def _check_networks(principal: Principal, allowed_ips: Iterable[str] | None) -> None:
    if principal.type != "token" or principal.allowed_ips is None:
        return
    if allowed_ips is None or not networks.is_subset(allowed_ips, principal.allowed_ips):
        raise InsufficientScope(
            "These credentials cannot grant networks they are not allowed themselves: allowedIps must lie "
            f"within {', '.join(principal.allowed_ips)}."
        )


def _narrows(allowed_ips: tuple[str, ...] | None, current: TokenRecord) -> bool:
    return allowed_ips is not None and networks.is_subset(allowed_ips, current.allowed_ips)


def networks_of_new_token(principal: Principal, requested: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """allowedIps of a token this principal creates: the requested networks, or the creating
    token's own when none are named (a child of a restricted token is restricted too)."""
    if requested is None and principal.type == "token":
        return principal.allowed_ips
    return requested


def create_token(
    repository: TokenStore,
    settings: Settings,
    principal: Principal,
    account_sid: str,
    request: CreateToken,
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
    allowed_ips = networks_of_new_token(principal, request.allowed_ips)
    _check_no_escalation(principal, request.scopes, expires_at, allowed_ips)
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
        redacted_token=tokens.redact(secret, settings.token_prefix),
        metadata=request.metadata,
        allowed_ips=allowed_ips,
        **lineage(principal),
    )
    try:
        repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
    except TokenLimitReached:
        # Rolled tokens whose grace period has ended give their slots back, lazily, here.
        if repository.release_rolled_slots(account_sid, record.created_at) == 0:
            raise
        repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
    return CreatedToken(record=record, secret=secret)


def lineage(principal: Principal) -> dict[str, Any]:
    """createdBy and parentSid of a token this principal creates: a token made by an API token is
    that token's child, so revoking the creator reaches it."""
    if principal.type == "token":
        return {"created_by_type": "token", "created_by_id": principal.token_sid, "parent_sid": principal.token_sid}
    return {"created_by_type": "user", "created_by_id": principal.id, "parent_sid": None}


def list_tokens(repository: TokenStore, account_sid: str, query: ListTokens) -> TokenPage:
    ids.require_account_sid(account_sid)
    if query.starting_after is not None:
        ids.require_token_sid(query.starting_after, "startingAfter")
    return repository.list_page(account_sid, query.limit, query.starting_after)


def get_token(repository: TokenStore, account_sid: str, token_sid: str) -> TokenRecord:
    return repository.get(ids.require_account_sid(account_sid), ids.require_token_sid(token_sid))


def _check_keep_successor(principal: Principal, keep_successor: bool) -> None:
    """Only a user may keep the successor of a token that rolled itself: a token's revocation
    of a rolled token always reaches it (containment)."""
    if keep_successor and principal.type != "user":
        raise Forbidden("Only a user can keep a rolled token's successor; an API token cannot.")


def _check_update(principal: Principal, current: TokenRecord, change: UpdateToken) -> None:
    """Checked on the token as read, before the write; its scopes and expiry never change. A token
    may narrow a token's networks, never widen them (a user may)."""
    _check_no_escalation(principal, current.scopes, current.expires_at, current.allowed_ips)
    if change.replace_allowed_ips and principal.type == "token" and not _narrows(change.allowed_ips, current):
        raise InsufficientScope("A token can narrow a token's allowedIps, never widen them; a user can.")
    activate = change.is_active
    if activate and not current.is_active:
        if current.revoked_reason == LEAKED:
            raise TokenStateConflict("This token was revoked as leaked and can never be re-activated.")
        if principal.type != "user":
            raise Forbidden("Only a user can re-activate a token; an API token cannot.")


def update_token(
    repository: TokenStore,
    principal: Principal,
    account_sid: str,
    token_sid: str,
    request: UpdateToken,
    *,
    now: datetime | None = None,
) -> TokenRecord:
    """Deactivating (isActive false) also deactivates every descendant before it returns; the
    same request again resumes a cascade that failed midway. A user's deactivation of a rolled
    token ends its grace as a user's delete does (delete_token)."""
    account_sid = ids.require_account_sid(account_sid)
    token_sid = ids.require_token_sid(token_sid)
    _check_keep_successor(principal, request.keep_successor)
    timestamp = format_timestamp(now or utcnow())
    record, has_children = repository.update(
        account_sid,
        token_sid,
        request,
        now=timestamp,
        check=lambda current: _check_update(principal, current, request),
        end_grace=principal.type == "user",
        keep_successor=request.keep_successor,
    )
    if has_children and not request.is_active:
        repository.revoke_descendants(account_sid, token_sid, timestamp)
    return record


def delete_token(
    repository: TokenStore,
    account_sid: str,
    token_sid: str,
    *,
    principal: Principal | None = None,
    keep_successor: bool = False,
    now: datetime | None = None,
) -> None:
    """Deleting a token revokes its descendants with it; a principal may delete only what it may
    deactivate (no broader scopes, no later expiry, no wider networks). A user deleting a rolled token ends its
    grace: its children finish moving to its successor and live on. A successor the token made
    by rolling itself is its child and is revoked with it (containment: whoever holds a leaked
    token could have rolled it), unless the user says `keep_successor`: it then lives on, under
    the old token's parent. An API token's delete, like a leak report, always reaches it."""
    account_sid = ids.require_account_sid(account_sid)
    token_sid = ids.require_token_sid(token_sid)
    check = None
    if principal is not None:
        _check_keep_successor(principal, keep_successor)

        def check(current: TokenRecord) -> None:
            _check_no_escalation(principal, current.scopes, current.expires_at, current.allowed_ips)

    repository.delete(
        account_sid,
        token_sid,
        format_timestamp(now or utcnow()),
        end_grace=principal is not None and principal.type == "user",
        keep_successor=keep_successor,
        check=check,
    )


@dataclass(frozen=True, slots=True)
class RolledToken:
    record: TokenRecord
    secret: str
    rolled_from: str


def roll_token(
    repository: TokenStore,
    settings: Settings,
    principal: Principal,
    account_sid: str,
    token_sid: str,
    *,
    request: RollToken,
    now: datetime | None = None,
) -> RolledToken:
    """A new token with the old one's name, description, scopes, expiresAt and metadata; the old one keeps
    working until now + gracePeriodSeconds (or its own expiry, if sooner), and its children move
    to the new one. A token may roll itself (its successor is then its child) or, within its own
    grants, another token; an inactive, expired or already rolled token cannot be rolled."""
    account_sid = ids.require_account_sid(account_sid)
    token_sid = ids.require_token_sid(token_sid)
    now = now or utcnow()
    created_at = format_timestamp(now)
    secret = tokens.generate(settings.token_prefix)
    new_sid = ids.new_token_sid()

    def successor(current: TokenRecord) -> TokenRecord:
        if not current.is_active or (current.expires_at is not None and current.expires_at <= created_at):
            raise TokenStateConflict("Only an active, unexpired token can be rolled.")
        _check_no_escalation(principal, current.scopes, current.expires_at, current.allowed_ips)
        return TokenRecord(
            sid=new_sid,
            account_sid=account_sid,
            name=current.name,
            description=current.description,
            scopes=current.scopes,
            expires_at=current.expires_at,
            is_active=True,
            created_at=created_at,
            redacted_token=tokens.redact(secret, settings.token_prefix),
            metadata=current.metadata,
            allowed_ips=current.allowed_ips,
            **lineage(principal),
        )

    def roll() -> TokenRecord:
        _, record = repository.roll(
            account_sid,
            token_sid,
            successor,
            tokens.digest(secret),
            grace_end=format_timestamp(now + timedelta(seconds=request.grace_period_seconds)),
            max_tokens=settings.max_tokens_per_account,
            now=created_at,
        )
        return record

    try:
        record = roll()
    except TokenLimitReached:
        if repository.release_rolled_slots(account_sid, created_at) == 0:
            raise
        record = roll()
    try:
        repository.move_children(account_sid, token_sid, record.sid, created_at)
    except DomainError as error:
        # The new token exists and its secret is in hand: answering an error now would lose it.
        # Nothing escapes meanwhile: the roll's transaction gave the new token a movingFrom edge
        # to the old one, so revoking the new token reaches the children not moved yet (and
        # revoking the old one too). A retry with the same Idempotency-Key, a repeated roll of
        # the old token, or a user's delete of it finishes the move.
        logger.warning("children not all moved to the rolled token", extra={"reason": error.code, "sid": record.sid})
    return RolledToken(record=record, secret=secret, rolled_from=token_sid)


def list_audit_events(repository: EventStore, account_sid: str, query: ListAuditEvents) -> EventPage:
    return repository.list_events(
        ids.require_account_sid(account_sid),
        query.limit,
        starting_after=query.starting_after,
        token_sid=query.api_token_sid,
        event_type=query.type,
    )


def token_usage(repository: TokenStore, account_sid: str, token_sid: str) -> Usage:
    return repository.usage(ids.require_account_sid(account_sid), ids.require_token_sid(token_sid))
