"""What a change to a token means, decided from the token as read: pure functions that return a
plan (plain data: the token after, the revokedReason that wins, the audit event with its
recorded changes, whether a slot is given back, which lineage edges move). The store turns each
plan into one transaction, and its conditions make sure the token is still the one the plan was
made from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from apitokens.domain import audit
from apitokens.domain.commands import UpdateToken
from apitokens.domain.errors import Forbidden
from apitokens.domain.records import PARENT_REVOKED, REVOKED, Child, RevokedReason, TokenRecord


def created_event(record: TokenRecord, **more: Any) -> dict[str, Any]:
    """token.created: every field the new token starts with (and `more`, e.g. rolledFrom)."""
    changes = {
        "name": audit.change(None, record.name),
        "description": audit.change(None, record.description),
        "scopes": audit.change(None, list(record.scopes)),
        "expiresAt": audit.change(None, record.expires_at),
        "isActive": audit.change(None, True),
        "parentSid": audit.change(None, record.parent_sid),
        # Recorded when the token has them.
        **({"metadata": audit.change(None, record.metadata)} if record.metadata is not None else {}),
        **({"allowedIps": audit.change(None, list(record.allowed_ips))} if record.allowed_ips is not None else {}),
        **{name: audit.change(None, value) for name, value in more.items()},
    }
    return audit.event_document(audit.CREATED, record.account_sid, record.sid, record.created_at, changes)


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    # The token as the change leaves it.
    record: TokenRecord
    # token.updated, token.deactivated or token.reactivated; None when nothing changes (a PUT
    # that repeats the token as it is records no event).
    event: dict[str, Any] | None


def revoked_reason_after(current: TokenRecord, is_active: bool) -> RevokedReason | None:
    """Re-activating clears the reason; deactivating keeps an earlier one (leaked, or revoked
    with a parent) over "revoked"."""
    if is_active:
        return None
    return current.revoked_reason or REVOKED


# What a token.updated event records, when it changes: (wire name, record attribute).
UPDATED_FIELDS = (
    ("name", "name"),
    ("description", "description"),
    ("isActive", "is_active"),
    ("metadata", "metadata"),
    ("allowedIps", "allowed_ips"),
)


def _updated_record(current: TokenRecord, change: UpdateToken, now: str) -> TokenRecord:
    revoked_at = None
    if not change.is_active:
        revoked_at = current.revoked_at or (now if current.is_active else current.revoked_at)
    return replace(
        current,
        name=change.name,
        is_active=change.is_active,
        description=change.description if change.replace_description else current.description,
        metadata=change.metadata if change.replace_metadata else current.metadata,
        allowed_ips=change.allowed_ips if change.replace_allowed_ips else current.allowed_ips,
        revoked_reason=revoked_reason_after(current, change.is_active),
        revoked_at=revoked_at,
    )


def _plain(value: Any) -> Any:
    """A record's value as an event records it (a tuple as a list)."""
    return list(value) if isinstance(value, tuple) else value


def plan_update(current: TokenRecord, change: UpdateToken, now: str) -> UpdatePlan:
    """The update of name, isActive and (when the command replaces them) description, metadata
    and allowedIps."""
    record = _updated_record(current, change, now)
    changes = {
        field: audit.change(_plain(getattr(current, attribute)), _plain(getattr(record, attribute)))
        for field, attribute in UPDATED_FIELDS
        if getattr(current, attribute) != getattr(record, attribute)
    }
    event_type = audit.UPDATED
    if current.is_active != change.is_active:
        changes["revokedReason"] = audit.change(current.revoked_reason, record.revoked_reason)
        event_type = audit.REACTIVATED if change.is_active else audit.DEACTIVATED
    event = audit.event_document(event_type, current.account_sid, current.sid, now, changes) if changes else None
    return UpdatePlan(record=record, event=event)


def deactivated_event(account_sid: str, token_sid: str, now: str) -> dict[str, Any]:
    """token.deactivated of an active token deactivated by a caller (before its delete)."""
    changes = {"isActive": audit.change(True, False), "revokedReason": audit.change(None, REVOKED)}
    return audit.event_document(audit.DEACTIVATED, account_sid, token_sid, now, changes)


def deleted_event(account_sid: str, token_sid: str, now: str) -> dict[str, Any]:
    return audit.event_document(audit.DELETED, account_sid, token_sid, now)


def cascade_event(account_sid: str, token_sid: str, parent_sid: str, now: str) -> dict[str, Any]:
    """token.revoked_by_cascade: deactivated because an ancestor was."""
    changes = {
        "isActive": audit.change(True, False),
        "revokedReason": audit.change(None, PARENT_REVOKED),
        "revokedWithParent": audit.change(None, parent_sid),
    }
    return audit.event_document(audit.REVOKED_BY_CASCADE, account_sid, token_sid, now, changes)


