"""The embedded DynamoDB's transactions roll back the items they wrote, not a copy of the table.

moto's TransactWriteItems deep-copies the whole table once per item of the transaction, to put
the copy back if the transaction is cancelled. A transaction's cost so grew with the table: since
every change writes an audit event that stays (issue 11), a create+delete pair leaves two items
behind, and the local server's soak slowed down with every pair ever made (docs/reliability.md,
"Soak of the local server"). DynamoDB's own cost per transaction does not depend on the table.

Here the backup is the transaction's own items (at most 100, DynamoDB's limit), as they were
before it, and moto's table copy is made a no-op: on a cancellation those items are put back (or
removed again) in the table itself. Installed by apitokens_dev.server.embedded_dynamodb, under
the lock that makes each request atomic, so no other request sees the items in between.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
            items.pop(self.hash_key, None)  # DynamoDB has no empty partition (server.drop_empty_moto_partitions)


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
