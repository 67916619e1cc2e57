"""Every change this project makes to moto's DynamoDB, in one place.

The local server's embedded DynamoDB (embedded_db.embedded_dynamodb) installs the first four, which
give moto DynamoDB's own guarantees and costs; the benchmark (bench/lean_moto.py) adds the fifth for
its data at scale. Each is idempotent and takes `setattr`, so a test can undo it
(pytest's monkeypatch.setattr):

- make_moto_dynamodb_atomic: one request at a time, as DynamoDB runs each request atomically;
- stop_moto_dynamodb_instance_tracking: no registry that keeps every model instance alive;
- drop_empty_moto_partitions: a partition goes when its last item does;
- roll_back_moto_transactions_by_item: a cancelled transaction restores its own items, not a
  copy of the whole table;
- queries_read_only_their_prefix: a begins_with Query reads only the items with that prefix.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from typing_extensions import override


def install_local_server_patches() -> None:
    """What the local server's embedded DynamoDB needs, in the order it needs them: the
    rollback's backup must be taken inside the atomic request, so the rollback goes first."""
    roll_back_moto_transactions_by_item()
    make_moto_dynamodb_atomic()
    stop_moto_dynamodb_instance_tracking()
    drop_empty_moto_partitions()


# The backend methods a request of the service reaches (TransactWriteItems calls the others
# itself, hence a reentrant lock).
_MOTO_DYNAMODB_METHODS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "transact_write_items")