def leaked_event(
    account_sid: str, token_sid: str, now: str, *, was_active: bool, source: str, url: str
) -> dict[str, Any]:
    """token.leaked: where the token was found; leaked beats any other reason, whatever the
    token's state (a token already revoked as leaked is not written again, so a repeated
    report records nothing)."""
    changes = {
        "isActive": audit.change(was_active, False),
        "leakSource": audit.change(None, source),
        "leakUrl": audit.change(None, url),
    }
    return audit.event_document(audit.LEAKED, account_sid, token_sid, now, changes)


def parent_moved_event(account_sid: str, child_sid: str, from_sid: str, to_sid: str | None, now: str) -> dict[str, Any]:
    """token.updated of a child whose parentSid changes (a roll's move, or the end of grace)."""
    changes = {"parentSid": audit.change(from_sid, to_sid)}
    return audit.event_document(audit.UPDATED, account_sid, child_sid, now, changes)


# A token and each of its ancestors up to its root, each with its parentSid as read (the first
# pair is the token itself): what a change that moves tokens in the lineage checks, and what the
# store requires to be unchanged at the write.
AncestorChain = list[tuple[str, str | None]]


def in_chain(token_sid: str, chain: AncestorChain) -> bool:
    return any(sid == token_sid for sid, _ in chain)


def check_roll_lineage(token_sid: str, roller_chain: AncestorChain) -> None:
    """A roll hangs the new token from the rolling token and moves the old one's children under
    it: rolling one of the roller's ancestors (`roller_chain`: the roller and its ancestors)
    would put the roller below itself, a cycle no revocation reaches."""
    if in_chain(token_sid, roller_chain):
        raise Forbidden("A token cannot roll one of its ancestors.")


def children_to_move(children: Iterable[Child], to_chain: AncestorChain) -> list[Child]:
    """The children of a rolled token that move under its successor: all but the successor and
    its ancestors (`to_chain`), which moving would make a cycle."""
    return [child for child in children if not in_chain(child.sid, to_chain)]


def kept_successor_parent(new_sid: str, grandparent_chain: AncestorChain) -> str | None:
    """The parent a kept successor (one that was its rolled predecessor's child) is given when
    the predecessor's grace ends: the predecessor's parent, whose chain is `grandparent_chain`;
    a root (None) when that parent was deleted (no chain: nothing can cascade from it any
    more) or when the successor is among its ancestors (a cycle)."""
    if not grandparent_chain or in_chain(new_sid, grandparent_chain):
        return None
    return grandparent_chain[0][0]


@dataclass(frozen=True, slots=True)
class RollPlan:
    # The old token's new expiresAt: the end of its grace period, or its own expiry if sooner.
    old_expires: str
    # Whether the old token stops now: the new token takes its slot (no grace); otherwise the
    # new token takes one more slot and the old one's is given back when its grace ends.
    slot_released: bool
    # token.rolled of the old token, token.created (rolledFrom) of the new one.
    events: tuple[dict[str, Any], dict[str, Any]]


def plan_roll(current: TokenRecord, successor: TokenRecord, grace_end: str) -> RollPlan:
    old_expires = grace_end if current.expires_at is None else min(current.expires_at, grace_end)
    rolled_changes = {
        "expiresAt": audit.change(current.expires_at, old_expires),
        "rolledTo": audit.change(None, successor.sid),
    }
    rolled = audit.event_document(audit.ROLLED, current.account_sid, current.sid, successor.created_at, rolled_changes)
    return RollPlan(
        old_expires=old_expires,
        slot_released=old_expires <= successor.created_at,
        events=(rolled, created_event(successor, rolledFrom=current.sid)),
    )


@dataclass(frozen=True, slots=True)
class CascadeStep:
    # Predecessors of pending roll moves: their children are walked, they are not revoked.
    walk: tuple[str, ...]
    # The children to revoke (each once, whatever the page it is seen on).
    revoke: tuple[Child, ...]


def cascade_step(page: Iterable[Child], seen: set[str]) -> CascadeStep:
    """One page of a parent's lineage edges in a cascade; `seen` (revoked, or the root) grows
    by the children it returns to revoke."""
    page = tuple(page)
    fresh = tuple(child for child in page if not child.moving and child.sid not in seen)
    seen.update(child.sid for child in fresh)
    return CascadeStep(walk=tuple(child.sid for child in page if child.moving), revoke=fresh)
