"""The token repository: the only code that talks to DynamoDB (with store/base.py, lineage.py,
items.py and driver.py, which it is built from).

TokenRepository is a token's own lifecycle (create, read, list, update, delete, the
authorizer's once-a-minute touch and the usage it records) on top of LineageOperations (what a
token does to its descendants) and TokenStore (the table, its transaction, the shared reads).
No Scan: every access pattern is a key condition (docs/data-model.md, "Access patterns").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from apitokens.domain import audit
from apitokens.domain.records import LEAKED, REVOKED, Credential, RecentClient, TokenPage, TokenRecord, Usage
from apitokens.store import keys
from apitokens.store.driver import driver_errors
from apitokens.store.items import (
    PROJECTION,
    PROJECTION_NAMES,
    clients_of,
    clients_value,
    copy_updates,
    count_increment,
    created_event,
    creator_refused,
    deactivation,
    limit_reached,
    lookup_copies_of,
    new_token_writes,
    not_found,
    optional_string,
    record_from_item,
    string_value,
)
from apitokens.store.lineage import LineageOperations


class TokenRepository(LineageOperations):
    """A token's own lifecycle; what it does to descendants is inherited (LineageOperations)."""

    def touch_last_used(
        self,
        credential: Credential,
        secret_digest: str,
        now: str,
        cutoff: str,
        *,
        recent_clients: tuple[RecentClient, ...] | None = None,
        new_ip_event: Mapping[str, Any] | None = None,
    ) -> None:
        """Sets lastUsedAt (and recentClients, when given) on every lookup copy and the token item
        unless lastUsedAt is newer than `cutoff` (copy 0's condition: at most once per interval
        across all authorizer instances), with the audit event of a first use from a new IP, in
        one transaction: every copy keeps the same recent clients. Never recreates a deleted
        token: every update requires its item to exist. Raises ConcurrentModification when a
        condition fails."""
        expression = "SET lastUsedAt = :now"
        values: dict[str, Any] = {":now": {"S": now}}
        if recent_clients is not None:
            expression += ", recentClients = :clients"
            values[":clients"] = clients_value(recent_clients)
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.secret_copy_key(secret_digest, 0),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(PK) AND "
                    "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)",
                    "ExpressionAttributeValues": {**values, ":cutoff": {"S": cutoff}},
                }
            },
            *copy_updates(secret_digest, credential.lookup_copies, expression, values, first=1),
            {
                "Update": {
                    "Key": keys.token_key(credential.account_sid, credential.token_sid),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": values,
                }
            },
        ]
        if new_ip_event is not None:
            writes.append(self._event(new_ip_event))
        self._transact(writes)

    def usage(self, account_sid: str, token_sid: str) -> Usage:
        with driver_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=keys.token_key(account_sid, token_sid),
                ConsistentRead=True,
                ProjectionExpression="lastUsedAt, recentClients",
            )
        item = response.get("Item")
        if item is None:
            raise not_found(account_sid, token_sid)
        return Usage(last_used_at=optional_string(item, "lastUsedAt"), recent_clients=clients_of(item))

    # -- token operations ----------------------------------------------------------------------

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        """Writes the token, its lookup item, its lineage edge (created by a token) and the
        account's count in one transaction; the count's condition enforces the per-account limit
        exactly, even under concurrency. A creating token that is no longer active, was rolled
        or would not outlive the new token (creator_guard) is a Forbidden."""
        writes = [
            count_increment(record.account_sid, max_tokens),
            *new_token_writes(record, secret_digest, self.lookup_copies),
            self._event(created_event(record)),
        ]
        self._transact(
            writes,
            first_failed=limit_reached(max_tokens),
            # The creator guard is the last write before the event.
            failed_at={len(writes) - 2: creator_refused()} if record.parent_sid is not None else None,
        )

    def get(self, account_sid: str, token_sid: str) -> TokenRecord:
        return record_from_item(self._get_item(account_sid, token_sid, projection=True))

    def list_page(self, account_sid: str, limit: int, starting_after: str | None) -> TokenPage:
        """Newest first. `starting_after` is a position, so a sid deleted since the previous page
        still continues the listing where it left off."""
        request: dict[str, Any] = {
            "TableName": self._table,
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
            response = self._client.query(**request)
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
        item = self._get_item(account_sid, token_sid, projection=False)
        current = record_from_item(item)
        if check is not None:
            check(current)
        if end_grace and not is_active and "rolledTo" in item:
            self.end_grace(account_sid, item, now, keep_successor=keep_successor)
        secret_digest = item["secretDigest"]["S"]
        has_children = "hasChildren" in item
        assignments = ["#name = :name", "isActive = :active"]
        removals: list[str] = []
        values: dict[str, Any] = {
            ":name": {"S": name},
            ":active": {"BOOL": is_active},
            ":digest": {"S": secret_digest},
        }
        condition = "attribute_exists(PK) AND secretDigest = :digest"
        if not has_children:
            # A child created since the read would escape the cascade: refuse, and a retry sees it.
            condition += " AND attribute_not_exists(hasChildren)"
        if is_active:
            removals += ["revokedReason", "revokedAt"]
            condition += " AND (attribute_not_exists(revokedReason) OR revokedReason <> :leaked)"
            values[":leaked"] = {"S": LEAKED}
        else:
            assignments += [
                "revokedReason = if_not_exists(revokedReason, :reason)",
                "revokedAt = if_not_exists(revokedAt, :now)",
            ]
            values[":reason"] = {"S": REVOKED}
            values[":now"] = {"S": now}
        if replace_description:
            assignments.append("description = :description")
            values[":description"] = string_value(description)
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        changes = {
            field: audit.change(before, after)
            for field, before, after in (
                ("name", current.name, name),
                ("description", current.description, description if replace_description else current.description),
                ("isActive", current.is_active, is_active),
            )
            if before != after
        }
        if current.is_active != is_active:
            reason = None if is_active else (current.revoked_reason or REVOKED)
            changes["revokedReason"] = audit.change(current.revoked_reason, reason)
        event_type = audit.UPDATED
        if current.is_active != is_active:
            event_type = audit.REACTIVATED if is_active else audit.DEACTIVATED
        # A PUT that changes nothing is no change: no event.
        document = audit.event_document(event_type, account_sid, token_sid, now, changes)
        events = [self._event(document)] if changes else []
        self._transact(
            [
                {
                    "Update": {
                        "Key": keys.token_key(account_sid, token_sid),
                        "UpdateExpression": expression,
                        # The same token, not one deleted and re-created meanwhile.
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#name": "name"},
                        "ExpressionAttributeValues": values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                *copy_updates(
                    secret_digest,
                    lookup_copies_of(item, "lookupCopies"),
                    "SET isActive = :active",
                    {":active": {"BOOL": is_active}},
                ),
                *events,
            ],
            first_failed=not_found(account_sid, token_sid),
        )
        revoked_now = current.is_active and not is_active
        updated = replace(
            current,
            name=name,
            is_active=is_active,
            description=description if replace_description else current.description,
            revoked_reason=None if is_active else (current.revoked_reason or REVOKED),
            revoked_at=None if is_active else (current.revoked_at or (now if revoked_now else current.revoked_at)),
        )
        return updated, has_children

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
        is its child is taken out of its lineage (end_grace), so they are not revoked with it."""
        item = self._get_item(account_sid, token_sid, projection=False)
        if check is not None:
            check(record_from_item(item))
        if end_grace and "rolledTo" in item:
            self.end_grace(account_sid, item, now, keep_successor=keep_successor)
        secret_digest = item["secretDigest"]["S"]
        copies = lookup_copies_of(item, "lookupCopies")
        if "hasChildren" in item:
            if item["isActive"]["BOOL"]:
                changes = {"isActive": audit.change(True, False), "revokedReason": audit.change(None, REVOKED)}
                self._transact(
                    [
                        *deactivation(account_sid, token_sid, secret_digest, REVOKED, now, copies=copies),
                        self._event(audit.event_document(audit.DEACTIVATED, account_sid, token_sid, now, changes)),
                    ],
                    first_failed=not_found(account_sid, token_sid),
                )
            self.revoke_descendants(account_sid, token_sid, now)
        parent_sid = optional_string(item, "parentSid")
        condition = "attribute_exists(PK) AND secretDigest = :digest"
        if "hasChildren" not in item:
            condition += " AND attribute_not_exists(hasChildren)"
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": keys.token_key(account_sid, token_sid),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":digest": {"S": secret_digest}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *({"Delete": {"Key": key}} for key in keys.secret_copy_keys(secret_digest, copies)),
            self._event(audit.event_document(audit.DELETED, account_sid, token_sid, now)),
        ]
        if "slotReleased" not in item:
            writes.append(
                {
                    "Update": {
                        "Key": keys.account_meta_key(account_sid),
                        "UpdateExpression": "ADD tokenCount :minus_one",
                        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                    }
                }
            )
        if parent_sid is not None:
            writes.append({"Delete": {"Key": keys.lineage_key(account_sid, parent_sid, token_sid)}})
        release_at = optional_string(item, "slotReleaseAt")
        if release_at is not None and "slotReleased" not in item:
            writes.append({"Delete": {"Key": keys.rolled_key(account_sid, release_at, token_sid)}})
        self._transact(writes, first_failed=not_found(account_sid, token_sid))
