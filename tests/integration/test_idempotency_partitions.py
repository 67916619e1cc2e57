"""Idempotency records spread with accounts and principals: no shared partition key,
and replays of create and roll still answer from the record."""

from __future__ import annotations

from typing import Any

from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.store import keys
from tests.harness import ACCOUNT, OTHER_ACCOUNT, Functions, scan_table
from tests.integration.test_lineage_and_roll import roll


def idempotency_records(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in scan_table(dynamodb) if item["PK"]["S"].startswith(keys.IDEMPOTENCY_PK_PREFIX)]


def test_two_accounts_records_land_on_different_partition_keys_and_replay(functions: Functions, dynamodb: Any) -> None:
    both = Principal("user", "user_1", frozenset({ACCOUNT, OTHER_ACCOUNT}), ALL_SCOPES)
    first = functions.create(ACCOUNT, both, idempotency_key="same-key")
    second = functions.create(OTHER_ACCOUNT, both, idempotency_key="same-key")
    assert first.status == second.status == 201
    records = idempotency_records(dynamodb)
    assert len(records) == 2
    assert {record["PK"]["S"] for record in records} == {
        keys.idempotency_pk(ACCOUNT, "user", "user_1"),
        keys.idempotency_pk(OTHER_ACCOUNT, "user", "user_1"),
    }
    assert all(record["SK"]["S"].startswith("create_token#") for record in records)
    replay = functions.create(OTHER_ACCOUNT, both, idempotency_key="same-key")
    assert replay.status == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.body["sid"] == second.body["sid"]
    assert "token" not in replay.body


def test_two_principals_of_one_account_use_different_partition_keys(functions: Functions, dynamodb: Any) -> None:
    one = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)
    other = Principal("user", "user_2", frozenset({ACCOUNT}), ALL_SCOPES)
    assert functions.create(ACCOUNT, one, idempotency_key="k").status == 201
    assert functions.create(ACCOUNT, other, idempotency_key="k").status == 201
    assert len({record["PK"]["S"] for record in idempotency_records(dynamodb)}) == 2


def test_roll_replays_from_the_callers_partition(functions: Functions, dynamodb: Any) -> None:
    token = functions.create(scopes=["tokens:read", "tokens:write"]).body
    headers = {"Idempotency-Key": "roll-spread"}
    rolled = roll(functions, token["sid"], {"gracePeriodSeconds": 60}, headers=headers)
    assert rolled.status == 201, rolled.body
    replay = roll(functions, token["sid"], {"gracePeriodSeconds": 60}, headers=headers)
    assert replay.status == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.body["sid"] == rolled.body["sid"]
    (record,) = [item for item in idempotency_records(dynamodb) if item["SK"]["S"].startswith("roll_token#")]
    assert record["PK"]["S"] == keys.idempotency_pk(ACCOUNT, "user", "user_1")
    assert record["PK"]["S"] != "IDEMPOTENCY"