def make_moto_dynamodb_atomic(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Makes every DynamoDB request moto serves atomic: one at a time, under one lock.

    moto's DynamoDBBackend has no lock of its own: its transact_write_items deep-copies the
    table, checks each condition and writes each item in turn, and on a cancellation puts the
    whole copy back, while werkzeug serves each request on its own thread. Two concurrent
    transactions could both pass `tokenCount < :limit`, and a cancelled one could erase another
    one's committed writes. Real DynamoDB runs each request atomically and transactions
    serializably; this gives moto the same guarantee, request by request. `setattr` lets a test
    undo it (pytest's monkeypatch.setattr)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_apitokens_atomic", False):
        return
    lock = threading.RLock()

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def atomic(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return atomic

    for name in _MOTO_DYNAMODB_METHODS:
        setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))
    setattr(DynamoDBBackend, "_apitokens_atomic", True)


class _Untracked(list[Any]):
    """A list that keeps nothing: moto appends every model instance it makes to one of these."""

    @override
    def append(self, instance: Any) -> None:
        return


def stop_moto_dynamodb_instance_tracking(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Stops moto from keeping every DynamoDB model instance it ever makes.

    moto's BaseModel.__new__ appends each instance to its class's `instances_tracked` list (for
    the dashboard of moto's standalone server, which the local server does not serve), and
    nothing takes them out while the process lives. TransactWriteItems deep-copies every table it
    touches for its rollback, and copy.deepcopy makes the Table and each Item through __new__:
    so every transaction left a whole copy of the table reachable, and the server grew by the
    table's size on each create, update and delete. Untracked, a copy is freed when the
    transaction returns. `setattr` lets a test undo it (pytest's monkeypatch.setattr)."""
    from moto.core.model_instances import model_data
    from moto.dynamodb import models  # noqa: F401 - registers the DynamoDB model classes

    for model in model_data["dynamodb"].values():
        if not isinstance(getattr(model, "instances_tracked", None), _Untracked):
            setattr(model, "instances_tracked", _Untracked())


def drop_empty_moto_partitions(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Makes moto forget a partition once its last item is deleted.

    moto's Table.delete_item pops the item from its partition's dict but leaves the empty dict
    behind, so every deleted token left one empty partition (its lookup item has a partition of
    its own), and TransactWriteItems, which deep-copies the table for each of its items, got
    slower with every token ever deleted: the soak's latency grew with the pairs made, not with
    the live table (docs/reliability.md). DynamoDB has no such thing as an empty partition key.
    `setattr` lets a test undo it (pytest's monkeypatch.setattr)."""
    from moto.dynamodb.models.table import Table

    delete_item = Table.delete_item
    if getattr(delete_item, "drops_empty_partitions", False):
        return

    @functools.wraps(delete_item)
    def delete_and_drop_empty(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        item = delete_item(self, hash_key, range_key)
        if range_key and not self.items.get(hash_key, True):
            del self.items[hash_key]
        return item

    delete_and_drop_empty.drops_empty_partitions = True  # type: ignore[attr-defined]
    setattr(Table, "delete_item", delete_and_drop_empty)


# -- transactions roll back the items they wrote, not a copy of the table --------------------
#
# moto's TransactWriteItems deep-copies the whole table once per item of the transaction, to put
# the copy back if the transaction is cancelled, so a transaction's cost grew with the table (and
# every change writes an audit event that stays): the local server's soak slowed down with every
# pair ever made (docs/reliability.md, "Soak of the local server"). DynamoDB's own cost per
# transaction does not depend on the table. Here the backup is the transaction's own items (at most
# 100, DynamoDB's limit), as they were before it, and moto's table copy is made a no-op: on a
# cancellation those items are put back (or removed again) in the table itself, under the lock
# that makes each request atomic, so no other request sees the items in between.


@dataclass(frozen=True)
class _SavedItem:
    table: Any  # moto's Table
    hash_key: Any  # DynamoType
    range_key: Any  # DynamoType, or None for a table without a sort key
    item: Any  # the Item before the transaction (a copy), or None when there was none

    def restore(self) -> None:
        items = self.table.items
        if self.range_key is None:
            if self.item is None:
                items.pop(self.hash_key, None)
            else:
                items[self.hash_key] = self.item
            return
        partition = items.get(self.hash_key, {})
        if self.item is None:
            partition.pop(self.range_key, None)
        else:
            partition[self.range_key] = self.item
        if partition:
            items[self.hash_key] = partition
        else:
            items.pop(self.hash_key, None)  # DynamoDB has no empty partition (drop_empty_moto_partitions)


def _saved_item(backend: Any, entry: dict[str, Any]) -> _SavedItem | None:
    """The item one entry of TransactItems may write, as it is now; None when moto will refuse
    the entry before writing anything (unknown table, missing key)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(entry) != 1:
        return None
    ((operation, request),) = entry.items()
    table = backend.tables.get(request.get("TableName"))
    key = request.get("Item") if operation == "Put" else request.get("Key")
    if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    hash_key = DynamoType(key[table.hash_key_attr])
    if table.range_key_attr is None:
        return _SavedItem(table, hash_key, None, copy.deepcopy(table.items.get(hash_key)))
    if table.range_key_attr not in key:
        return None
    range_key = DynamoType(key[table.range_key_attr])
    return _SavedItem(table, hash_key, range_key, copy.deepcopy(table.items.get(hash_key, {}).get(range_key)))


class _CopyKeepingTables:
    """The `copy` module as moto's DynamoDB backend sees it: a deep copy of a Table is the table
    itself (the transaction's backup, which _SavedItem replaces); anything else is copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def roll_back_moto_transactions_by_item(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Installs the item-wise rollback; idempotent. `setattr` lets a test undo it
    (pytest's monkeypatch.setattr)."""
    from moto.dynamodb import models

    transact_write_items = models.DynamoDBBackend.transact_write_items
    if getattr(transact_write_items, "rolls_back_by_item", False):
        return

    @functools.wraps(transact_write_items)
    def transact_and_roll_back_by_item(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [item for entry in transact_items if (item := _saved_item(self, entry)) is not None]
        try:
            transact_write_items(self, transact_items)
        except Exception:
            for item in reversed(saved):
                item.restore()
            raise

    transact_and_roll_back_by_item.rolls_back_by_item = True  # type: ignore[attr-defined]
    setattr(models, "copy", _CopyKeepingTables())
    setattr(models.DynamoDBBackend, "transact_write_items", transact_and_roll_back_by_item)


# -- the benchmark's Query cost --------------------------------------------------------------


def queries_read_only_their_prefix(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """A table Query with begins_with on the sort key sees only the partition's items with that
    prefix (the ones the condition selects anyway). moto compares every item of the partition
    with the key condition, so a cascade's children Queries over a large account cost what the
    account holds, not what they select; the benchmark's cascades are made of such Queries."""
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
    setattr(Table, "query", query)
