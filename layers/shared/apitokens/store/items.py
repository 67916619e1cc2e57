"""The table's items as the store writes and reads them: builders of token, lookup-copy,
lineage-guard and count items, readers back into domain records, and the deactivation every
revocation writes. Pure data, no client (keys.py names the keys; docs/data-model.md, "Data model").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apitokens.domain.records import RecentClient, RevokedReason, TokenRecord
from apitokens.store import keys

Item = Mapping[str, Any]

# Attributes a caller may see; the secret's digest stays in the table.
PUBLIC_ATTRIBUTES = (
    "sid",
    "accountSid",
    "name",
    "description",
    "scopes",
    "expiresAt",
    "isActive",
    "createdAt",
    "lastUsedAt",
    "createdByType",
    "createdById",
    "parentSid",
    "revokedReason",
    "revokedAt",
    "rolledTo",
)
PROJECTION = ", ".join(f"#{name}" for name in PUBLIC_ATTRIBUTES)
PROJECTION_NAMES = {f"#{name}": name for name in PUBLIC_ATTRIBUTES}

EXPIRY_KEYS = f"{keys.BY_EXPIRY_PK}, {keys.BY_EXPIRY_SK}"


def string_value(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


def optional_string(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else str(value["S"])


def scopes_of(item: Item) -> tuple[str, ...]:
    return tuple(str(entry["S"]) for entry in item["scopes"]["L"])


def record_from_item(item: Item) -> TokenRecord:
    return TokenRecord(
        sid=item["sid"]["S"],
        account_sid=item["accountSid"]["S"],
        name=item["name"]["S"],
        description=optional_string(item, "description"),
        scopes=scopes_of(item),
        expires_at=optional_string(item, "expiresAt"),
        is_active=bool(item["isActive"]["BOOL"]),
        created_at=item["createdAt"]["S"],
        last_used_at=optional_string(item, "lastUsedAt"),
        created_by_type="token" if optional_string(item, "createdByType") == "token" else "user",
        created_by_id=optional_string(item, "createdById") or "",
        parent_sid=optional_string(item, "parentSid"),
        revoked_reason=revoked_reason_of(optional_string(item, "revokedReason")),
        revoked_at=optional_string(item, "revokedAt"),
        rolled_to=optional_string(item, "rolledTo"),
    )


def revoked_reason_of(value: str | None) -> RevokedReason | None:
    if value in ("revoked", "leaked", "parent_revoked"):
        return value  # type: ignore[return-value]
    return None


def token_item(record: TokenRecord, secret_digest: str, copies: int = 1) -> dict[str, Any]:
    """The token item of a new token (no revocation yet, so no revokedReason/revokedAt)."""
    return {
        **keys.token_key(record.account_sid, record.sid),
        "type": {"S": "token"},
        "sid": {"S": record.sid},
        "accountSid": {"S": record.account_sid},
        "name": {"S": record.name},
        "description": string_value(record.description),
        "scopes": {"L": [{"S": scope} for scope in record.scopes]},
        "expiresAt": string_value(record.expires_at),
        "isActive": {"BOOL": record.is_active},
        "createdAt": {"S": record.created_at},
        "lastUsedAt": string_value(record.last_used_at),
        "createdByType": {"S": record.created_by_type},
        "createdById": {"S": record.created_by_id},
        "parentSid": string_value(record.parent_sid),
        "secretDigest": {"S": secret_digest},
        "lookupCopies": {"N": str(copies)},
        # Sparse: only a token that expires is in the expiry index.
        **(keys.expiry_attributes(record.account_sid, record.sid, record.expires_at) if record.expires_at else {}),
    }


def lookup_copies_of(item: Item, name: str) -> int:
    """The copy count recorded on an item; items written before copies existed have one."""
    value = item.get(name)
    return 1 if value is None else int(value["N"])


def lookup_item(record: TokenRecord, secret_digest: str, copy: int = 0, copies: int = 1) -> dict[str, Any]:
    """Lookup copy `copy` of `copies`: every copy holds the same attributes."""
    return {
        **keys.secret_copy_key(secret_digest, copy),
        "copies": {"N": str(copies)},
        "type": {"S": "secret"},
        "accountSid": {"S": record.account_sid},
        "tokenSid": {"S": record.sid},
        "scopes": {"L": [{"S": scope} for scope in record.scopes]},
        "expiresAt": string_value(record.expires_at),
        "isActive": {"BOOL": record.is_active},
    }


def new_token_writes(record: TokenRecord, secret_digest: str, copies: int = 1) -> list[dict[str, Any]]:
    """The writes that bring a token into being: its item, its lookup copies and, when an API token
    created it, the lineage edge from that token plus the creator guard (creator_guard)."""
    writes: list[dict[str, Any]] = [
        {
            "Put": {
                "Item": token_item(record, secret_digest, copies),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        *(
            {
                "Put": {
                    "Item": lookup_item(record, secret_digest, copy, copies),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for copy in range(copies)
        ),
    ]
    if record.parent_sid is not None:
        writes += [
            {"Put": {"Item": lineage_edge(record.account_sid, record.parent_sid, record.sid, secret_digest, copies)}},
            creator_guard(record),
        ]
    return writes


def creator_guard(record: TokenRecord) -> dict[str, Any]:
    """The creating token's side of a new child, on the creator's item as it is at the write:
    it must be active and not rolled (so no child appears after the creator's revocation has read
    its children, nor under a token that was replaced), and live at least as long as the child
    (no expiry, when the child has none). The child's own expiry is in the future, so the creator
    has not expired either."""
    values: dict[str, Any] = {":true": {"BOOL": True}, ":null": {"S": "NULL"}}
    condition = "attribute_exists(PK) AND isActive = :true AND attribute_not_exists(rolledTo) AND "
    if record.expires_at is None:
        condition += "attribute_type(expiresAt, :null)"
    else:
        condition += "(attribute_type(expiresAt, :null) OR expiresAt >= :child_expires)"
        values[":child_expires"] = {"S": record.expires_at}
    return {
        "Update": {
            "Key": keys.token_key(record.account_sid, str(record.parent_sid)),
            # hasChildren tells a revocation of the parent that it must look for children.
            "UpdateExpression": "SET hasChildren = :true",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def parents_unchanged(account_sid: str, chain: list[tuple[str, str | None]], writes: list[dict[str, Any]]) -> None:
    """Adds to a transaction's `writes` the condition that every token of `chain` (sid and
    parentSid as read, from a token up to its root) still has that parent: a lineage check made
    on the read holds at the write. A token the transaction already writes gets the condition on
    that write (one operation per item); every other one gets a ConditionCheck."""
    written = {
        str(operation["Key"]["SK"]["S"]): operation
        for write in writes
        for operation in write.values()
        if "Key" in operation and operation["Key"]["PK"]["S"] == keys.account_pk(account_sid)
    }
    for sid, parent in chain:
        key = keys.token_key(account_sid, sid)
        if parent is None:
            condition, values = "attribute_type(parentSid, :null_parent)", {":null_parent": {"S": "NULL"}}
        else:
            condition, values = "parentSid = :chain_parent", {":chain_parent": {"S": parent}}
        operation = written.get(key["SK"]["S"])
        if operation is None:
            writes.append(
                {"ConditionCheck": {"Key": key, "ConditionExpression": condition, "ExpressionAttributeValues": values}}
            )
            continue
        if "ConditionExpression" in operation:
            condition = f"({operation['ConditionExpression']}) AND {condition}"
        operation["ConditionExpression"] = condition
        operation["ExpressionAttributeValues"] = {**operation.get("ExpressionAttributeValues", {}), **values}


def clients_of(item: Item) -> tuple[RecentClient, ...]:
    return tuple(
        RecentClient(
            ip=entry["M"]["ip"]["S"],
            user_agent=optional_string(entry["M"], "userAgent"),
            first_seen_at=entry["M"]["firstSeenAt"]["S"],
            last_seen_at=entry["M"]["lastSeenAt"]["S"],
        )
        for entry in item.get("recentClients", {}).get("L", [])
    )


def clients_value(clients: tuple[RecentClient, ...]) -> dict[str, Any]:
    return {
        "L": [
            {
                "M": {
                    "ip": {"S": client.ip},
                    "userAgent": string_value(client.user_agent),
                    "firstSeenAt": {"S": client.first_seen_at},
                    "lastSeenAt": {"S": client.last_seen_at},
                }
            }
            for client in clients
        ]
    }


def count_decrement(account_sid: str) -> dict[str, Any]:
    """Gives the account a slot back (a token deleted, or a rolled token's grace ended)."""
    return {
        "Update": {
            "Key": keys.account_meta_key(account_sid),
            "UpdateExpression": "ADD tokenCount :minus_one",
            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
        }
    }


def count_increment(account_sid: str, max_tokens: int) -> dict[str, Any]:
    return {
        "Update": {
            "Key": keys.account_meta_key(account_sid),
            "UpdateExpression": "SET tokenCount = if_not_exists(tokenCount, :zero) + :one",
            "ConditionExpression": "attribute_not_exists(tokenCount) OR tokenCount < :limit",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}, ":limit": {"N": str(max_tokens)}},
        }
    }


