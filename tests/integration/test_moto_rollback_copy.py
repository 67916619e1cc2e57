"""The local server's cheaper moto transaction rollback (apitokens_dev.server, issue 15): a
cancelled transaction still leaves every partition as it was, the ones it wrote included."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from apitokens_dev.server import cheap_moto_transaction_rollback
from tests.harness import TABLE, scan_table


def put(key: str, value: str) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {"PK": {"S": key}, "SK": {"S": "X"}, "v": {"S": value}}}}


def test_a_cancelled_transaction_changes_nothing(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_moto_transaction_rollback(monkeypatch.setattr)
    dynamodb.transact_write_items(TransactItems=[put("A", "1"), put("B", "1"), put("C", "1")])
    before = scan_table(dynamodb)
    refused = {
        "Update": {
            "TableName": TABLE,
            "Key": {"PK": {"S": "C"}, "SK": {"S": "X"}},
            "UpdateExpression": "SET v = :v",
            "ConditionExpression": "v = :other",
            "ExpressionAttributeValues": {":v": {"S": "2"}, ":other": {"S": "9"}},
        }
    }
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[put("A", "2"), put("D", "2"), refused])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert scan_table(dynamodb) == before
    dynamodb.transact_write_items(TransactItems=[put("A", "3"), put("D", "3")])
    assert {item["PK"]["S"]: item["v"]["S"] for item in scan_table(dynamodb)} == {
        "A": "3",
        "B": "1",
        "C": "1",
        "D": "3",
    }
