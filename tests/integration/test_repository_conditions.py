"""The repository's conditions on moto, called directly: the per-account limit, exact
under any order; revocation (deactivation, leaks, the cascade to descendants); and no
resurrection (a write never recreates a deleted token, nor changes a token re-created under the
same sid). Races are made deterministic with `check`, which runs between the read and the write.
These are the fast tests of `make mutation MUTATION_ARGS=conditions`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from apitokens.domain.commands import UpdateToken
from apitokens.domain.errors import (
    ConcurrentModification,
    Forbidden,
    TokenLimitReached,
    TokenNotFound,
    TokenStateConflict,
)
from apitokens.domain.records import TokenRecord
from apitokens.domain.tokens import digest
from apitokens.settings import get_settings
from apitokens.store import keys, lineage
from apitokens.store.repository import TokenRepository
from tests.harness import ACCOUNT, scan_table

NOW = "2026-12-02T01:00:00.000Z"
LATER = "2026-12-02T02:00:00.000Z"
_serial = itertools.count(1)


@pytest.fixture
def repository(dynamodb: Any) -> TokenRepository:
    get_settings.cache_clear()
    return TokenRepository(dynamodb, get_settings().table_name)


def new_record(parent_sid: str | None = None, expires_at: str | None = None) -> TokenRecord:
    serial = next(_serial)
    return TokenRecord(
        sid=f"tok_{serial:024d}",
        account_sid=ACCOUNT,
        name=f"token {serial}",
        description=None,
        scopes=("tokens:read",),
        expires_at=expires_at,
        is_active=True,
        created_at=NOW,
        created_by_type="user" if parent_sid is None else "token",
        created_by_id="user-1" if parent_sid is None else parent_sid,
        parent_sid=parent_sid,
    )


def successor(current: TokenRecord) -> TokenRecord:
    """A roll's new token, whatever the old one (no domain check: the conditions decide)."""
    return new_record()


def create(repository: TokenRepository, parent_sid: str | None = None, max_tokens: int = 100) -> TokenRecord:
    record = new_record(parent_sid)
    repository.create(record, secret_of(record), max_tokens)
    return record


def secret_of(record: TokenRecord) -> str:
    return digest(f"secret of {record.sid}")


def token_count(dynamodb: Any) -> int:
    item = dynamodb.get_item(TableName=get_settings().table_name, Key=keys.account_meta_key(ACCOUNT))["Item"]
    return int(item["tokenCount"]["N"])


def deactivate(
    repository: TokenRepository, record: TokenRecord, now: str = NOW, **more: Any
) -> tuple[TokenRecord, bool]:
    return repository.update(
        ACCOUNT,
        record.sid,
        UpdateToken(record.name, is_active=False),
        now=now,
        **more,
    )


def activate(
    repository: TokenRepository, record: TokenRecord, check: Callable[[TokenRecord], None] | None = None
) -> TokenRecord:
    updated, _ = repository.update(
        ACCOUNT,
        record.sid,
        UpdateToken(record.name, is_active=True),
        now=LATER,
        check=check,
    )
    return updated


def is_active(repository: TokenRepository, record: TokenRecord) -> tuple[bool, bool]:
    """(the token item's isActive, the lookup item's, which the authorizer reads)."""
    credential = repository.find_credential(secret_of(record))
    assert credential is not None
    return repository.get(ACCOUNT, record.sid).is_active, credential.is_active


# -- the per-account limit ------------------------------------------------------------------


def test_the_limit_is_exact_a_refused_create_writes_nothing_and_delete_frees_a_slot(
    repository: TokenRepository, dynamodb: Any
) -> None:
    held = [create(repository, max_tokens=3) for _ in range(3)]
    assert token_count(dynamodb) == 3
    before = scan_table(dynamodb)
    # The whole message: the API answers with it (409 token_limit_reached).
    whole = r"^This account already has 3 API tokens, the most it may hold; delete one before creating another\.$"
    with pytest.raises(TokenLimitReached, match=whole):
        create(repository, max_tokens=3)
    assert scan_table(dynamodb) == before
    repository.delete(ACCOUNT, held[0].sid, NOW)
    assert token_count(dynamodb) == 2
    create(repository, max_tokens=3)
    assert token_count(dynamodb) == 3
    # A larger limit (another deployment's setting) is read per call, not remembered.
    create(repository, max_tokens=4)
    assert token_count(dynamodb) == 4


