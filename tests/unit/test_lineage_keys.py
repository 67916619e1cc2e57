"""Key builders whose mistakes no single-account test with fixed-width sids would show: a
parent's children are exactly the edges under `CHILD#<parent>#`, never those of a parent whose
sid merely starts with it, and a token's audit index partition is per account."""

from __future__ import annotations

from apitokens.store import keys

ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER_ACCOUNT = "acc_zyx987wvu654tsr321qpo000"
PARENT = "tok_abc123def456ghi789jkl012"
CHILD = "tok_000000000000000000000001"


def test_the_children_prefix_of_a_sid_takes_no_edge_of_a_longer_sid() -> None:
    prefix = keys.children_prefix(PARENT)
    own = keys.lineage_key(ACCOUNT, PARENT, CHILD)["SK"]["S"]
    longer = keys.lineage_key(ACCOUNT, PARENT + "X", CHILD)["SK"]["S"]
    assert own.startswith(prefix)
    assert not longer.startswith(prefix)
    assert own == f"CHILD#{PARENT}#{CHILD}"
    assert prefix == f"CHILD#{PARENT}#"


def test_the_children_prefix_ends_where_the_child_begins() -> None:
    edge = keys.lineage_key(ACCOUNT, PARENT, CHILD)["SK"]["S"]
    assert edge.removeprefix(keys.children_prefix(PARENT)) == CHILD


def test_a_tokens_audit_partition_is_per_account() -> None:
    assert keys.token_events_pk(ACCOUNT, PARENT) != keys.token_events_pk(OTHER_ACCOUNT, PARENT)
    assert keys.token_events_pk(ACCOUNT, PARENT) == f"AUDIT#{ACCOUNT}#{PARENT}"
    # Nor may it meet a per-type partition of the same account.
    assert keys.token_events_pk(ACCOUNT, PARENT) != keys.type_events_pk(ACCOUNT, "token.created")
