"""The local server's embedded DynamoDB rolls a cancelled transaction back item by item instead of
deep-copying the table for every item of every transaction (audit events stay in the table, so
with copies every create+delete pair would make every later transaction slower)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from apitokens_dev.moto_patches import roll_back_moto_transactions_by_item
from tests.harness import TABLE

ACCOUNT = {"PK": {"S": "ACCOUNT#kept"}, "SK": {"S": "META"}}
TOKEN = {"PK": {"S": "ACCOUNT#kept"}, "SK": {"S": "TOKEN#1"}}
LOOKUP = {"PK": {"S": "LOOKUP#digest"}, "SK": {"S": "LOOKUP"}}


def _table(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=TABLE)["Items"], key=repr)


@pytest.fixture
def rolled_back_by_item(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The patch installed (undone after the test), and every value copy.deepcopy was asked for."""
    copied: list[Any] = []
    deepcopy = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        copied.append(value)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    roll_back_moto_transactions_by_item(monkeypatch.setattr)
    return copied


def test_a_cancelled_transaction_puts_back_every_item_it_wrote(dynamodb: Any, rolled_back_by_item: list[Any]) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**ACCOUNT, "tokenCount": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={**TOKEN, "name": {"S": "before"}})
    before = _table(dynamodb)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**LOOKUP, "sid": {"S": "tok_1"}}}},  # new item
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": ACCOUNT,
                        "UpdateExpression": "SET tokenCount = tokenCount + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": TOKEN}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"PK": {"S": "ACCOUNT#absent"}, "SK": {"S": "META"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    assert _table(dynamodb) == before
    assert not [value for value in rolled_back_by_item if isinstance(value, Table)]


def test_a_committed_transaction_writes_every_item_and_copies_no_table(
    dynamodb: Any, rolled_back_by_item: list[Any]
) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**ACCOUNT, "tokenCount": {"N": "1"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": TOKEN}},
            {"Put": {"TableName": TABLE, "Item": LOOKUP}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": ACCOUNT,
                    "UpdateExpression": "SET tokenCount = tokenCount + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert _table(dynamodb) == sorted([{**ACCOUNT, "tokenCount": {"N": "2"}}, TOKEN, LOOKUP], key=repr)
    assert not [value for value in rolled_back_by_item if isinstance(value, Table)]
    # A repeated key is refused before anything is written, as by DynamoDB.
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": TABLE, "Key": TOKEN}},
                {"Put": {"TableName": TABLE, "Item": {**TOKEN, "name": {"S": "again"}}}},
            ]
        )
    assert _table(dynamodb) == sorted([{**ACCOUNT, "tokenCount": {"N": "2"}}, TOKEN, LOOKUP], key=repr)