def test_a_roll_with_grace_takes_a_slot_until_released_and_one_without_takes_none(
    repository: TokenRepository, dynamodb: Any
) -> None:
    old = create(repository, max_tokens=2)
    grace_end = "2026-12-02T01:30:00.000Z"

    _, new = repository.roll(ACCOUNT, old.sid, successor, digest("rolled"), grace_end=grace_end, max_tokens=2, now=NOW)
    assert token_count(dynamodb) == 2
    with pytest.raises(TokenLimitReached):
        create(repository, max_tokens=2)
    with pytest.raises(TokenLimitReached):  # the grace period's extra slot is limit-checked too
        repository.roll(ACCOUNT, new.sid, successor, digest("again"), grace_end=grace_end, max_tokens=2, now=NOW)
    assert repository.release_rolled_slots(ACCOUNT, NOW) == 0  # not yet ended
    assert repository.release_rolled_slots(ACCOUNT, LATER) == 1
    assert repository.release_rolled_slots(ACCOUNT, LATER) == 0  # once
    assert token_count(dynamodb) == 1
    repository.delete(ACCOUNT, old.sid, LATER)  # its slot was given back already
    assert token_count(dynamodb) == 1
    # No grace: the new token takes the old one's slot at once, even at the limit.
    full = create(repository, max_tokens=2)
    repository.roll(ACCOUNT, full.sid, successor, digest("now"), grace_end=NOW, max_tokens=2, now=NOW)
    assert token_count(dynamodb) == 2


class ActionAfterCall:
    """The table's client, but `action` runs right after each call of `method` answers (only
    after the first with `once`): a concurrent request, made deterministic."""

    def __init__(self, client: Any, method: str, action: Callable[[], object], *, once: bool = False) -> None:
        self._client, self._method, self._action, self._once = client, method, action, once
        self._done = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != self._method:
            return attribute

        def call(**request: Any) -> Any:
            response = attribute(**request)
            if not (self._once and self._done):
                self._done = True
                self._action()
            return response

        return call


def test_every_slot_whose_grace_ended_is_released_and_counted(repository: TokenRepository, dynamodb: Any) -> None:
    grace_end = "2026-12-02T01:30:00.000Z"
    for name in ("first", "second"):
        old = create(repository)
        repository.roll(ACCOUNT, old.sid, successor, digest(name), grace_end=grace_end, max_tokens=100, now=NOW)
    assert token_count(dynamodb) == 4
    assert repository.release_rolled_slots(ACCOUNT, LATER) == 2
    assert token_count(dynamodb) == 2


def test_a_slot_given_back_meanwhile_does_not_stop_the_release_of_the_next(
    repository: TokenRepository, dynamodb: Any
) -> None:
    """The first due token is deleted between the release's read and its write (its delete gives
    the slot back): that transaction fails, and the next slot is still released."""
    grace_end = "2026-12-02T01:30:00.000Z"
    first, second = create(repository), create(repository)
    for old, name in ((first, "a"), (second, "b")):
        repository.roll(ACCOUNT, old.sid, successor, digest(name), grace_end=grace_end, max_tokens=100, now=NOW)
    assert token_count(dynamodb) == 4
    racing = TokenRepository(
        ActionAfterCall(dynamodb, "query", lambda: repository.delete(ACCOUNT, first.sid, LATER)),  # type: ignore[arg-type]
        get_settings().table_name,
    )
    assert racing.release_rolled_slots(ACCOUNT, LATER) == 1
    assert token_count(dynamodb) == 2  # the delete took first's token and slot, the release second's extra slot
    assert repository.release_rolled_slots(ACCOUNT, LATER) == 0


def test_deleting_a_token_in_its_grace_period_gives_its_slot_back_once(
    repository: TokenRepository, dynamodb: Any
) -> None:
    """The delete takes the roll's pending slot release with it, so the release after the grace
    period finds nothing to give back a second time."""
    old = create(repository, max_tokens=3)
    repository.roll(
        ACCOUNT, old.sid, successor, digest("rolled"), grace_end="2026-12-02T01:30:00.000Z", max_tokens=3, now=NOW
    )
    assert token_count(dynamodb) == 2
    repository.delete(ACCOUNT, old.sid, NOW)
    assert token_count(dynamodb) == 1
    assert [item for item in scan_table(dynamodb) if item["SK"]["S"].startswith("ROLLED#")] == []
    assert repository.release_rolled_slots(ACCOUNT, LATER) == 0
    assert token_count(dynamodb) == 1


