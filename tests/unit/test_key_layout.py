"""The single table's key layout (store/keys.py, docs/data-model.md "Data model") is a contract with every
item already stored: a deployed table's tokens, lineage edges, rolled slots, audit events and
expiry index entries must stay where the next release looks for them. Each builder is pinned to
the documented layout, and the index names to template.yaml's."""

from __future__ import annotations

import hashlib

from apitokens.store import keys
from apitokens_dev.template import table_create_arguments

ACCOUNT = "acc_abc123def456ghi789jkl012"
TOKEN = "tok_abc123def456ghi789jkl012"
CHILD = "tok_000000000000000000000001"
DIGEST = "ab" * 32
WHEN = "2026-12-02T01:30:00.000Z"


def test_token_account_and_lookup_keys() -> None:
    assert keys.token_key(ACCOUNT, TOKEN) == {"PK": {"S": f"ACCOUNT#{ACCOUNT}"}, "SK": {"S": f"TOKEN#{TOKEN}"}}
    assert keys.account_meta_key(ACCOUNT) == {"PK": {"S": f"ACCOUNT#{ACCOUNT}"}, "SK": {"S": "META"}}
    assert keys.secret_key(DIGEST) == {"PK": {"S": f"SECRET#{DIGEST}"}, "SK": {"S": "SECRET"}}
    assert keys.token_sk(TOKEN).startswith(keys.TOKEN_SK_PREFIX)


def test_lookup_copies_keep_copy_zero_at_the_original_key() -> None:
    assert keys.secret_copy_key(DIGEST, 0) == keys.secret_key(DIGEST)
    assert keys.secret_copy_pk(DIGEST, 1) == f"SECRET#{DIGEST}#1"
    assert keys.secret_copy_keys(DIGEST, 3) == [
        {"PK": {"S": f"SECRET#{DIGEST}"}, "SK": {"S": "SECRET"}},
        {"PK": {"S": f"SECRET#{DIGEST}#1"}, "SK": {"S": "SECRET"}},
        {"PK": {"S": f"SECRET#{DIGEST}#2"}, "SK": {"S": "SECRET"}},
    ]
    assert keys.secret_copy_keys(DIGEST, 1) == [keys.secret_key(DIGEST)]


def test_lineage_edges_and_rolled_slots() -> None:
    assert keys.lineage_key(ACCOUNT, TOKEN, CHILD) == {
        "PK": {"S": f"ACCOUNT#{ACCOUNT}"},
        "SK": {"S": f"CHILD#{TOKEN}#{CHILD}"},
    }
    assert keys.rolled_key(ACCOUNT, WHEN, TOKEN) == {
        "PK": {"S": f"ACCOUNT#{ACCOUNT}"},
        "SK": {"S": f"ROLLED#{WHEN}#{TOKEN}"},
    }
    # Due slots are one Query between the prefix and ROLLED#<now>: the prefix sorts first.
    assert keys.rolled_sk(WHEN, TOKEN).startswith(keys.ROLLED_SK_PREFIX)
    assert keys.ROLLED_SK_PREFIX == "ROLLED#"
    assert keys.CHILD_SK_PREFIX == "CHILD#"


def test_audit_event_keys_and_index_partitions() -> None:
    assert keys.event_key(ACCOUNT, "evt_1") == {"PK": {"S": f"ACCOUNT#{ACCOUNT}"}, "SK": {"S": "EVENT#evt_1"}}
    assert keys.event_sk("evt_1").startswith(keys.EVENT_SK_PREFIX)
    assert keys.token_events_pk(ACCOUNT, TOKEN) == f"AUDIT#{ACCOUNT}#{TOKEN}"
    assert keys.type_events_pk(ACCOUNT, "token.created") == f"AUDIT#{ACCOUNT}#token.created"


def test_idempotency_partition_per_account_and_hashed_principal() -> None:
    principal = hashlib.sha256(b"user:user_1").hexdigest()[:32]
    assert keys.idempotency_pk(ACCOUNT, "user", "user_1") == f"IDEMPOTENCY#{ACCOUNT}#{principal}"
    assert keys.idempotency_pk(ACCOUNT, "token", "user_1") != keys.idempotency_pk(ACCOUNT, "user", "user_1")


def test_expiry_index_days_and_shards() -> None:
    assert keys.EXPIRY_SHARDS == 10
    # The shard of a sid is fixed by its hash: a token written today is found by later sweeps.
    assert keys.expiry_shard(TOKEN) == int(hashlib.sha256(TOKEN.encode()).hexdigest()[:8], 16) % 10 == 2
    assert keys.expiry_shard(CHILD) == 9
    assert keys.expiry_day_pk(WHEN) == "EXPIRES#2026-12-02"
    assert keys.expiry_day_pk(WHEN, 0) == "EXPIRES#2026-12-02#0"
    assert keys.expiry_day_pks("2026-12-02") == [
        *(f"EXPIRES#2026-12-02#{shard}" for shard in range(10)),
        "EXPIRES#2026-12-02",
    ]
    assert keys.expiry_attributes(ACCOUNT, TOKEN, WHEN) == {
        "GSI3PK": {"S": "EXPIRES#2026-12-02#2"},
        "GSI3SK": {"S": f"{WHEN}#{ACCOUNT}#{TOKEN}"},
    }


def test_index_names_are_the_templates() -> None:
    indexes = {
        index["IndexName"]: tuple(key["AttributeName"] for key in index["KeySchema"])
        for index in table_create_arguments("tokens")["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        keys.BY_TOKEN_INDEX: (keys.BY_TOKEN_PK, keys.BY_TOKEN_SK),
        keys.BY_TYPE_INDEX: (keys.BY_TYPE_PK, keys.BY_TYPE_SK),
        keys.BY_EXPIRY_INDEX: (keys.BY_EXPIRY_PK, keys.BY_EXPIRY_SK),
    }
    assert (keys.SECRET_SK, keys.ACCOUNT_META_SK, keys.IDEMPOTENCY_PK_PREFIX) == ("SECRET", "META", "IDEMPOTENCY#")
