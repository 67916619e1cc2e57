"""Hot tokens: every token has N copies of its lookup item, every change writes all
of them in its transaction, and the authorizer reads exactly one, chosen at random."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from apitokens.domain.commands import UpdateToken
from apitokens.domain.tokens import digest
from apitokens.settings import Settings
from apitokens.store import keys
from apitokens.store.repository import TokenRepository
from tests.harness import ACCOUNT, TABLE, Functions, scan_table
from tests.integration.test_lineage_and_roll import WRITER, child_of, roll

COPIES = Settings(table_name=TABLE).lookup_copies


def lookup_copies(dynamodb: Any, secret: str) -> list[dict[str, Any]]:
    """Every lookup item of the token `secret`, in copy order (copy 0 first)."""
    wanted = {keys.secret_copy_pk(digest(secret), index) for index in range(64)}
    found = {item["PK"]["S"]: item for item in scan_table(dynamodb) if item["PK"]["S"] in wanted}
    return [found[pk] for pk in (keys.secret_copy_pk(digest(secret), index) for index in range(64)) if pk in found]


def without_key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != "PK"}


def assert_copies_agree(dynamodb: Any, secret: str, **expected: Any) -> list[dict[str, Any]]:
    items = lookup_copies(dynamodb, secret)
    assert len(items) == COPIES
    assert all(without_key(item) == without_key(items[0]) for item in items)
    for name, value in expected.items():
        assert items[0][name] == value, name
    return items


def authorizer_reads(functions: Functions) -> list[str]:
    """The partition keys the authorizer's GetItems ask for, recorded on its client."""
    reads: list[str] = []
    (client,) = functions.clients(None)
    get_item = client.get_item  # type: ignore[attr-defined]

    def recorded(**params: Any) -> Any:
        reads.append(params["Key"]["PK"]["S"])
        return get_item(**params)

    client.get_item = recorded  # type: ignore[attr-defined]
    return reads


def test_the_default_spreads_10000_reads_a_second_with_headroom() -> None:
    # 3,000 strongly consistent reads a second per partition key: 10,000 need at least 4 copies.
    assert COPIES * 3_000 >= 2 * 10_000


def test_create_writes_every_copy_and_records_the_count(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(scopes=WRITER).body
    items = assert_copies_agree(dynamodb, created["token"], isActive={"BOOL": True})
    assert {item["copies"]["N"] for item in items} == {str(COPIES)}
    token = next(item for item in scan_table(dynamodb) if item["SK"]["S"] == keys.token_sk(created["sid"]))
    assert token["lookupCopies"] == {"N": str(COPIES)}


def test_each_authorization_reads_exactly_one_copy_and_reads_spread(functions: Functions) -> None:
    secret = functions.create(scopes=WRITER).body["token"]
    reads = authorizer_reads(functions)
    for _ in range(80):
        assert functions.token_accepted(secret)
    assert len(reads) == 80  # one GetItem per authorization
    spread = Counter(reads)
    assert set(spread) <= {keys.secret_copy_pk(digest(secret), index) for index in range(COPIES)}
    assert len(spread) > 1  # 80 reads landing on one copy of 8: about 1 in 10^70


def test_deactivation_and_reactivation_write_every_copy(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(scopes=WRITER).body
    assert functions.update(created["sid"], {"name": "off", "isActive": False}).status == 200
    assert_copies_agree(dynamodb, created["token"], isActive={"BOOL": False})
    repository = TokenRepository.from_settings(Settings(table_name=TABLE))
    for index in range(COPIES):
        credential = repository.find_credential(digest(created["token"]), copy=index)
        assert credential is not None
        assert credential.is_active is False
    assert not any(functions.token_accepted(created["token"]) for _ in range(40))
    assert functions.update(created["sid"], {"name": "on", "isActive": True}).status == 200
    assert_copies_agree(dynamodb, created["token"], isActive={"BOOL": True})


def test_a_deleted_token_is_refused_whichever_copy_is_read(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(scopes=WRITER).body
    assert functions.delete(created["sid"]).status == 200
    assert lookup_copies(dynamodb, created["token"]) == []
    repository = TokenRepository.from_settings(Settings(table_name=TABLE))
    assert all(repository.find_credential(digest(created["token"]), copy=index) is None for index in range(COPIES))
    reads = authorizer_reads(functions)
    assert not any(functions.token_accepted(created["token"]) for _ in range(40))
    assert len(reads) == 40


def test_a_cascade_and_a_leak_revocation_write_every_copy(functions: Functions, dynamodb: Any) -> None:
    root = functions.create(scopes=WRITER).body
    child = child_of(functions, root)
    grandchild = child_of(functions, child)
    assert functions.update(root["sid"], {"name": "off", "isActive": False}).status == 200
    for token in (root, child, grandchild):
        assert_copies_agree(dynamodb, token["token"], isActive={"BOOL": False})
    other = functions.create(scopes=WRITER).body
    repository = TokenRepository.from_settings(Settings(table_name=TABLE))
    revoked = repository.revoke_leaked(digest(other["token"]), "2030-01-01T00:00:00Z", "test", "https://x.test/")
    assert revoked is not None
    assert revoked.lookup_copies == COPIES
    assert_copies_agree(dynamodb, other["token"], isActive={"BOOL": False})


def test_roll_lowers_expiry_on_every_copy_and_gives_the_new_token_its_copies(
    functions: Functions, dynamodb: Any
) -> None:
    old = functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 3600})
    assert rolled.status == 201, rolled.body
    items = assert_copies_agree(dynamodb, old["token"])
    assert "S" in items[0]["expiresAt"]
    assert_copies_agree(dynamodb, rolled.body["token"], isActive={"BOOL": True})


def test_the_touch_writes_every_copy_once_per_interval(functions: Functions, dynamodb: Any) -> None:
    secret = functions.create(scopes=WRITER).body["token"]
    now = [2_000_000_000.0]
    functions.authorizer_instance.clock = lambda: now[0]
    assert functions.token_accepted(secret)
    first = assert_copies_agree(dynamodb, secret)[0]["lastUsedAt"]
    assert "S" in first
    now[0] += 30  # within the interval: no write
    assert functions.token_accepted(secret)
    assert assert_copies_agree(dynamodb, secret)[0]["lastUsedAt"] == first
    now[0] += 60
    assert functions.token_accepted(secret)
    assert assert_copies_agree(dynamodb, secret)[0]["lastUsedAt"] != first


@pytest.mark.parametrize("copies", [1, 3])
def test_a_token_keeps_the_copy_count_it_was_created_with(dynamodb: Any, copies: int, environment: Any) -> None:
    from apitokens.rules import service
    from apitokens.wire.models import CreateTokenRequest
    from tests.harness import user

    settings = Settings(table_name=TABLE, lookup_copies=copies)
    repository = TokenRepository.from_settings(settings)
    request = CreateTokenRequest.model_validate({"name": "n", "scopes": ["tokens:read"]})
    created = service.create_token(repository, settings, user(), ACCOUNT, request.command())
    assert len(lookup_copies(dynamodb, created.secret)) == copies
    # A later deployment with more copies still changes exactly the copies this token has.
    wider = TokenRepository.from_settings(Settings(table_name=TABLE, lookup_copies=8, lookup_read_copies=copies))
    assert wider.read_copies == copies
    wider.update(ACCOUNT, created.record.sid, UpdateToken("n", is_active=False), now="x")
    items = lookup_copies(dynamodb, created.secret)
    assert len(items) == copies
    assert all(item["isActive"] == {"BOOL": False} for item in items)
