"""moto for the benchmark's data at scale: the same answers, at a cost that follows the request.

moto's DynamoDB backs up the whole table for each item of a TransactWriteItems and reads every
item of a partition for a Query: with 100,000 items or a 1,000-descendant cascade the benchmark
then took most of an hour and gigabytes. lean_moto() keeps moto's own code for every answer and
changes only that bookkeeping (idempotent; the local server's fixes of apitokens_dev.server and
its item-wise transaction rollback, apitokens_dev.moto_rollback, included). What the benchmark
counts, requests, items and capacity units, does not change.
"""

from __future__ import annotations

from typing import Any


def lean_moto() -> None:
    """moto made to cost what the benchmark's requests cost, not what the table holds."""
    from apitokens_dev.moto_rollback import roll_back_moto_transactions_by_item
    from apitokens_dev.server import drop_empty_moto_partitions, stop_moto_dynamodb_instance_tracking

    stop_moto_dynamodb_instance_tracking()
    drop_empty_moto_partitions()
    # A 1,000-descendant cascade is 250 transactions over a table of 4,000 items: with moto's
    # whole-table backup per transaction item it took most of an hour.
    roll_back_moto_transactions_by_item()
    _queries_read_only_their_prefix()


def _queries_read_only_their_prefix() -> None:
    """moto answers a Query by comparing every item of the partition with the key condition:
    the 1,001 children Queries of a 1,000-descendant cascade, each over the account's 3,000
    items, took 8 minutes. For this benchmark a table Query with begins_with on the sort key
    sees only the partition's items with that prefix (the ones the condition selects anyway)."""
    from moto.dynamodb.models.table import Table

    original = Table.query
    if getattr(original, "reads_only_its_prefix", False):
        return

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        partition = self.items.get(hash_key) if index_name is None else None
        if range_comparison != "BEGINS_WITH" or not isinstance(partition, dict):
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        prefix = range_objs[0].value
        self.items[hash_key] = {key: item for key, item in partition.items() if key.value.startswith(prefix)}
        try:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            self.items[hash_key] = partition

    query.reads_only_its_prefix = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