# -- revocation -------------------------------------------------------------------------------


def test_deactivation_reaches_the_lookup_item_and_keeps_the_first_reason_and_time(repository: TokenRepository) -> None:
    token = create(repository)
    revoked, has_children = deactivate(repository, token)
    assert (revoked.revoked_reason, revoked.revoked_at, has_children) == ("revoked", NOW, False)
    assert is_active(repository, token) == (False, False)
    deactivate(repository, token, now=LATER)
    stored = repository.get(ACCOUNT, token.sid)
    assert (stored.revoked_reason, stored.revoked_at) == ("revoked", NOW)
    reactivated = activate(repository, token)
    assert (reactivated.revoked_reason, reactivated.revoked_at) == (None, None)
    stored = repository.get(ACCOUNT, token.sid)
    assert (stored.is_active, stored.revoked_reason, stored.revoked_at) == (True, None, None)
    assert is_active(repository, token) == (True, True)


def test_a_leaked_token_is_never_reactivated_even_past_the_domain_check(repository: TokenRepository) -> None:
    token = create(repository)
    deactivate(repository, token)
    assert repository.revoke_leaked(secret_of(token), LATER, "github", "https://github.com/o/r") is not None
    stored = repository.get(ACCOUNT, token.sid)
    assert (stored.revoked_reason, stored.revoked_at) == ("leaked", NOW)  # leaked beats revoked; first time kept
    with pytest.raises(ConcurrentModification):
        activate(repository, token)  # the condition refuses what the service's check would
    assert is_active(repository, token) == (False, False)
    assert repository.get(ACCOUNT, token.sid).revoked_reason == "leaked"
    assert repository.revoke_leaked(digest("no such token"), LATER, "github", "") is None


class ActionBeforeTransaction:
    """The table's client, but `action` runs once, right before its first TransactWriteItems."""

    def __init__(self, client: Any, action: Callable[[], object]) -> None:
        self._client, self._action, self._done = client, action, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        if not self._done:
            self._done = True
            self._action()
        return self._client.transact_write_items(**request)


def leak_events(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in scan_table(dynamodb) if item.get("eventType", {}).get("S") == "token.leaked"]


def test_a_token_already_leaked_is_not_written_again_even_when_read_before(
    repository: TokenRepository, dynamodb: Any
) -> None:
    """A first report revokes the token right before a second one's write, after everything the
    second read: the second's write finds the token leaked (its condition) and writes nothing,
    neither the token nor a second event."""
    token = create(repository)
    child = create(repository, parent_sid=token.sid)
    first = lambda: repository.revoke_leaked(secret_of(token), NOW, "content", "https://first")  # noqa: E731
    racing = TokenRepository(ActionBeforeTransaction(dynamodb, first), get_settings().table_name)  # type: ignore[arg-type]
    assert racing.revoke_leaked(secret_of(token), LATER, "commit", "https://second") is not None
    [event] = leak_events(dynamodb)
    assert event["event"]["M"]["apiTokenSid"]["S"] == token.sid
    stored = repository.get(ACCOUNT, token.sid)
    assert (stored.revoked_reason, stored.revoked_at) == ("leaked", NOW)
    item = dynamodb.get_item(TableName=get_settings().table_name, Key=keys.token_key(ACCOUNT, token.sid))["Item"]
    assert (item["leakSource"]["S"], item["leakUrl"]["S"]) == ("content", "https://first")
    assert repository.get(ACCOUNT, child.sid).revoked_reason == "parent_revoked"
    # Reported again later: still nothing written.
    before = scan_table(dynamodb)
    assert repository.revoke_leaked(secret_of(token), LATER, "commit", "https://third") is not None
    assert scan_table(dynamodb) == before


def test_a_child_created_after_the_read_fails_the_deactivation_and_the_retry_cascades(
    repository: TokenRepository,
) -> None:
    parent = create(repository)
    late_children: list[TokenRecord] = []

    def child_appears(current: TokenRecord) -> None:
        if not late_children:
            late_children.append(create(repository, parent_sid=parent.sid))

    with pytest.raises(ConcurrentModification):
        deactivate(repository, parent, check=child_appears)
    assert is_active(repository, parent) == (True, True)
    _, has_children = deactivate(repository, parent)
    assert has_children
    assert repository.revoke_descendants(ACCOUNT, parent.sid, NOW) == 1
    assert is_active(repository, late_children[0]) == (False, False)


