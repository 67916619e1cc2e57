"""What a token does to its descendants (docs/api.md, "Lineage and cascading revocation"): the children it created, the
resumable cascade that deactivates them with it, the move of a rolled token's children to its
successor, and the end of grace. Which children a cascade revokes and what each change records
are the domain's (domain/changes.py); this turns them into transactions.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

from apitokens.domain.changes import (
    AncestorChain,
    cascade_event,
    cascade_step,
    children_to_move,
    kept_successor_parent,
    parent_moved_event,
)
from apitokens.domain.errors import TokenStateConflict
from apitokens.domain.records import PARENT_REVOKED, Child
from apitokens.store import keys
from apitokens.store.driver import driver_errors
from apitokens.store.items import (
    Item,
    children_mark,
    deactivation,
    edge_attributes,
    edge_delete,
    lineage_edge,
    lookup_copies_of,
    moving_edge,
    optional_string,
    parent_update,
    parents_unchanged,
)
from apitokens.store.table import Table

# DynamoDB's most items in one TransactWriteItems.
TRANSACTION_ITEMS = 100
# A cascade's transaction holds, per descendant, its token item, each lookup copy and its
# token.revoked_by_cascade event; descendants are packed until the next would pass
# TRANSACTION_ITEMS.
AUDIT_ITEMS_PER_CHANGE = 1


def cascade_batch_size(lookup_copies: int) -> int:
    """How many descendants of `lookup_copies` copies one cascade transaction revokes."""
    return TRANSACTION_ITEMS // (1 + lookup_copies + AUDIT_ITEMS_PER_CHANGE)


# Children moved per transaction by a roll: four writes each (old edge, new edge, parentSid and
# its token.updated event), so 61 of DynamoDB's 100 items with the new parent's.
MOVE_BATCH = 15


def cascade_batches(children: list[Child]) -> Iterator[list[Child]]:
    """`children` in groups whose deactivations (token item, lookup copies and an audit event
    each) fit one transaction."""
    batch: list[Child] = []
    items = 0
    for child in children:
        size = 1 + child.lookup_copies + AUDIT_ITEMS_PER_CHANGE
        if batch and items + size > TRANSACTION_ITEMS:
            yield batch
            batch, items = [], 0
        batch.append(child)
        items += size
    if batch:
        yield batch


def fits_one_transaction(writes: list[dict[str, Any]]) -> None:
    """Refuses a change whose lineage checks (one per ancestor) do not fit one transaction."""
    if len(writes) > TRANSACTION_ITEMS:
        raise TokenStateConflict(
            "This token's lineage is too deep to check in one transaction; a user can roll or delete it."
        )


class Lineage:
    """A token's descendants on the table: its children, the cascade, the move of a rolled
    token's children and the end of its grace."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def ancestor_chain(self, account_sid: str, token_sid: str) -> AncestorChain:
        """`token_sid` and each of its ancestors up to its root, each with its parentSid as read
        now (one consistent GetItem each): a token with no parent, or whose parent was deleted, is
        a root. Empty when `token_sid` does not exist. Stops at a sid seen already, so a cycle
        cannot make it loop. What a write that moves a token checks (items.parents_unchanged)."""
        chain: AncestorChain = []
        current: str | None = token_sid
        while current is not None and all(sid != current for sid, _ in chain):
            with driver_errors():
                item = self._table.client.get_item(
                    TableName=self._table.name,
                    Key=keys.token_key(account_sid, current),
                    ConsistentRead=True,
                    ProjectionExpression="parentSid",
                ).get("Item")
            if item is None:
                break
            parent = optional_string(item, "parentSid")
            chain.append((current, parent))
            current = parent
        return chain

    def children(self, account_sid: str, parent_sid: str) -> Iterator[list[Child]]:
        """The lineage edges from `parent_sid`, a page at a time: one Query, key condition only."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.account_pk(account_sid)},
                ":prefix": {"S": keys.children_prefix(parent_sid)},
            },
            "ProjectionExpression": "childSid, childDigest, childCopies, movingFrom",
            "ConsistentRead": True,
        }
        while True:
            with driver_errors():
                response = self._table.client.query(**request)
            yield [
                Child(
                    item["childSid"]["S"],
                    item["childDigest"]["S"],
                    lookup_copies_of(item, "childCopies"),
                    moving="movingFrom" in item,
                )
                for item in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def revoke_descendants(self, account_sid: str, root_sid: str, now: str) -> int:
        """Deactivates every descendant of `root_sid` (breadth first, as many descendants per
        TransactWriteItems as fit: each its token item, every lookup copy and its event) with
        revokedReason "parent_revoked", keeping an earlier reason. Idempotent: run again after a
        failure, it rewrites the same values and reaches the rest. Returns how many descendants
        it wrote."""
        frontier = collections.deque([root_sid])
        seen = {root_sid}  # revoked (or the root)
        walked: set[str] = set()  # whose children were read
        written = 0
        while frontier:
            parent_sid = frontier.popleft()
            if parent_sid in walked:
                continue
            walked.add(parent_sid)
            for page in self.children(account_sid, parent_sid):
                step = cascade_step(page, seen)
                frontier.extend(step.walk)
                for batch in cascade_batches(list(step.revoke)):
                    written += self._revoke_batch(account_sid, parent_sid, batch, now)
                frontier.extend(child.sid for child in step.revoke)
        return written

    def _revoke_batch(self, account_sid: str, parent_sid: str, batch: list[Child], now: str) -> int:
        """One cascade transaction. Only the active children change (and get an event): a child
        already inactive (deactivated before, or by an earlier run of this cascade) is left
        alone, so a resumed cascade writes no second event."""
        active = self._active_sids(account_sid, [child.sid for child in batch])
        writes = []
        for child in batch:
            if child.sid not in active:
                continue
            writes += deactivation(
                account_sid,
                child.sid,
                child.secret_digest,
                PARENT_REVOKED,
                now,
                copies=child.lookup_copies,
                require_active=True,
            )
            writes.append(self._table.event(cascade_event(account_sid, child.sid, parent_sid, now)))
        if writes:
            self._table.transact(writes)
        return len(active)

    def _active_sids(self, account_sid: str, token_sids: list[str]) -> set[str]:
        """Which of these tokens are active: one BatchGetItem (a cascade batch: at most 33 keys)."""
        request: dict[str, Any] = {
            self._table.name: {
                "Keys": [keys.token_key(account_sid, sid) for sid in token_sids],
                "ProjectionExpression": "sid, isActive",
                "ConsistentRead": True,
            }
        }
        active: set[str] = set()
        while request:
            with driver_errors():
                response = self._table.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table.name, []):
                if item["isActive"]["BOOL"]:
                    active.add(item["sid"]["S"])
            request = dict(response.get("UnprocessedKeys") or {})
        return active

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int:
        """Moves the lineage edges of `from_sid` to `to_sid`, and each child's parentSid with it,
        and its token.updated event (parentSid from, to) in the same transaction: MOVE_BATCH
        children per transaction (fewer when `to_sid` has so many ancestors that their checks
        would not fit); then drops the roll's `movingFrom` edge from `to_sid`. A child that is
        `to_sid` or one of its ancestors stays where it is (changes.children_to_move). Each
        transaction requires `to_sid`'s ancestors to be those read. Resumable: run again, it
        moves what is left. Returns how many moved."""
        moved = 0
        chain = self.ancestor_chain(account_sid, to_sid)
        # Four writes a child, the new parent's mark and a check per other ancestor.
        batch_size = max(1, min(MOVE_BATCH, (TRANSACTION_ITEMS - len(chain)) // 4))
        for page in self.children(account_sid, from_sid):
            children = children_to_move(page, chain)
            for start in range(0, len(children), batch_size):
                batch = children[start : start + batch_size]
                writes: list[dict[str, Any]] = [children_mark(account_sid, to_sid)]
                for child in batch:
                    writes += self._move(account_sid, from_sid, to_sid, child, now)
                parents_unchanged(account_sid, chain, writes)
                fits_one_transaction(writes)
                self._table.transact(writes)
                moved += len(batch)
        if moved:
            with driver_errors():
                self._table.client.delete_item(
                    TableName=self._table.name, Key=keys.lineage_key(account_sid, to_sid, from_sid)
                )
        return moved

    def _move(self, account_sid: str, from_sid: str, to_sid: str, child: Child, now: str) -> list[dict[str, Any]]:
        """The writes that move one child's edge from `from_sid` to `to_sid`."""
        if child.moving:  # an earlier roll's move still pending: it moves as it is
            edge = moving_edge(account_sid, to_sid, child.sid, child.secret_digest)
            return [edge_delete(account_sid, from_sid, child.sid), {"Put": {"Item": edge}}]
        return [
            edge_delete(account_sid, from_sid, child.sid),
            {"Put": {"Item": lineage_edge(account_sid, to_sid, child.sid, child.secret_digest, child.lookup_copies)}},
            parent_update(account_sid, child.sid, to_sid),
            self._table.event(parent_moved_event(account_sid, child.sid, from_sid, to_sid, now)),
        ]

    def end_grace(self, account_sid: str, item: Item, now: str, *, keep_successor: bool) -> None:
        """What a user's delete or deactivation of a rolled token does first: its children finish
        moving to its successor. A successor that is its child (it rolled itself) is revoked
        with it unless `keep_successor`; kept, it is given the old token's parent instead
        (changes.kept_successor_parent). So a kept successor and the children outlive the old
        token, and whoever could revoke the old token's parent still reaches them."""
        old_sid, new_sid = item["sid"]["S"], item["rolledTo"]["S"]
        self.move_children(account_sid, old_sid, new_sid, now)
        if not keep_successor:
            return
        with driver_errors():
            edge = self._table.client.get_item(
                TableName=self._table.name, Key=keys.lineage_key(account_sid, old_sid, new_sid), ConsistentRead=True
            ).get("Item")
        if edge is None:
            return
        grandparent = optional_string(item, "parentSid")
        chain = [] if grandparent is None else self.ancestor_chain(account_sid, grandparent)
        grandparent = kept_successor_parent(new_sid, chain)
        if grandparent is None:
            chain = []
        writes: list[dict[str, Any]] = [
            edge_delete(account_sid, old_sid, new_sid),
            parent_update(account_sid, new_sid, grandparent),
            self._table.event(parent_moved_event(account_sid, new_sid, old_sid, grandparent, now)),
        ]
        if grandparent is not None:
            writes += [
                {"Put": {"Item": {**keys.lineage_key(account_sid, grandparent, new_sid), **edge_attributes(edge)}}},
                children_mark(account_sid, grandparent),
            ]
        parents_unchanged(account_sid, chain, writes)
        fits_one_transaction(writes)
        self._table.transact(writes)
