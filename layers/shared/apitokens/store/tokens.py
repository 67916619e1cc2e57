"""A token's own lifecycle on the table: create, read, list, update, delete, and the usage the
authorizer records. What an update means (the revokedReason that wins, the event and what it
records) is the domain's plan (domain/changes.plan_update); this writes it in one transaction.
No Scan: every access pattern is a key condition (docs/data-model.md, "Access patterns").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apitokens.domain.changes import UpdatePlan, created_event, deactivated_event, deleted_event, plan_update
from apitokens.domain.commands import UpdateToken
from apitokens.domain.errors import creator_refused, limit_reached, not_found
from apitokens.domain.records import LEAKED, REVOKED, TokenPage, TokenRecord, Usage
from apitokens.store import keys
from apitokens.store.driver import driver_errors
from apitokens.store.items import (
    PROJECTION,
    PROJECTION_NAMES,
    Item,
    clients_of,
    copy_updates,
    count_decrement,
    count_increment,
    deactivation,
    lookup_copies_of,
    new_token_writes,
    optional_string,
    record_from_item,
    string_value,
)
from apitokens.store.lineage import Lineage
from apitokens.store.table import Table


class Tokens:
    def __init__(self, table: Table, lineage: Lineage, lookup_copies: int = 1) -> None:
        """`lookup_copies`: the copies written for a new token."""
        self._table = table
        self._lineage = lineage
        self._lookup_copies = lookup_copies

    def usage(self, account_sid: str, token_sid: str) -> Usage:
        with driver_errors():
            response = self._table.client.get_item(
                TableName=self._table.name,
                Key=keys.token_key(account_sid, token_sid),
                ConsistentRead=True,
                ProjectionExpression="lastUsedAt, recentClients",
            )
        item = response.get("Item")
        if item is None:
            raise not_found(account_sid, token_sid)
        return Usage(last_used_at=optional_string(item, "lastUsedAt"), recent_clients=clients_of(item))

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        """Writes the token, its lookup item, its lineage edge (created by a token) and the
        account's count in one transaction; the count's condition enforces the per-account limit
        exactly, even under concurrency. A creating token that is no longer active, was rolled
        or would not outlive the new token (items.creator_guard) is a Forbidden."""
        writes = [
            count_increment(record.account_sid, max_tokens),
            *new_token_writes(record, secret_digest, self._lookup_copies),
            self._table.event(created_event(record)),
        ]
        self._table.transact(
            writes,
            first_failed=limit_reached(max_tokens),
            # The creator guard is the last write before the event.
            failed_at={len(writes) - 2: creator_refused()} if record.parent_sid is not None else None,
        )

    def get(self, account_sid: str, token_sid: str) -> TokenRecord:
        return record_from_item(self._table.token_item(account_sid, token_sid, projection=True))

    def list_page(self, account_sid: str, limit: int, starting_after: str | None) -> TokenPage:
        """Newest first. `starting_after` is a position, so a sid deleted since the previous page
        still continues the listing where it left off."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.account_pk(account_sid)},
                ":prefix": {"S": keys.TOKEN_SK_PREFIX},
            },
            "ProjectionExpression": PROJECTION,
            "ExpressionAttributeNames": PROJECTION_NAMES,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            # One more than asked tells whether another page exists.
            "Limit": limit + 1,
        }
        if starting_after is not None:
            request["ExclusiveStartKey"] = keys.token_key(account_sid, starting_after)
        with driver_errors():
            response = self._table.client.query(**request)
        items = response.get("Items", [])
        return TokenPage(
            records=tuple(record_from_item(item) for item in items[:limit]),
            has_more=len(items) > limit,
        )

    def update(
        self,
        account_sid: str,
        token_sid: str,
        *,
        name: str,
        is_active: bool,
        description: str | None,
        replace_description: bool,
        now: str,
        check: Callable[[TokenRecord], None] | None = None,
        end_grace: bool = False,
        keep_successor: bool = False,
    ) -> tuple[TokenRecord, bool]:
        """Changes name, isActive and (when `replace_description`) description. isActive is
        written to the lookup item in the same transaction: deactivation is immediate. `check`
        sees the token as read and may refuse the change by raising. Deactivating records
        revokedReason "revoked" (unless a reason is already there); re-activating clears it, and
        never succeeds on a token revoked as leaked. Returns the token and whether it has
        children to cascade to (the caller then calls revoke_descendants). `end_grace` as for
        delete, when deactivating."""
        item = self._table.token_item(account_sid, token_sid, projection=False)
        current = record_from_item(item)
        if check is not None:
            check(current)
        if end_grace and not is_active and "rolledTo" in item:
            self._lineage.end_grace(account_sid, item, now, keep_successor=keep_successor)
        change = UpdateToken(name, is_active, description, replace_description)
        plan = plan_update(current, change, now)
        self._table.transact(
            [
                _token_update(item, change, plan, now),
                *copy_updates(
                    item["secretDigest"]["S"],
                    lookup_copies_of(item, "lookupCopies"),
                    "SET isActive = :active",
                    {":active": {"BOOL": is_active}},
                ),
                *([self._table.event(plan.event)] if plan.event is not None else []),
            ],
            first_failed=not_found(account_sid, token_sid),
        )
        return plan.record, "hasChildren" in item

    def delete(
        self,
        account_sid: str,
        token_sid: str,
        now: str,
        *,
        end_grace: bool = False,
        keep_successor: bool = False,
        check: Callable[[TokenRecord], None] | None = None,
    ) -> None:
        """Deletes the token and its lookup item together and gives the account its slot back.

        A token with children is first deactivated (so it can create no more), then its
        descendants are revoked, then it is deleted: a crash anywhere leaves the token there,
        inactive, and the same DELETE again finishes the job. `check` sees the token as read and
        may refuse the delete by raising. With `end_grace` (a user's delete), a rolled token's
        children first finish moving to its successor, and with `keep_successor` a successor that
        is its child is taken out of its lineage (Lineage.end_grace), so they are not revoked
        with it."""
        item = self._table.token_item(account_sid, token_sid, projection=False)
        if check is not None:
            check(record_from_item(item))
        if end_grace and "rolledTo" in item:
            self._lineage.end_grace(account_sid, item, now, keep_successor=keep_successor)
        if "hasChildren" in item:
            if item["isActive"]["BOOL"]:
                self._table.transact(
                    [
                        *deactivation(
                            account_sid,
                            token_sid,
                            item["secretDigest"]["S"],
                            REVOKED,
                            now,
                            copies=lookup_copies_of(item, "lookupCopies"),
                        ),
                        self._table.event(deactivated_event(account_sid, token_sid, now)),
                    ],
                    first_failed=not_found(account_sid, token_sid),
                )
            self._lineage.revoke_descendants(account_sid, token_sid, now)
        writes = [*_token_deletes(item), self._table.event(deleted_event(account_sid, token_sid, now))]
        writes += _slot_and_lineage_deletes(item)
        self._table.transact(writes, first_failed=not_found(account_sid, token_sid))


