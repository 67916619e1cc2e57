"""What a token does to its descendants (docs/api.md, "Lineage"): the children it created, the
resumable cascade that deactivates them with it, revocation of a leaked token, roll with its
grace period and the move of the old token's children to the new one, the end of grace, and
the release of rolled tokens' slots.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from apitokens.domain import audit
from apitokens.domain.errors import ConcurrentModification, DomainError, Forbidden, TokenStateConflict
from apitokens.domain.records import LEAKED, PARENT_REVOKED, Child, Credential, TokenRecord
from apitokens.store import keys
from apitokens.store.base import TokenStore
from apitokens.store.driver import driver_errors, old_item
from apitokens.store.items import (
    EXPIRY_KEYS,
    Item,
    children_mark,
    copy_updates,
    count_increment,
    created_event,
    deactivation,
    limit_reached,
    lookup_copies_of,
    new_token_writes,
    optional_string,
    parents_unchanged,
    record_from_item,
    string_value,
)

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


def moving_edge(account_sid: str, parent_sid: str, predecessor_sid: str, predecessor_digest: str) -> dict[str, Any]:
    """A roll's pending move: under the new token's children, the old token, flagged so that a
    cascade walks the old token's children without revoking the old token itself."""
    return {
        **keys.lineage_key(account_sid, parent_sid, predecessor_sid),
        "type": {"S": "lineage"},
        "childSid": {"S": predecessor_sid},
        "childDigest": {"S": predecessor_digest},
        "movingFrom": {"BOOL": True},
    }


def edge_attributes(edge: Item) -> dict[str, Any]:
    """A lineage edge's own attributes, to re-home it: with its lookup-copy count, without which
    a cascade would deactivate only the child's first copy."""
    return {name: edge[name] for name in ("type", "childSid", "childDigest", "childCopies") if name in edge}


def cascade_event(account_sid: str, token_sid: str, parent_sid: str, now: str) -> dict[str, Any]:
    changes = {
        "isActive": audit.change(True, False),
        "revokedReason": audit.change(None, PARENT_REVOKED),
        "revokedWithParent": audit.change(None, parent_sid),
    }
    return audit.event_document(audit.REVOKED_BY_CASCADE, account_sid, token_sid, now, changes)


def fits_one_transaction(writes: list[dict[str, Any]]) -> None:
    """Refuses a change whose lineage checks (one per ancestor) do not fit one transaction."""
    if len(writes) > TRANSACTION_ITEMS:
        raise TokenStateConflict(
            "This token's lineage is too deep to check in one transaction; a user can roll or delete it."
        )


