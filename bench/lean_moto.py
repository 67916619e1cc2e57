"""moto for the benchmark's data at scale: the same answers, at a cost that follows the request.

moto's DynamoDB backs up the whole table for each item of a TransactWriteItems and reads every
item of a partition for a Query: with 100,000 items or a 1,000-descendant cascade the benchmark
then took most of an hour and gigabytes. lean_moto() keeps moto's own code for every answer and
changes only that bookkeeping (idempotent; the local server's two fixes of apitokens_dev.server
included). What the benchmark counts, requests, items and capacity units, does not change.
"""

from __future__ import annotations

from typing import Any


def lean_moto() -> None:
    """moto made to cost what the benchmark's requests cost, not what the table holds."""
    from apitokens_dev.server import drop_empty_moto_partitions, stop_moto_dynamodb_instance_tracking

    stop_moto_dynamodb_instance_tracking()
    drop_empty_moto_partitions()
    _transactions_copy_only_their_items()
    _queries_read_only_their_prefix()


def _transactions_copy_only_their_items() -> None:
    """moto's TransactWriteItems deep-copies the whole table once per item of the transaction,
    for its rollback: a 1,000-descendant cascade (250 transactions over a table of 4,000 items)
    then takes most of an hour. For this benchmark the rollback copies only the items the
    transaction names (all it can change) and puts them back on a cancellation: the same
    outcome, at a cost that follows the transaction, not the table."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TransactionCanceledException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "copies_only_its_items", False):
        return

    class _NoTableCopy:
        @staticmethod
        def deepcopy(value: Any) -> Any:
            return value  # moto's whole-table backup: the items are saved below instead

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            (kind, operation), *_ = entry.items()
            table = self.get_table(operation["TableName"])
            key = operation.get("Key")
            if kind == "Put":
                key = {name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr)}
            hash_key, range_key = self.get_keys_value(table, key)
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        setattr(models, "copy", _NoTableCopy)  # noqa: B010 - the module moto reads copy.deepcopy from
        try:
            original(self, transact_items)
        except (TransactionCanceledException, MultipleTransactionsException, MockValidationException):
            for table, hash_key, range_key, item in saved:
                if item is not None:
                    table.items[hash_key][range_key] = item
                elif table.get_item(hash_key, range_key) is not None:
                    table.delete_item(hash_key, range_key)
            raise
        finally:
            setattr(models, "copy", copy)  # noqa: B010

    transact.copies_only_its_items = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]


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
