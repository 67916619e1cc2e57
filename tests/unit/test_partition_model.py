"""The bench's partition model (bench/partitions.py): the botocore before-call hook
that charges each request's units to the partition keys it names and throttles a key past
DynamoDB's per-key limits (3,000 RCU/s, 1,000 WCU/s), as the real repository then sees it.
No network: moto, in process, answers what the model lets through (as in the bench: moto answers
at botocore's before-send, after the model's before-call)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from apitokens.domain.errors import StoreUnavailable
from apitokens.store import keys
from apitokens.store.repository import TokenRepository

BENCH = Path(__file__).resolve().parents[2] / "bench"
TABLE = "tokens"
THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(scope="module")
def partitions() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        import partitions as module

        yield module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def lookup(pk: str) -> dict[str, Any]:
    return {
        "PK": {"S": pk},
        "SK": {"S": keys.SECRET_SK},
        "accountSid": {"S": "acc_1"},
        "tokenSid": {"S": "tok_1"},
        "scopes": {"L": []},
        "expiresAt": {"NULL": True},
        "isActive": {"BOOL": True},
    }


def get(client: Any, pk: str, consistent: bool = True) -> str:
    """ "ok" or the error code of one GetItem."""
    try:
        client.get_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": "SECRET"}}, ConsistentRead=consistent)
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def transact(client: Any, *pks: str) -> str:
    update = {"TableName": TABLE, "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": {"S": "1"}}}
    items = [{"Update": {**update, "Key": {"PK": {"S": pk}, "SK": {"S": "X"}}}} for pk in pks]
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def test_a_key_past_3000_read_units_in_one_second_is_throttled(partitions: ModuleType, client: Any) -> None:
    model = partitions.PartitionModel(client)
    model.weight = 1_000  # each real read stands for 1,000 requests: 1,000 RCU
    assert [get(client, "SECRET#a") for _ in range(4)] == ["ok", "ok", "ok", THROTTLED]
    # Another key has a budget of its own, and the next second a fresh one.
    assert get(client, "SECRET#b") == "ok"
    model.second += 1
    assert get(client, "SECRET#a") == "ok"
    assert model.reads[(0, "SECRET#a")] == 3_000
    assert model.throttled == 1_000


def test_an_eventually_consistent_read_costs_half(partitions: ModuleType, client: Any) -> None:
    model = partitions.PartitionModel(client)
    model.weight = 1_000
    assert [get(client, "SECRET#a", consistent=False) for _ in range(7)] == ["ok"] * 6 + [THROTTLED]
    assert model.reads[(0, "SECRET#a")] == 3_000


def test_transaction_items_cost_two_write_units_and_one_hot_key_throttles_the_whole_transaction(
    partitions: ModuleType, client: Any
) -> None:
    model = partitions.PartitionModel(client)
    model.write_weight = 100  # each item: 2 WCU x 100
    assert [transact(client, "ACCOUNT#hot") for _ in range(5)] == ["ok"] * 5  # 1,000 WCU
    assert transact(client, "ACCOUNT#cold", "ACCOUNT#hot") == THROTTLED
    # Nothing of the refused transaction was charged, to either key, nor written.
    assert model.writes[(0, "ACCOUNT#cold")] == 0
    assert "Item" not in client.get_item(TableName=TABLE, Key={"PK": {"S": "ACCOUNT#cold"}, "SK": {"S": "X"}})
    assert transact(client, "ACCOUNT#cold") == "ok"
    assert model.writes[(0, "ACCOUNT#hot")] == 1_000
    assert model.writes[(0, "ACCOUNT#cold")] == 200


def test_the_repository_sees_the_models_throttle_as_the_store_being_unavailable(
    partitions: ModuleType, client: Any
) -> None:
    model = partitions.PartitionModel(client)
    model.weight = 3_001  # one read past a key's limit
    repository = TokenRepository(client, TABLE, lookup_copies=1)
    with pytest.raises(StoreUnavailable):
        repository.find_credential("ab" * 32)
    assert model.throttled == 3_001


def test_each_copy_is_a_key_of_its_own(partitions: ModuleType, client: Any) -> None:
    """Eight copies: one token's reads are charged to eight keys, each with its own budget."""
    model = partitions.PartitionModel(client)
    model.weight = 3_000
    repository = TokenRepository(client, TABLE, lookup_copies=8)
    digest = "cd" * 32
    for copy in range(8):
        client.put_item(TableName=TABLE, Item=lookup(keys.secret_copy_pk(digest, copy)))
        assert repository.find_credential(digest, copy=copy) is not None
        assert model.last_read_key == keys.secret_copy_pk(digest, copy)
    assert {pk for (_, pk) in model.reads} == {keys.secret_copy_pk(digest, copy) for copy in range(8)}
    with pytest.raises(StoreUnavailable):
        repository.find_credential(digest, copy=3)


def test_a_puts_index_keys_are_charged_as_keys_of_their_own(partitions: ModuleType, client: Any) -> None:
    """A GSI has the same per-key limits, and a throttled GSI throttles the table's write."""
    model = partitions.PartitionModel(client)
    model.write_weight_of = lambda pk: 500 if pk.startswith("GSI3PK:") else 1
    item = {"PK": {"S": "ACCOUNT#a"}, "SK": {"S": "TOKEN#t"}, "GSI3PK": {"S": "EXPIRES#2030-01-01#3"}}
    put = {"Put": {"TableName": TABLE, "Item": item}}
    client.transact_write_items(TransactItems=[put])
    assert model.writes[(0, "GSI3PK:EXPIRES#2030-01-01#3")] == 500
    assert model.writes[(0, "ACCOUNT#a")] == 2
    item2 = {**item, "PK": {"S": "ACCOUNT#b"}}
    client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item2}}])
    item3 = {**item, "PK": {"S": "ACCOUNT#c"}}
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item3}}])
    assert refused.value.response["Error"]["Code"] == THROTTLED
    assert model.writes[(0, "ACCOUNT#c")] == 0
