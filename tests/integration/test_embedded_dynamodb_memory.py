"""The local server's embedded DynamoDB (moto) keeps no copy of a table after a transaction
(issue 13, finding 4: each TransactWriteItems deep-copied the table for its rollback, and moto's
instance registry kept every copy, so the server grew by the table's size on every write)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from apitokens_dev.server import stop_moto_dynamodb_instance_tracking
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