def deactivation(
    account_sid: str,
    token_sid: str,
    secret_digest: str,
    reason: RevokedReason,
    now: str,
    *,
    copies: int,
    require_active: bool = False,
) -> list[dict[str, Any]]:
    """Deactivates a token: its item (keeping an earlier reason and time) and every lookup copy
    (any of which the authorizer may read). Idempotent, unless `require_active` (then the token
    must still be active, as read before)."""
    values: dict[str, Any] = {
        ":false": {"BOOL": False},
        ":reason": {"S": reason},
        ":now": {"S": now},
        ":digest": {"S": secret_digest},
    }
    condition = "attribute_exists(PK) AND secretDigest = :digest"
    if require_active:
        condition += " AND isActive = :true"
        values[":true"] = {"BOOL": True}
    return [
        {
            "Update": {
                "Key": keys.token_key(account_sid, token_sid),
                "UpdateExpression": "SET isActive = :false, revokedReason = if_not_exists(revokedReason, :reason), "
                "revokedAt = if_not_exists(revokedAt, :now)",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        *copy_updates(secret_digest, copies, "SET isActive = :false", {":false": {"BOOL": False}}),
    ]


def children_mark(account_sid: str, token_sid: str) -> dict[str, Any]:
    """Marks an existing token as having children: what tells its revocation to look for them
    (a child moved or re-homed under it)."""
    return {
        "Update": {
            "Key": keys.token_key(account_sid, token_sid),
            "UpdateExpression": "SET hasChildren = :true",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":true": {"BOOL": True}},
        }
    }


def copy_updates(
    secret_digest: str, copies: int, expression: str, values: Mapping[str, Any], *, first: int = 0
) -> list[dict[str, Any]]:
    """The same update of every lookup copy of a token from copy `first` on (the authorizer may
    read any of them, so a change reaches all in its transaction); each copy must exist."""
    return [
        {
            "Update": {
                "Key": key,
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": dict(values),
            }
        }
        for key in keys.secret_copy_keys(secret_digest, copies)[first:]
    ]


def lineage_edge(account_sid: str, parent_sid: str, child_sid: str, digest: str, copies: int) -> dict[str, Any]:
    """The edge from a parent to a child: enough to revoke the child without reading its token
    item (its lookup copies are keyed by the digest), with its lookup-copy count, without which
    a cascade would deactivate only the child's first copy."""
    return {
        **keys.lineage_key(account_sid, parent_sid, child_sid),
        "type": {"S": "lineage"},
        "childSid": {"S": child_sid},
        "childDigest": {"S": digest},
        "childCopies": {"N": str(copies)},
    }


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


def edge_delete(account_sid: str, parent_sid: str, child_sid: str) -> dict[str, Any]:
    """Removes an existing lineage edge (a child moved or re-homed)."""
    return {
        "Delete": {
            "Key": keys.lineage_key(account_sid, parent_sid, child_sid),
            "ConditionExpression": "attribute_exists(PK)",
        }
    }


def parent_update(account_sid: str, token_sid: str, parent_sid: str | None) -> dict[str, Any]:
    """Sets an existing token's parentSid (None: it has no parent any more)."""
    return {
        "Update": {
            "Key": keys.token_key(account_sid, token_sid),
            "UpdateExpression": "SET parentSid = :parent",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":parent": string_value(parent_sid)},
        }
    }
