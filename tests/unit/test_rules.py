"""The rules without DynamoDB: the token operations (rules/service.py) on the in-memory ports
(tests/harness/memory.py), and what a change means (domain/changes.py) as plain data. The
transactions and conditions that enforce the same rules under concurrency are the moto tests'
(tests/integration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from apitokens.domain import audit, changes, tokens
from apitokens.domain.commands import CreateToken, RollToken, UpdateToken
from apitokens.domain.errors import Forbidden, InsufficientScope, TokenLimitReached, TokenStateConflict
from apitokens.domain.principal import Principal
from apitokens.domain.records import Child, TokenRecord
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.rules import service
from apitokens.settings import Settings
from tests.harness.memory import MemoryStore

ACCOUNT = "acc_" + "a" * 24
WRITER = ("tokens:read", "tokens:write", "tokens:delete")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
USER = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)


def as_token(record: TokenRecord, scopes: tuple[str, ...] = WRITER) -> Principal:
    return Principal("token", record.sid, frozenset({ACCOUNT}), frozenset(scopes), token_sid=record.sid)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def settings(max_tokens: int = 100) -> Settings:
    return Settings(table_name="tokens", max_tokens_per_account=max_tokens)


def create(
    store: MemoryStore, principal: Principal = USER, scopes: tuple[str, ...] = WRITER, limit: int = 100
) -> service.CreatedToken:
    return service.create_token(store, settings(limit), principal, ACCOUNT, CreateToken("t", scopes), now=NOW)


def update(store: MemoryStore, record: TokenRecord, principal: Principal = USER, **change: object) -> TokenRecord:
    command = UpdateToken(**{"name": record.name, "is_active": record.is_active, **change})  # type: ignore[arg-type]
    return service.update_token(store, principal, ACCOUNT, record.sid, command, now=NOW)


def roll(store: MemoryStore, record: TokenRecord, principal: Principal = USER, grace: int = 0, limit: int = 100):
    return service.roll_token(store, settings(limit), principal, ACCOUNT, record.sid, request=RollToken(grace), now=NOW)


def family(store: MemoryStore) -> dict[str, service.CreatedToken]:
    """root -> child -> grandchild, plus a sibling of the root made by a user."""
    root = create(store)
    child = create(store, as_token(root.record))
    grandchild = create(store, as_token(child.record))
    return {"root": root, "child": child, "grandchild": grandchild, "other": create(store)}


def test_tokens_record_who_created_them(store: MemoryStore) -> None:
    tree = family(store)
    root, child, grandchild = (tree[name].record for name in ("root", "child", "grandchild"))
    assert (root.created_by_type, root.created_by_id, root.parent_sid) == ("user", "user_1", None)
    assert (child.created_by_type, child.created_by_id) == ("token", root.sid)
    assert grandchild.parent_sid == child.sid
    got = store.get(ACCOUNT, grandchild.sid)
    assert (got.parent_sid, got.revoked_reason, got.revoked_at) == (child.sid, None, None)


def test_only_a_user_may_reactivate_and_never_a_leaked_token(store: MemoryStore) -> None:
    tree = family(store)
    update(store, tree["root"].record, is_active=False)
    child = store.get(ACCOUNT, tree["child"].record.sid)
    assert (child.is_active, child.revoked_reason) == (False, "parent_revoked")
    with pytest.raises(Forbidden):
        update(store, child, as_token(tree["other"].record), is_active=True)
    assert store.get(ACCOUNT, child.sid).is_active is False
    back = update(store, child, is_active=True)
    assert (back.is_active, back.revoked_reason, back.revoked_at) == (True, None, None)

    other = tree["other"]
    assert store.revoke_leaked(tokens.digest(other.secret), "2030-01-01T00:00:00.000Z", "commit", "u")
    with pytest.raises(TokenStateConflict):
        update(store, store.get(ACCOUNT, other.record.sid), is_active=True)
    assert store.get(ACCOUNT, other.record.sid).revoked_reason == "leaked"
    # The same report again writes nothing: one token.leaked.
    assert store.revoke_leaked(tokens.digest(other.secret), "2030-01-02T00:00:00.000Z", "commit", "u")
    assert store.event_types(other.record.sid).count(audit.LEAKED) == 1


def test_deactivating_keeps_an_earlier_reason_and_records_the_event_types(store: MemoryStore) -> None:
    tree = family(store)
    update(store, tree["root"].record, is_active=False)
    child = store.get(ACCOUNT, tree["child"].record.sid)
    # Already inactive with parent_revoked: renaming it keeps the reason, and is token.updated.
    renamed = update(store, child, name="renamed")
    assert (renamed.revoked_reason, renamed.revoked_at) == ("parent_revoked", child.revoked_at)
    update(store, renamed, is_active=True)
    update(store, store.get(ACCOUNT, child.sid), is_active=False)
    # The same PUT again changes nothing: no event.
    update(store, store.get(ACCOUNT, child.sid), is_active=False)
    assert store.event_types(child.sid) == [
        audit.CREATED,
        audit.REVOKED_BY_CASCADE,
        audit.UPDATED,
        audit.REACTIVATED,
        audit.DEACTIVATED,
    ]


def test_roll_never_escalates_and_refuses_inactive_tokens(store: MemoryStore) -> None:
    broad = create(store, scopes=("tokens:write", "buckets:write")).record
    narrow = create(store, scopes=("tokens:write",)).record
    with pytest.raises(InsufficientScope):
        roll(store, broad, as_token(narrow, ("tokens:write",)))
    assert store.tokens[ACCOUNT, broad.sid].rolled_to is None
    assert store.get(ACCOUNT, broad.sid).is_active
    # A token may roll itself: its successor is its child.
    itself = roll(store, narrow, as_token(narrow, ("tokens:write",)))
    assert itself.record.parent_sid == narrow.sid
    update(store, broad, is_active=False)
    with pytest.raises(TokenStateConflict):
        roll(store, store.get(ACCOUNT, broad.sid))


def test_rolling_counts_against_the_limit_only_while_both_tokens_live(store: MemoryStore) -> None:
    first = create(store, limit=2).record
    create(store, limit=2)
    with pytest.raises(TokenLimitReached):
        roll(store, first, grace=3600, limit=2)  # both would live: 3 > 2
    roll(store, first, limit=2)  # no grace: the new token takes the old one's slot
    with pytest.raises(TokenLimitReached):
        create(store, limit=2)
    service.delete_token(store, ACCOUNT, first.sid, principal=USER, now=NOW)  # no slot freed twice
    with pytest.raises(TokenLimitReached):
        create(store, limit=2)


def test_a_rolled_tokens_slot_comes_back_when_its_grace_ends(store: MemoryStore) -> None:
    first = create(store, limit=2).record
    rolled = roll(store, first, grace=60, limit=2)
    with pytest.raises(TokenLimitReached):
        create(store, limit=2)
    later = service.create_token(
        store, settings(2), USER, ACCOUNT, CreateToken("t", WRITER), now=NOW + timedelta(minutes=2)
    )
    assert later.record.sid != rolled.record.sid
    assert store.counts[ACCOUNT] == 2


def test_plan_update_decides_reason_event_and_changes() -> None:
    active = TokenRecord("tok_a", ACCOUNT, "n", "d", WRITER, None, True, "2030-01-01T00:00:00.000Z")
    off = changes.plan_update(active, UpdateToken("n", False), "2030-01-02T00:00:00.000Z")
    assert (off.record.revoked_reason, off.record.revoked_at) == ("revoked", "2030-01-02T00:00:00.000Z")
    assert off.event is not None
    assert off.event["type"] == audit.DEACTIVATED
    assert off.event["changes"] == {
        "isActive": {"from": True, "to": False},
        "revokedReason": {"from": None, "to": "revoked"},
    }
    leaked = replace(off.record, revoked_reason="leaked")
    kept = changes.plan_update(leaked, UpdateToken("m", False, "new", replace_description=True), "later")
    assert (kept.record.revoked_reason, kept.record.description) == ("leaked", "new")
    assert kept.event is not None
    assert kept.event["type"] == audit.UPDATED
    assert set(kept.event["changes"]) == {"name", "description"}
    assert changes.plan_update(active, UpdateToken("n", True), "later").event is None


def test_plan_roll_ends_grace_at_the_earlier_expiry_and_gives_the_slot_back_without_grace() -> None:
    old = TokenRecord("tok_a", ACCOUNT, "n", None, WRITER, "2030-01-01T00:05:00.000Z", True, "2029-01-01T00:00:00.000Z")
    new = TokenRecord("tok_b", ACCOUNT, "n", None, WRITER, old.expires_at, True, "2030-01-01T00:00:00.000Z")
    graced = changes.plan_roll(old, new, "2030-01-01T01:00:00.000Z")
    assert (graced.old_expires, graced.slot_released) == (old.expires_at, False)
    assert [event["type"] for event in graced.events] == [audit.ROLLED, audit.CREATED]
    assert graced.events[1]["changes"]["rolledFrom"] == {"from": None, "to": "tok_a"}
    stopped = changes.plan_roll(old, new, new.created_at)
    assert (stopped.old_expires, stopped.slot_released) == (new.created_at, True)


def test_cascade_step_walks_pending_moves_and_revokes_each_child_once() -> None:
    seen = {"tok_root"}
    page = [Child("tok_a", "d"), Child("tok_old", "d", moving=True), Child("tok_root", "d")]
    step = changes.cascade_step(page, seen)
    assert step.walk == ("tok_old",)
    assert [child.sid for child in step.revoke] == ["tok_a"]
    assert changes.cascade_step([Child("tok_a", "d")], seen).revoke == ()


def test_a_token_never_rolls_one_of_its_ancestors(store: MemoryStore) -> None:
    tree = family(store)
    root, child, grandchild = (tree[name].record for name in ("root", "child", "grandchild"))
    for roller in (child, grandchild):
        with pytest.raises(Forbidden):
            roll(store, root, as_token(roller))
    with pytest.raises(Forbidden):
        roll(store, child, as_token(grandchild))
    assert store.get(ACCOUNT, root.sid).rolled_to is None
    assert store.get(ACCOUNT, child.sid).rolled_to is None
    # Rolling a descendant, or a token of another branch, is allowed.
    rolled = roll(store, grandchild, as_token(root))
    assert rolled.record.parent_sid == root.sid
    assert store.get(ACCOUNT, grandchild.sid).rolled_to == rolled.record.sid


def test_ancestor_chain_rules_as_plain_data() -> None:
    chain = [("tok_b", "tok_a"), ("tok_a", None)]
    with pytest.raises(Forbidden):
        changes.check_roll_lineage("tok_a", chain)
    changes.check_roll_lineage("tok_c", chain)
    children = [Child("tok_a", "d"), Child("tok_b", "d"), Child("tok_c", "d")]
    assert [child.sid for child in changes.children_to_move(children, chain)] == ["tok_c"]
    assert changes.kept_successor_parent("tok_c", chain) == "tok_b"
    assert changes.kept_successor_parent("tok_a", chain) is None  # it is an ancestor: a cycle
    assert changes.kept_successor_parent("tok_c", []) is None  # the parent was deleted


def test_a_rolled_token_creates_no_more_children(store: MemoryStore) -> None:
    root = create(store).record
    successor = roll(store, root, grace=3600)
    assert store.get(ACCOUNT, root.sid).rolled_to == successor.record.sid
    with pytest.raises(Forbidden):
        create(store, as_token(root))
    assert store.counts[ACCOUNT] == 2
    assert create(store, as_token(successor.record)).record.parent_sid == successor.record.sid


def test_a_creator_must_outlive_its_child(store: MemoryStore) -> None:
    expiring = service.create_token(
        store, settings(), USER, ACCOUNT, CreateToken("t", WRITER, expires_at=NOW + timedelta(days=1)), now=NOW
    ).record
    child = TokenRecord("tok_" + "c" * 24, ACCOUNT, "c", None, WRITER, None, True, "2030-01-01T00:00:00.000Z")
    with pytest.raises(Forbidden):
        store.create(replace(child, parent_sid=expiring.sid), "digest", 100)
    assert (ACCOUNT, child.sid) not in store.tokens


def _self_rolled(store: MemoryStore) -> tuple[TokenRecord, TokenRecord]:
    parent = create(store).record
    old = create(store, as_token(parent)).record
    new = roll(store, old, as_token(old), grace=3600).record
    assert new.parent_sid == old.sid
    return old, new


def test_a_users_delete_of_a_self_rolled_token_revokes_its_successor_unless_kept(store: MemoryStore) -> None:
    old, new = _self_rolled(store)
    service.delete_token(store, ACCOUNT, old.sid, principal=USER, now=NOW)
    gone = store.get(ACCOUNT, new.sid)
    assert (gone.is_active, gone.revoked_reason) == (False, "parent_revoked")

    old, new = _self_rolled(store)
    parent_sid = old.parent_sid
    service.delete_token(store, ACCOUNT, old.sid, principal=USER, keep_successor=True, now=NOW)
    kept = store.get(ACCOUNT, new.sid)
    assert (kept.is_active, kept.parent_sid) == (True, parent_sid)
    assert store.event_types(new.sid)[-1] == audit.UPDATED


def test_only_a_user_keeps_a_successor_and_a_deactivation_keeps_it_too(store: MemoryStore) -> None:
    old, new = _self_rolled(store)
    with pytest.raises(Forbidden):
        service.delete_token(store, ACCOUNT, old.sid, principal=as_token(new), keep_successor=True, now=NOW)
    with pytest.raises(Forbidden):
        update(store, old, as_token(new), is_active=False, keep_successor=True)
    update(store, old, is_active=False, keep_successor=True)
    assert store.get(ACCOUNT, new.sid).is_active


def test_a_delete_is_bounded_like_a_deactivation(store: MemoryStore) -> None:
    broad = create(store, scopes=("tokens:delete", "buckets:write")).record
    narrow = create(store, scopes=("tokens:delete",)).record
    with pytest.raises(InsufficientScope):
        service.delete_token(store, ACCOUNT, broad.sid, principal=as_token(narrow, ("tokens:delete",)), now=NOW)
    assert store.get(ACCOUNT, broad.sid).is_active
