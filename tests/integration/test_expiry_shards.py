"""The expiry index spread over shards per day: tokens of every account created with
one lifetime expire on one day, so that day's GSI3 writes go to EXPIRY_SHARDS keys, and the
sweep still finds every one of them, and the tokens written with the unsharded key before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apitokens.rules import expiry
from apitokens.settings import get_settings
from apitokens.store import keys
from apitokens.store.event_repository import EventRepository
from tests.harness import Functions, scan_table


def test_one_days_tokens_spread_over_shards_and_the_sweep_finds_them_all(functions: Functions, dynamodb: Any) -> None:
    now = datetime.now(UTC)
    expires = (now + timedelta(days=20)).isoformat()
    sids = {functions.create(expiresAt=expires).body["sid"] for _ in range(30)}
    indexed = [item for item in scan_table(dynamodb) if keys.BY_EXPIRY_PK in item]
    partitions = {item[keys.BY_EXPIRY_PK]["S"] for item in indexed}
    assert partitions <= set(keys.expiry_day_pks(expires[:10]))
    # 30 sids on 10 shards all landing on three or fewer: about 10^-14.
    assert len(partitions) > 3
    assert all(
        item[keys.BY_EXPIRY_PK]["S"] == keys.expiry_day_pk(expires, keys.expiry_shard(item["sid"]["S"]))
        for item in indexed
    )
    swept = expiry.sweep(EventRepository.from_settings(get_settings()), now)
    assert (swept.expiring, swept.items_read) == (30, 30)
    assert swept.queries == 38 * (keys.EXPIRY_SHARDS + 1)
    assert {item["sid"]["S"] for item in indexed} == sids


def test_a_token_indexed_before_the_shards_is_still_swept(functions: Functions, dynamodb: Any) -> None:
    now = datetime.now(UTC)
    expires = (now + timedelta(days=5)).isoformat()
    sid = functions.create(expiresAt=expires).body["sid"]
    (token,) = [item for item in scan_table(dynamodb) if item.get("sid", {}).get("S") == sid and "GSI3PK" in item]
    dynamodb.update_item(
        TableName=get_settings().table_name,
        Key={"PK": token["PK"], "SK": token["SK"]},
        UpdateExpression="SET GSI3PK = :legacy",
        ExpressionAttributeValues={":legacy": {"S": keys.expiry_day_pk(expires)}},
    )
    swept = expiry.sweep(EventRepository.from_settings(get_settings()), now)
    assert (swept.expiring, swept.items_read) == (1, 1)
