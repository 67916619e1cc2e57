"""The local server's embedded DynamoDB (moto) keeps no copy of a table after a transaction
(TransactWriteItems deep-copies the table for its rollback, and moto's instance registry would
keep every copy, so the server would grow by the table's size on every write)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from apitokens_dev.moto_patches import drop_empty_moto_partitions, stop_moto_dynamodb_instance_tracking
from tests.harness import TABLE

TRANSACTIONS = 40


def _live_tables() -> int:
    gc.collect()
    return sum(1 for value in gc.get_objects() if isinstance(value, Table))


def _transactions(client: Any, count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        item = {"PK": {"S": f"ACCOUNT#soak{index}"}, "SK": {"S": "META"}, "tokenCount": {"N": "1"}}
        client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item}}])
        key = {"PK": item["PK"], "SK": item["SK"]}
        client.transact_write_items(TransactItems=[{"Delete": {"TableName": TABLE, "Key": key}}])


def test_a_transaction_leaves_no_copy_of_the_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stop_moto_dynamodb_instance_tracking(monkeypatch.setattr)
    _transactions(dynamodb, 5)
    before = _live_tables()
    _transactions(dynamodb, TRANSACTIONS, start=5)
    assert _live_tables() == before


def test_a_cancelled_transaction_still_rolls_back(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stop_moto_dynamodb_instance_tracking(monkeypatch.setattr)
    kept = {"PK": {"S": "ACCOUNT#kept"}, "SK": {"S": "META"}}
    condition = {"TableName": TABLE, "Key": kept, "ConditionExpression": "attribute_exists(PK)"}
    new = {"PK": {"S": "ACCOUNT#new"}, "SK": {"S": "META"}}
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": new}}, {"ConditionCheck": condition}]
        )
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def _partitions(client: Any) -> int:
    from moto.dynamodb.models import dynamodb_backends

    return len(dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE).items)


def test_a_deleted_items_partition_is_forgotten(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the patch every deleted partition stayed behind as an empty dict, and each
    # transaction's deep copy of the table grew with every item ever deleted.
    drop_empty_moto_partitions(monkeypatch.setattr)
    _transactions(dynamodb, 5)
    before = _partitions(dynamodb)
    _transactions(dynamodb, TRANSACTIONS, start=5)
    assert _partitions(dynamodb) == before == 0
    kept = {"PK": {"S": "ACCOUNT#kept"}, "SK": {"S": "META"}}
    other = {"PK": {"S": "ACCOUNT#kept"}, "SK": {"S": "TOKEN#x"}}
    dynamodb.put_item(TableName=TABLE, Item=kept)
    dynamodb.put_item(TableName=TABLE, Item=other)
    dynamodb.delete_item(TableName=TABLE, Key=other)
    assert _partitions(dynamodb) == 1
    assert dynamodb.get_item(TableName=TABLE, Key=kept, ConsistentRead=True)["Item"] == kept
