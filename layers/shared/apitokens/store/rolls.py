"""Roll (docs/api.md, "Roll (rotate) a token"): a token replaced by a new one in one transaction, with its grace
period, and the release of rolled tokens' slots when their grace ends. What a roll means (the
old token's expiry, whether its slot goes back now, the events) is the domain's plan
(domain/changes.plan_roll); this writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from apitokens.domain.changes import AncestorChain, RollPlan, check_roll_lineage, plan_roll
from apitokens.domain.errors import ConcurrentModification, DomainError, TokenStateConflict, limit_reached
from apitokens.domain.records import TokenRecord
from apitokens.store import keys
from apitokens.store.driver import driver_errors
from apitokens.store.items import (
    EXPIRY_KEYS,
    Item,
    copy_updates,
    count_decrement,
    count_increment,
    lookup_copies_of,
    moving_edge,
    new_token_writes,
    parents_unchanged,
    record_from_item,
)
from apitokens.store.lineage import Lineage, fits_one_transaction
from apitokens.store.table import Table


class Rolls:
    def __init__(self, table: Table, lineage: Lineage, lookup_copies: int = 1) -> None:
        """`lookup_copies`: the copies written for the new token."""
        self._table = table
        self._lineage = lineage
        self._lookup_copies = lookup_copies

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
        edge), the old token's expiresAt lowered to the plan's on both its items, and the
        account's count. With no grace (the old token stops now) the new token takes the old one's
        slot; with a grace period it takes one more (limit-checked), and a ROLLED# item gives the
        old one's back when its grace ends (release_rolled_slots). `successor` builds the new
        token from the old as read, or refuses by raising. Returns (old, new).

        An old token with children: the new one gets a `movingFrom` edge to it in the same
        transaction, so a revocation of the new token reaches the old one's children from the
        moment the roll commits, moved (move_children) or not yet. A repeated roll of the old
        token finishes a move left unfinished, then answers 409."""
        item = self._table.token_item(account_sid, token_sid, projection=False)
        current = record_from_item(item)
        if "rolledTo" in item:
            self._lineage.move_children(account_sid, token_sid, item["rolledTo"]["S"], now)
            raise TokenStateConflict("This token was already rolled; roll the token that replaced it.")
        record = successor(current)
        chain: AncestorChain = []
        if record.parent_sid is not None and record.parent_sid != token_sid:
            # The roller's ancestors, checked here, must be the same at the write.
            chain = self._lineage.ancestor_chain(account_sid, record.parent_sid)
            check_roll_lineage(token_sid, chain)
        plan = plan_roll(current, record, grace_end)
        writes = [
            self._old_token_update(item, record, plan),
            *copy_updates(
                item["secretDigest"]["S"],
                lookup_copies_of(item, "lookupCopies"),
                "SET expiresAt = :expires",
                {":expires": {"S": plan.old_expires}},
            ),
            *self._new_token_writes(item, record, secret_digest),
            *(self._table.event(document) for document in plan.events),
        ]
        parents_unchanged(account_sid, chain, writes)
        failed_at: dict[int, DomainError] = {}
        if not plan.slot_released:
            failed_at[len(writes)] = limit_reached(max_tokens)
            writes += [
                count_increment(account_sid, max_tokens),
                {
                    "Put": {
                        "Item": {
                            **keys.rolled_key(account_sid, plan.old_expires, token_sid),
                            "type": {"S": "rolled"},
                            "tokenSid": {"S": token_sid},
                        }
                    }
                },
            ]
        fits_one_transaction(writes)
        self._table.transact(
            writes,
            first_failed=TokenStateConflict("This token is no longer active or was already rolled."),
            failed_at=failed_at,
        )
        return replace(current, expires_at=plan.old_expires, rolled_to=record.sid), record

    def _new_token_writes(self, item: Item, record: TokenRecord, secret_digest: str) -> list[dict[str, Any]]:
        """The new token's items; with the old token's children, the roll's pending move."""
        account_sid, token_sid = record.account_sid, item["sid"]["S"]
        writes = new_token_writes(record, secret_digest, self._lookup_copies)
        if "hasChildren" in item:
            writes[0]["Put"]["Item"]["hasChildren"] = {"BOOL": True}
            moving = moving_edge(account_sid, record.sid, token_sid, item["secretDigest"]["S"])
            writes.append({"Put": {"Item": moving}})
        if record.parent_sid == token_sid:
            # A token rolling itself: its successor is its child; the old token's own update
            # marks it (one write per item).
            writes = [write for write in writes if "Update" not in write]
        return writes

    def _old_token_update(self, item: Item, record: TokenRecord, plan: RollPlan) -> dict[str, Any]:
        """The old token's item: its new expiry, its successor, its slot (released now, or when),
        out of the expiry index; conditional on it being active, unrolled and the one read."""
        token_sid = item["sid"]["S"]
        assignments = ["expiresAt = :expires", "rolledTo = :new"]
        assignments.append("slotReleased = :true" if plan.slot_released else "slotReleaseAt = :expires")
        if record.parent_sid == token_sid:
            assignments.append("hasChildren = :true")
        return {
            "Update": {
                "Key": keys.token_key(record.account_sid, token_sid),
                # A replaced token leaves the expiry index: its successor carries the warnings.
                "UpdateExpression": "SET " + ", ".join(assignments) + f" REMOVE {EXPIRY_KEYS}",
                "ConditionExpression": "attribute_exists(PK) AND secretDigest = :digest AND isActive = :true "
                "AND attribute_not_exists(rolledTo)",
                "ExpressionAttributeValues": {
                    ":expires": {"S": plan.old_expires},
                    ":new": {"S": record.sid},
                    ":digest": {"S": item["secretDigest"]["S"]},
                    ":true": {"BOOL": True},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def release_rolled_slots(self, account_sid: str, now: str) -> int:
        """Gives back the per-account slots of rolled tokens whose grace period has ended: one
        Query by key (`ROLLED#` items sort by release time) and a transaction each. Returns how
        many slots it released."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :now",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.account_pk(account_sid)},
                ":first": {"S": keys.ROLLED_SK_PREFIX},
                ":now": {"S": keys.ROLLED_SK_PREFIX + now},
            },
            "ConsistentRead": True,
        }
        with driver_errors():
            items = self._table.client.query(**request).get("Items", [])
        released = 0
        for item in items:
            try:
                self._table.transact(
                    [
                        {
                            "Update": {
                                "Key": keys.token_key(account_sid, item["tokenSid"]["S"]),
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
                        count_decrement(account_sid),
                    ]
                )
            except ConcurrentModification:
                continue  # released or deleted by a concurrent request: its slot is back already
            released += 1
        return released