class LineageOperations(TokenStore):
    """A token's descendants: children, cascade, leaks, roll and its grace period."""

    # -- lineage: cascading revocation, leaks, rolls ------------------------------------------

    def ancestor_chain(self, account_sid: str, token_sid: str) -> list[tuple[str, str | None]]:
        """`token_sid` and each of its ancestors up to its root, each with its parentSid as read
        now (one consistent GetItem each): a token with no parent, or whose parent was deleted, is
        a root. Empty when `token_sid` does not exist. Stops at a sid seen already, so a cycle
        cannot make it loop. What a write that moves a token checks (parents_unchanged)."""
        chain: list[tuple[str, str | None]] = []
        current: str | None = token_sid
        while current is not None and all(sid != current for sid, _ in chain):
            with driver_errors():
                item = self._client.get_item(
                    TableName=self._table,
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
            "TableName": self._table,
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
                response = self._client.query(**request)
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
        TransactWriteItems as fit: each its token item, every lookup copy and its event) with revokedReason
        "parent_revoked", keeping an earlier reason. Idempotent: run again after a failure, it
        rewrites the same values and reaches the rest. Returns how many descendants it wrote."""
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
                # A roll's predecessor whose children are not all moved yet: its children are
                # this token's, the predecessor itself is not (it is walked, not revoked).
                frontier.extend(child.sid for child in page if child.moving)
                fresh = [child for child in page if not child.moving and child.sid not in seen]
                seen.update(child.sid for child in fresh)
                for batch in cascade_batches(fresh):
                    # Only the active ones change (and get an event): a child already inactive
                    # (deactivated before, or by an earlier run of this cascade) is left alone,
                    # so a resumed cascade writes no second event.
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
                        writes.append(self._event(cascade_event(account_sid, child.sid, parent_sid, now)))
                    if writes:
                        self._transact(writes)
                    written += len(active)
                frontier.extend(child.sid for child in fresh)
        return written

    def _active_sids(self, account_sid: str, token_sids: list[str]) -> set[str]:
        """Which of these tokens are active: one BatchGetItem (a cascade batch: at most 33 keys)."""
        request: dict[str, Any] = {
            self._table: {
                "Keys": [keys.token_key(account_sid, sid) for sid in token_sids],
                "ProjectionExpression": "sid, isActive",
                "ConsistentRead": True,
            }
        }
        active: set[str] = set()
        while request:
            with driver_errors():
                response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                if item["isActive"]["BOOL"]:
                    active.add(item["sid"]["S"])
            request = dict(response.get("UnprocessedKeys") or {})
        return active

    def revoke_leaked(self, secret_digest: str, now: str, source: str, url: str) -> Credential | None:
        """Deactivates the token with this digest as leaked (whatever its state: leaked beats
        any other reason) and records where it was found, then its descendants. None when no
        token has this digest. A token already revoked as leaked is not written again (the
        write's condition), so a repeated report adds no event: anyone who has seen a public
        token cannot flood its account's audit trail and alerts. Its cascade still runs, which
        finishes one an earlier report left unfinished and otherwise writes nothing."""
        credential = self.find_credential(secret_digest)
        if credential is None:
            return None
        account_sid, token_sid = credential.account_sid, credential.token_sid
        writes = deactivation(account_sid, token_sid, secret_digest, LEAKED, now, copies=credential.lookup_copies)
        update = writes[0]["Update"]
        update["UpdateExpression"] = (
            "SET isActive = :false, revokedReason = :reason, revokedAt = if_not_exists(revokedAt, :now), "
            "leakSource = if_not_exists(leakSource, :source), leakUrl = if_not_exists(leakUrl, :url)"
        )
        update["ConditionExpression"] += " AND (attribute_not_exists(revokedReason) OR revokedReason <> :reason)"
        update["ExpressionAttributeValues"].update({":source": {"S": source}, ":url": {"S": url}})
        changes = {
            "isActive": audit.change(credential.is_active, False),
            "leakSource": audit.change(None, source),
            "leakUrl": audit.change(None, url),
        }
        document = audit.event_document(audit.LEAKED, account_sid, token_sid, now, changes)
        try:
            self._transact([*writes, self._event(document)])
        except ConcurrentModification as error:
            revoked = old_item(error.__cause__ or error, 0)
            if revoked is None or optional_string(revoked, "revokedReason") != LEAKED:
                raise
        self.revoke_descendants(account_sid, token_sid, now)
        return credential

    def roll(
        self,
        account_sid: str,
        token_sid: str,
        successor: Callable[[TokenRecord], TokenRecord],
        secret_digest: str,
        *,
        grace_end: str,
        max_tokens: int,
        now: str,
    ) -> tuple[TokenRecord, TokenRecord]:
        """Replaces a token by a new one in one transaction: the new token's items (and its lineage
        edge), the old token's expiresAt lowered to `grace_end` on both its items, and the
        account's count. With no grace (the old token stops now) the new token takes the old one's
        slot; with a grace period it takes one more (limit-checked), and a ROLLED# item gives the
        old one's back when its grace ends (release_rolled_slots). `successor` builds the new
        token from the old as read, or refuses by raising. Returns (old, new).

        An old token with children: the new one gets a `movingFrom` edge to it in the same
        transaction, so a revocation of the new token reaches the old one's children from the
        moment the roll commits, moved (move_children) or not yet. A repeated roll of the old
        token finishes a move left unfinished, then answers 409."""
        item = self._get_item(account_sid, token_sid, projection=False)
        current = record_from_item(item)
        if "rolledTo" in item:
            self.move_children(account_sid, token_sid, item["rolledTo"]["S"], now)
            raise TokenStateConflict("This token was already rolled; roll the token that replaced it.")
        record = successor(current)
        chain: list[tuple[str, str | None]] = []
        if record.parent_sid is not None and record.parent_sid != token_sid:
            # The new token hangs from the rolling token and the old one's children move under
            # it: rolling an ancestor would put the roller below itself, a cycle no revocation
            # reaches. The roller's ancestors, checked here, must be the same at the write.
            chain = self.ancestor_chain(account_sid, record.parent_sid)
            if any(sid == token_sid for sid, _ in chain):
                raise Forbidden("A token cannot roll one of its ancestors.")
        old_expires = grace_end if current.expires_at is None else min(current.expires_at, grace_end)
        released = old_expires <= record.created_at
        assignments = ["expiresAt = :expires", "rolledTo = :new"]
        values: dict[str, Any] = {
            ":expires": {"S": old_expires},
            ":new": {"S": record.sid},
            ":digest": {"S": item["secretDigest"]["S"]},
            ":true": {"BOOL": True},
        }
        assignments.append("slotReleased = :true" if released else "slotReleaseAt = :expires")
        rolled_changes = {
            "expiresAt": audit.change(current.expires_at, old_expires),
            "rolledTo": audit.change(None, record.sid),
        }
        events = [
            self._event(audit.event_document(audit.ROLLED, account_sid, token_sid, record.created_at, rolled_changes)),
            self._event(created_event(record, rolledFrom=token_sid)),
        ]
        writes = new_token_writes(record, secret_digest, self.lookup_copies)
        if "hasChildren" in item:
            writes[0]["Put"]["Item"]["hasChildren"] = {"BOOL": True}
            moving = moving_edge(account_sid, record.sid, token_sid, item["secretDigest"]["S"])
            writes.append({"Put": {"Item": moving}})
        if record.parent_sid == token_sid:
            # A token rolling itself: its successor is its child; one write per item.
            writes = [write for write in writes if "Update" not in write]
            assignments.append("hasChildren = :true")
        old_digest = item["secretDigest"]["S"]
        writes = [
            {
                "Update": {
                    "Key": keys.token_key(account_sid, token_sid),
                    # A replaced token leaves the expiry index: its successor carries the warnings.
                    "UpdateExpression": "SET " + ", ".join(assignments) + f" REMOVE {EXPIRY_KEYS}",
                    "ConditionExpression": "attribute_exists(PK) AND secretDigest = :digest AND isActive = :true "
                    "AND attribute_not_exists(rolledTo)",
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *copy_updates(
                old_digest,
                lookup_copies_of(item, "lookupCopies"),
                "SET expiresAt = :expires",
                {":expires": {"S": old_expires}},
            ),
            *writes,
            *events,
        ]
        parents_unchanged(account_sid, chain, writes)
        failed_at: dict[int, DomainError] = {}
        if not released:
            failed_at[len(writes)] = limit_reached(max_tokens)
            writes += [
                count_increment(account_sid, max_tokens),
                {
                    "Put": {
                        "Item": {
                            **keys.rolled_key(account_sid, old_expires, token_sid),
                            "type": {"S": "rolled"},
                            "tokenSid": {"S": token_sid},
                        }
                    }
                },
            ]
        fits_one_transaction(writes)
        self._transact(
            writes,
            first_failed=TokenStateConflict("This token is no longer active or was already rolled."),
            failed_at=failed_at,
        )
        return replace(current, expires_at=old_expires, rolled_to=record.sid), record

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int:
        """Moves the lineage edges of `from_sid` (but the one to `to_sid`) to `to_sid`, and each
        child's parentSid with it, and its token.updated event (parentSid from, to) in the same
        transaction: MOVE_BATCH children per transaction (fewer when `to_sid` has so many ancestors
        that their checks would not fit); then drops the roll's `movingFrom` edge from `to_sid`.
        A child that is `to_sid` or one of its ancestors stays where it is: moving it would make a
        cycle. Each transaction requires `to_sid`'s ancestors to be those read. Resumable: run
        again, it moves what is left. Returns how many moved."""
        moved = 0
        moved_parent = {"parentSid": audit.change(from_sid, to_sid)}
        chain = self.ancestor_chain(account_sid, to_sid)
        # Four writes a child, the new parent's mark and a check per other ancestor.
        batch_size = max(1, min(MOVE_BATCH, (TRANSACTION_ITEMS - len(chain)) // 4))
        for page in self.children(account_sid, from_sid):
            children = [child for child in page if all(child.sid != sid for sid, _ in chain)]
            for start in range(0, len(children), batch_size):
                writes: list[dict[str, Any]] = [children_mark(account_sid, to_sid)]
                for child in children[start : start + batch_size]:
                    writes.append(
                        {
                            "Delete": {
                                "Key": keys.lineage_key(account_sid, from_sid, child.sid),
                                "ConditionExpression": "attribute_exists(PK)",
                            }
                        }
                    )
                    if child.moving:  # an earlier roll's move still pending: it moves as it is
                        edge = moving_edge(account_sid, to_sid, child.sid, child.secret_digest)
                        writes.append({"Put": {"Item": edge}})
                        continue
                    writes += [
                        {
                            "Put": {
                                "Item": {
                                    **keys.lineage_key(account_sid, to_sid, child.sid),
                                    "type": {"S": "lineage"},
                                    "childSid": {"S": child.sid},
                                    "childDigest": {"S": child.secret_digest},
                                    "childCopies": {"N": str(child.lookup_copies)},
                                }
                            }
                        },
                        {
                            "Update": {
                                "Key": keys.token_key(account_sid, child.sid),
                                "UpdateExpression": "SET parentSid = :parent",
                                "ConditionExpression": "attribute_exists(PK)",
                                "ExpressionAttributeValues": {":parent": {"S": to_sid}},
                            }
                        },
                        self._event(audit.event_document(audit.UPDATED, account_sid, child.sid, now, moved_parent)),
                    ]
                parents_unchanged(account_sid, chain, writes)
                fits_one_transaction(writes)
                self._transact(writes)
                moved += len(children[start : start + batch_size])
        if moved:
            with driver_errors():
                self._client.delete_item(TableName=self._table, Key=keys.lineage_key(account_sid, to_sid, from_sid))
        return moved

    def end_grace(self, account_sid: str, item: Item, now: str, *, keep_successor: bool) -> None:
        """What a user's delete or deactivation of a rolled token does first: its children finish
        moving to its successor. A successor that is its child (it rolled itself) is revoked
        with it unless `keep_successor`; kept, it is given the old token's parent instead. So a
        kept successor and the children outlive the old token, and whoever could revoke the old
        token's parent still reaches them."""
        old_sid, new_sid = item["sid"]["S"], item["rolledTo"]["S"]
        self.move_children(account_sid, old_sid, new_sid, now)
        if not keep_successor:
            return
        with driver_errors():
            edge = self._client.get_item(
                TableName=self._table, Key=keys.lineage_key(account_sid, old_sid, new_sid), ConsistentRead=True
            ).get("Item")
        if edge is None:
            return
        grandparent = optional_string(item, "parentSid")
        # A deleted grandparent (no chain) can cascade nothing any more: the successor is a root.
        chain = [] if grandparent is None else self.ancestor_chain(account_sid, grandparent)
        if not chain or any(sid == new_sid for sid, _ in chain):
            grandparent, chain = None, []
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": keys.lineage_key(account_sid, old_sid, new_sid),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
            {
                "Update": {
                    "Key": keys.token_key(account_sid, new_sid),
                    "UpdateExpression": "SET parentSid = :parent",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":parent": string_value(grandparent)},
                }
            },
            self._event(
                audit.event_document(
                    audit.UPDATED, account_sid, new_sid, now, {"parentSid": audit.change(old_sid, grandparent)}
                )
            ),
        ]
        if grandparent is not None:
            writes += [
                {"Put": {"Item": {**keys.lineage_key(account_sid, grandparent, new_sid), **edge_attributes(edge)}}},
                children_mark(account_sid, grandparent),
            ]
        parents_unchanged(account_sid, chain, writes)
        fits_one_transaction(writes)
        self._transact(writes)

    def release_rolled_slots(self, account_sid: str, now: str) -> int:
        """Gives back the per-account slots of rolled tokens whose grace period has ended: one
        Query by key (`ROLLED#` items sort by release time) and a transaction each. Returns how
        many slots it released."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :now",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.account_pk(account_sid)},
                ":first": {"S": keys.ROLLED_SK_PREFIX},
                ":now": {"S": keys.ROLLED_SK_PREFIX + now},
            },
            "ConsistentRead": True,
        }
        with driver_errors():
            items = self._client.query(**request).get("Items", [])
        released = 0
        for item in items:
            token_sid = item["tokenSid"]["S"]
            try:
                self._transact(
                    [
                        {
                            "Update": {
                                "Key": keys.token_key(account_sid, token_sid),
                                "UpdateExpression": "SET slotReleased = :true REMOVE slotReleaseAt",
                                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(slotReleased)",
                                "ExpressionAttributeValues": {":true": {"BOOL": True}},
                            }
                        },
                        {
                            "Delete": {
                                "Key": {"PK": item["PK"], "SK": item["SK"]},
                                "ConditionExpression": "attribute_exists(PK)",
                            }
                        },
                        {
                            "Update": {
                                "Key": keys.account_meta_key(account_sid),
                                "UpdateExpression": "ADD tokenCount :minus_one",
                                "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                            }
                        },
                    ]
                )
            except ConcurrentModification:
                continue  # released or deleted by a concurrent request: its slot is back already
            released += 1
        return released