def test_an_inactive_token_creates_no_child(repository: TokenRepository, dynamodb: Any) -> None:
    parent = create(repository)
    deactivate(repository, parent)
    count = token_count(dynamodb)
    with pytest.raises(Forbidden):
        create(repository, parent_sid=parent.sid)
    assert token_count(dynamodb) == count
    assert list(repository.children(ACCOUNT, parent.sid)) == [[]]


def test_the_cascade_reaches_every_descendant_across_batches_and_keeps_earlier_reasons(
    repository: TokenRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two children a transaction: each is its token item, its lookup copies and its audit event.
    per_child = 1 + repository.lookup_copies + lineage.AUDIT_ITEMS_PER_CHANGE
    monkeypatch.setattr(lineage, "TRANSACTION_ITEMS", 2 * per_child)
    root = create(repository)
    children = [create(repository, parent_sid=root.sid) for _ in range(5)]
    grandchildren = [create(repository, parent_sid=child.sid) for child in children[:3]]
    deactivate(repository, children[1])  # revoked on its own before: keeps its reason
    deactivate(repository, root)
    written = repository.revoke_descendants(ACCOUNT, root.sid, LATER)
    assert written == len(children) + len(grandchildren) - 1
    for token in [*children, *grandchildren]:
        stored = repository.get(ACCOUNT, token.sid)
        assert is_active(repository, token) == (False, False)
        expected = ("revoked", NOW) if token is children[1] else ("parent_revoked", LATER)
        assert (stored.revoked_reason, stored.revoked_at) == expected
    assert repository.revoke_descendants(ACCOUNT, root.sid, LATER) == 0  # idempotent


def test_a_descendant_deactivated_during_the_cascade_is_left_as_it_is(
    repository: TokenRepository, dynamodb: Any
) -> None:
    """The cascade's write requires the child still active, as its batch read found it."""
    root = create(repository)
    child = create(repository, parent_sid=root.sid)
    deactivate(repository, root)
    racing = TokenRepository(
        ActionAfterCall(dynamodb, "batch_get_item", lambda: deactivate(repository, child, now=LATER)),  # type: ignore[arg-type]
        get_settings().table_name,
    )
    with pytest.raises(ConcurrentModification):
        racing.revoke_descendants(ACCOUNT, root.sid, NOW)
    stored = repository.get(ACCOUNT, child.sid)
    assert (stored.revoked_reason, stored.revoked_at) == ("revoked", LATER)


# -- no resurrection --------------------------------------------------------------------------


def test_no_write_recreates_a_deleted_token(repository: TokenRepository, dynamodb: Any) -> None:
    token = create(repository)
    credential = repository.find_credential(secret_of(token))
    assert credential is not None
    repository.delete(ACCOUNT, token.sid, NOW)
    after_delete = scan_table(dynamodb)
    with pytest.raises(TokenNotFound):
        deactivate(repository, token)
    with pytest.raises(ConcurrentModification):
        repository.touch_last_used(credential, secret_of(token), LATER, LATER)
    assert repository.revoke_leaked(secret_of(token), LATER, "github", "") is None
    with pytest.raises(TokenNotFound):
        repository.roll(ACCOUNT, token.sid, successor, digest("x"), grace_end=LATER, max_tokens=100, now=NOW)
    with pytest.raises(TokenNotFound):
        repository.delete(ACCOUNT, token.sid, LATER)
    assert scan_table(dynamodb) == after_delete
    assert repository.find_credential(secret_of(token)) is None


def test_a_token_deleted_between_read_and_write_stays_deleted(repository: TokenRepository, dynamodb: Any) -> None:
    token = create(repository)

    def deleted_meanwhile(current: TokenRecord) -> None:
        repository.delete(ACCOUNT, token.sid, NOW)

    with pytest.raises(TokenNotFound):
        activate(repository, token, check=deleted_meanwhile)
    with pytest.raises(TokenNotFound):
        repository.get(ACCOUNT, token.sid)
    assert repository.find_credential(secret_of(token)) is None


def test_a_token_recreated_under_the_same_sid_is_not_changed_by_a_write_read_before(
    repository: TokenRepository,
) -> None:
    token = create(repository)
    deactivate(repository, token)
    impostor = TokenRecord(
        **{**{field: getattr(token, field) for field in TokenRecord.__dataclass_fields__}, "is_active": True}
    )

    def recreated_meanwhile(current: TokenRecord) -> None:
        repository.delete(ACCOUNT, token.sid, NOW)
        repository.create(impostor, digest("another secret"), 100)

    with pytest.raises(ConcurrentModification):
        deactivate(repository, token, now=LATER, check=recreated_meanwhile)
    stored = repository.get(ACCOUNT, token.sid)
    assert (stored.is_active, stored.revoked_reason) == (True, None)
    credential = repository.find_credential(digest("another secret"))
    assert credential is not None
    assert credential.is_active


def test_last_use_is_written_at_most_once_per_interval(repository: TokenRepository) -> None:
    token = create(repository)
    credential = repository.find_credential(secret_of(token))
    assert credential is not None
    repository.touch_last_used(credential, secret_of(token), NOW, NOW)
    with pytest.raises(ConcurrentModification):  # lastUsedAt is not older than the cutoff
        repository.touch_last_used(credential, secret_of(token), LATER, NOW)
    repository.touch_last_used(credential, secret_of(token), LATER, LATER)
    assert repository.get(ACCOUNT, token.sid).last_used_at == LATER
    found = repository.find_credential(secret_of(token))
    assert found is not None
    assert found.last_used_at == LATER


def test_a_token_deleted_while_it_is_rolled_is_a_conflict_that_says_so(repository: TokenRepository) -> None:
    """The roll's transaction finds its token gone (the deciding item does not exist): a 409
    with the roll's own message, and no successor."""
    token = create(repository)

    def deleted_meanwhile(current: TokenRecord) -> TokenRecord:
        repository.delete(ACCOUNT, token.sid, NOW)
        return new_record()

    with pytest.raises(TokenStateConflict) as refused:
        repository.roll(ACCOUNT, token.sid, deleted_meanwhile, digest("f"), grace_end=NOW, max_tokens=100, now=NOW)
    assert refused.value.message == "This token is no longer active or was already rolled."
    assert repository.find_credential(digest("f")) is None


def test_a_rolled_or_inactive_token_is_not_rolled(repository: TokenRepository, dynamodb: Any) -> None:
    token = create(repository)
    repository.roll(ACCOUNT, token.sid, successor, digest("a"), grace_end=NOW, max_tokens=100, now=NOW)
    with pytest.raises(TokenStateConflict):
        repository.roll(ACCOUNT, token.sid, successor, digest("b"), grace_end=NOW, max_tokens=100, now=NOW)
    inactive = create(repository)
    deactivate(repository, inactive)
    before = scan_table(dynamodb)
    with pytest.raises(ConcurrentModification):  # the condition, with no domain check in front
        repository.roll(ACCOUNT, inactive.sid, successor, digest("c"), grace_end=NOW, max_tokens=100, now=NOW)
    assert scan_table(dynamodb) == before
    racing = create(repository)

    def rolled_meanwhile(current: TokenRecord) -> TokenRecord:
        if not repository.get(ACCOUNT, racing.sid).expires_at:
            repository.roll(ACCOUNT, racing.sid, successor, digest("d"), grace_end=NOW, max_tokens=100, now=NOW)
        return new_record()

    with pytest.raises(ConcurrentModification):
        repository.roll(ACCOUNT, racing.sid, rolled_meanwhile, digest("e"), grace_end=NOW, max_tokens=100, now=NOW)
    assert repository.find_credential(digest("c")) is None
    assert repository.find_credential(digest("e")) is None


def test_a_child_created_during_a_delete_makes_it_retry_not_vanish(repository: TokenRepository, dynamodb: Any) -> None:
    """The delete read a token without children; one appears before its write: the token is
    still there (a retry is asked for, never a 404), and the retry revokes the child with it."""
    parent = create(repository)
    children: list[TokenRecord] = []
    racing = TokenRepository(
        ActionAfterCall(  # type: ignore[arg-type]
            dynamodb, "get_item", lambda: children.append(create(repository, parent_sid=parent.sid)), once=True
        ),
        get_settings().table_name,
    )
    with pytest.raises(ConcurrentModification):
        racing.delete(ACCOUNT, parent.sid, NOW)
    assert repository.get(ACCOUNT, parent.sid).is_active
    repository.delete(ACCOUNT, parent.sid, LATER)
    assert is_active(repository, children[0]) == (False, False)
    assert repository.get(ACCOUNT, children[0].sid).revoked_reason == "parent_revoked"