def _token_update(item: Item, change: UpdateToken, plan: UpdatePlan, now: str) -> dict[str, Any]:
    """The token item's update of `plan`: conditional on the token being the one read (the same
    secret; no child appeared since, unless it had some; never re-activating a leaked token)."""
    assignments = ["#name = :name", "isActive = :active"]
    removals: list[str] = []
    values: dict[str, Any] = {
        ":name": {"S": change.name},
        ":active": {"BOOL": change.is_active},
        ":digest": {"S": item["secretDigest"]["S"]},
    }
    condition = "attribute_exists(PK) AND secretDigest = :digest"
    if "hasChildren" not in item:
        # A child created since the read would escape the cascade: refuse, and a retry sees it.
        condition += " AND attribute_not_exists(hasChildren)"
    if change.is_active:
        removals += ["revokedReason", "revokedAt"]
        condition += " AND (attribute_not_exists(revokedReason) OR revokedReason <> :leaked)"
        values[":leaked"] = {"S": LEAKED}
    else:
        # The plan's reason, unless another was written since the read: the first reason stays.
        assignments += [
            "revokedReason = if_not_exists(revokedReason, :reason)",
            "revokedAt = if_not_exists(revokedAt, :now)",
        ]
        values[":reason"] = {"S": REVOKED}
        values[":now"] = {"S": now}
    if change.replace_description:
        assignments.append("description = :description")
        values[":description"] = string_value(change.description)
    expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
    return {
        "Update": {
            "Key": keys.token_key(plan.record.account_sid, plan.record.sid),
            "UpdateExpression": expression,
            # The same token, not one deleted and re-created meanwhile.
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _token_deletes(item: Item) -> list[dict[str, Any]]:
    """The token item (the one read, still without children unless it had some) and every
    lookup copy."""
    account_sid, token_sid, secret_digest = item["accountSid"]["S"], item["sid"]["S"], item["secretDigest"]["S"]
    condition = "attribute_exists(PK) AND secretDigest = :digest"
    if "hasChildren" not in item:
        condition += " AND attribute_not_exists(hasChildren)"
    return [
        {
            "Delete": {
                "Key": keys.token_key(account_sid, token_sid),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {":digest": {"S": secret_digest}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        *(
            {"Delete": {"Key": key}}
            for key in keys.secret_copy_keys(secret_digest, lookup_copies_of(item, "lookupCopies"))
        ),
    ]


def _slot_and_lineage_deletes(item: Item) -> list[dict[str, Any]]:
    """What else a delete gives back: the account's slot (unless a roll's grace already did, or
    will: then its ROLLED# item goes), and the edge from its parent."""
    account_sid, token_sid = item["accountSid"]["S"], item["sid"]["S"]
    writes: list[dict[str, Any]] = []
    if "slotReleased" not in item:
        writes.append(count_decrement(account_sid))
    parent_sid = optional_string(item, "parentSid")
    if parent_sid is not None:
        writes.append({"Delete": {"Key": keys.lineage_key(account_sid, parent_sid, token_sid)}})
    release_at = optional_string(item, "slotReleaseAt")
    if release_at is not None and "slotReleased" not in item:
        writes.append({"Delete": {"Key": keys.rolled_key(account_sid, release_at, token_sid)}})
    return writes
