"""The token repository: the only code that talks to DynamoDB.

Low-level client (about 1.5x faster per call than the resource API), strongly consistent reads,
no Scan. A token item, every copy of its secret-lookup item (keys.py, README "Hot tokens") and
the change's audit event are always written together in one TransactWriteItems, so create,
(de)activation, roll, delete and the touch are atomic for all of them, and whichever copy the
authorizer reads is current; each transaction is conditional on the item that decides it, so no
interleaving resurrects a deleted token.
Driver errors become domain errors here and nowhere else.
"""

from __future__ import annotations

import collections
import contextlib
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import BotoCoreError, ClientError

from apitokens.domain import audit
from apitokens.domain.errors import (
    ConcurrentModification,
    DomainError,
    StoreUnavailable,
    TokenLimitReached,
    TokenNotFound,
    TokenStateConflict,
)
from apitokens.domain.records import (
    LEAKED,
    PARENT_REVOKED,
    REVOKED,
    Child,
    Credential,
    RecentClient,
    RevokedReason,
    TokenPage,
    TokenRecord,
    Usage,
)
from apitokens.settings import Settings
from apitokens.store import keys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

Item = Mapping[str, Any]

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

# Attributes a caller may see; the secret's digest stays in the table.
_PUBLIC_ATTRIBUTES = (
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
)
_PROJECTION = ", ".join(f"#{name}" for name in _PUBLIC_ATTRIBUTES)
_PROJECTION_NAMES = {f"#{name}": name for name in _PUBLIC_ATTRIBUTES}

_EXPIRY_KEYS = f"{keys.BY_EXPIRY_PK}, {keys.BY_EXPIRY_SK}"

# Throttling after the client's own retries, and server-side failures: the caller may retry.
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


def create_client(settings: Settings) -> DynamoDBClient:
    """A DynamoDB client with bounded retries and timeouts well under API Gateway's 29 s."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2,
        read_timeout=3,
        tcp_keepalive=True,
    )
    return boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=config,
    )


def _string(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


def _optional_string(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else str(value["S"])


def _scopes(item: Item) -> tuple[str, ...]:
    return tuple(str(entry["S"]) for entry in item["scopes"]["L"])


def _record_from_item(item: Item) -> TokenRecord:
    return TokenRecord(
        sid=item["sid"]["S"],
        account_sid=item["accountSid"]["S"],
        name=item["name"]["S"],
        description=_optional_string(item, "description"),
        scopes=_scopes(item),
        expires_at=_optional_string(item, "expiresAt"),
        is_active=bool(item["isActive"]["BOOL"]),
        created_at=item["createdAt"]["S"],
        last_used_at=_optional_string(item, "lastUsedAt"),
        created_by_type="token" if _optional_string(item, "createdByType") == "token" else "user",
        created_by_id=_optional_string(item, "createdById") or "",
        parent_sid=_optional_string(item, "parentSid"),
        revoked_reason=_reason(_optional_string(item, "revokedReason")),
        revoked_at=_optional_string(item, "revokedAt"),
    )


def _reason(value: str | None) -> RevokedReason | None:
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
        "description": _string(record.description),
        "scopes": {"L": [{"S": scope} for scope in record.scopes]},
        "expiresAt": _string(record.expires_at),
        "isActive": {"BOOL": record.is_active},
        "createdAt": {"S": record.created_at},
        "lastUsedAt": _string(record.last_used_at),
        "createdByType": {"S": record.created_by_type},
        "createdById": {"S": record.created_by_id},
        "parentSid": _string(record.parent_sid),
        "secretDigest": {"S": secret_digest},
        "lookupCopies": {"N": str(copies)},
        # Sparse: only a token that expires is in the expiry index.
        **(keys.expiry_attributes(record.account_sid, record.sid, record.expires_at) if record.expires_at else {}),
    }


def _lookup_copies(item: Item, name: str) -> int:
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
        "expiresAt": _string(record.expires_at),
        "isActive": {"BOOL": record.is_active},
    }


def new_token_writes(record: TokenRecord, secret_digest: str, copies: int = 1) -> list[dict[str, Any]]:
    """The writes that bring a token into being: its item, its lookup copies and, when an API token
    created it, the lineage edge from that token plus a guard that the creator is still active
    (so no child can appear after the creator's revocation has read its children)."""
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
            {
                "Put": {
                    "Item": {
                        **keys.lineage_key(record.account_sid, record.parent_sid, record.sid),
                        "type": {"S": "lineage"},
                        "childSid": {"S": record.sid},
                        "childDigest": {"S": secret_digest},
                        "childCopies": {"N": str(copies)},
                    }
                }
            },
            {
                "Update": {
                    "Key": keys.token_key(record.account_sid, record.parent_sid),
                    # hasChildren tells a revocation of the parent that it must look for children.
                    "UpdateExpression": "SET hasChildren = :true",
                    "ConditionExpression": "attribute_exists(PK) AND isActive = :true",
                    "ExpressionAttributeValues": {":true": {"BOOL": True}},
                }
            },
        ]
    return writes


def created_event(record: TokenRecord, **more: Any) -> dict[str, Any]:
    changes = {
        "name": audit.change(None, record.name),
        "description": audit.change(None, record.description),
        "scopes": audit.change(None, list(record.scopes)),
        "expiresAt": audit.change(None, record.expires_at),
        "isActive": audit.change(None, True),
        "parentSid": audit.change(None, record.parent_sid),
        **{name: audit.change(None, value) for name, value in more.items()},
    }
    return audit.event_document(audit.CREATED, record.account_sid, record.sid, record.created_at, changes)


def _clients(item: Item) -> tuple[RecentClient, ...]:
    return tuple(
        RecentClient(
            ip=entry["M"]["ip"]["S"],
            user_agent=_optional_string(entry["M"], "userAgent"),
            first_seen_at=entry["M"]["firstSeenAt"]["S"],
            last_seen_at=entry["M"]["lastSeenAt"]["S"],
        )
        for entry in item.get("recentClients", {}).get("L", [])
    )


def _clients_value(clients: tuple[RecentClient, ...]) -> dict[str, Any]:
    return {
        "L": [
            {
                "M": {
                    "ip": {"S": client.ip},
                    "userAgent": _string(client.user_agent),
                    "firstSeenAt": {"S": client.first_seen_at},
                    "lastSeenAt": {"S": client.last_seen_at},
                }
            }
            for client in clients
        ]
    }


def _not_found(account_sid: str, token_sid: str) -> TokenNotFound:
    return TokenNotFound(f"No API token {token_sid} in account {account_sid}.")


def _cancellation_codes(error: BaseException) -> list[str]:
    response = getattr(error, "response", {})
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def _still_exists(error: BaseException, index: int) -> bool:
    """Whether a cancelled transaction's item `index` was there (its condition asked for
    ReturnValuesOnConditionCheckFailure = ALL_OLD and DynamoDB returned it)."""
    reasons = getattr(error, "response", {}).get("CancellationReasons", [])
    return index < len(reasons) and bool(reasons[index].get("Item"))


def _domain_error(error: ClientError | BotoCoreError) -> DomainError:
    """The domain error for what botocore raised (after the client's own retries)."""
    if isinstance(error, BotoCoreError):
        return StoreUnavailable()
    code = error.response.get("Error", {}).get("Code", "")
    if code in _RETRYABLE_CODES or code == "TransactionInProgressException":
        return StoreUnavailable()
    if code == "TransactionCanceledException":
        reasons = _cancellation_codes(error)
        if any(reason in ("ThrottlingError", "ProvisionedThroughputExceeded") for reason in reasons):
            return StoreUnavailable()
        return ConcurrentModification("The token was changed by another request; retry.")
    # Anything else (validation, access denied, missing table) is a deployment or code fault:
    # still never a stack trace to the caller.
    return StoreUnavailable("The token store rejected the request.")


@contextlib.contextmanager
def _driver_errors() -> Iterator[None]:
    """Turns what botocore raises into domain errors; domain errors pass through."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise _domain_error(error) from error


class TokenRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        audit_retention_days: int = audit.DEFAULT_RETENTION_DAYS,
        *,
        lookup_copies: int = 1,
        read_copies: int | None = None,
    ) -> None:
        """`lookup_copies`: the copies written for a new token; `read_copies`: how many of them
        the authorizer chooses among (at most lookup_copies; every token must have that many)."""
        self._client = client
        self._table = table_name
        self._retention_days = audit_retention_days
        self.lookup_copies = lookup_copies
        self.read_copies = min(lookup_copies, read_copies or lookup_copies)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            create_client(settings),
            settings.table_name,
            settings.audit_retention_days,
            lookup_copies=settings.lookup_copies,
            read_copies=settings.read_copies,
        )

    def _event(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The audit write of a change, for that change's own transaction."""
        return audit.event_put(document, self._retention_days)

    def _transact(
        self,
        items: list[dict[str, Any]],
        first_failed: DomainError | None = None,
        failed_at: Mapping[int, DomainError] | None = None,
    ) -> None:
        """One TransactWriteItems. If the first item's condition failed and `first_failed` is
        given, raises that (the first item is always the one whose state decides: the token, or
        the account's count); `failed_at` names the error for a failed condition of another item.
        Any other cancellation is a ConcurrentModification."""
        on_table = [{kind: {**request, "TableName": self._table} for kind, request in item.items()} for item in items]
        try:
            with _driver_errors():
                self._client.transact_write_items(TransactItems=on_table)  # type: ignore[arg-type]
        except ConcurrentModification as error:
            cause = error.__cause__ or error
            codes = _cancellation_codes(cause)
            if first_failed is not None and codes[:1] == ["ConditionalCheckFailed"]:
                if _still_exists(cause, 0):
                    # The deciding item exists but changed since it was read (a child appeared,
                    # it was revoked or rolled): a retry reads it again.
                    raise
                raise first_failed from error
            for index, failure in (failed_at or {}).items():
                if codes[index : index + 1] == ["ConditionalCheckFailed"]:
                    raise failure from error
            raise

    def idempotency_store(self, partition_key: str) -> DynamoDBPersistenceLayer:
        """Powertools' idempotency persistence on this table and client."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self._table,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=partition_key,
            boto3_client=self._client,
        )

    # -- the hot path: one GetItem by the secret's digest ------------------------------------

    def find_credential(self, secret_digest: str, copy: int | None = None) -> Credential | None:
        """One strongly consistent GetItem of one lookup copy (`copy`, or one chosen at random so
        that a busy token's reads spread over its copies' partition keys)."""
        if copy is None:
            # Not a secret: which copy is read only spreads load (every copy holds the same item).
            copy = random.randrange(self.read_copies) if self.read_copies > 1 else 0  # noqa: S311
        # A plain try, not _driver_errors(): this runs on every API request.
        try:
            response = self._client.get_item(
                TableName=self._table, Key=keys.secret_copy_key(secret_digest, copy), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise _domain_error(error) from error
        item = response.get("Item")
        if item is None:
            return None
        return Credential(
            account_sid=item["accountSid"]["S"],
            token_sid=item["tokenSid"]["S"],
            scopes=_scopes(item),
            expires_at=_optional_string(item, "expiresAt"),
            is_active=bool(item["isActive"]["BOOL"]),
            last_used_at=_optional_string(item, "lastUsedAt"),
            recent_clients=_clients(item),
            lookup_copies=_lookup_copies(item, "copies"),
        )

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
            values[":clients"] = _clients_value(recent_clients)
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
            *(
                {
                    "Update": {
                        "Key": key,
                        "UpdateExpression": expression,
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": values,
                    }
                }
                for key in keys.secret_copy_keys(secret_digest, credential.lookup_copies)[1:]
            ),
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
        with _driver_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=keys.token_key(account_sid, token_sid),
                ConsistentRead=True,
                ProjectionExpression="lastUsedAt, recentClients",
            )
        item = response.get("Item")
        if item is None:
            raise _not_found(account_sid, token_sid)
        return Usage(last_used_at=_optional_string(item, "lastUsedAt"), recent_clients=_clients(item))

    # -- token operations ----------------------------------------------------------------------

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        """Writes the token, its lookup item, its lineage edge (created by a token) and the
        account's count in one transaction; the count's condition enforces the per-account limit
        exactly, even under concurrency."""
        self._transact(
            [
                _count_increment(record.account_sid, max_tokens),
                *new_token_writes(record, secret_digest, self.lookup_copies),
                self._event(created_event(record)),
            ],
            first_failed=_limit_reached(max_tokens),
        )

    def _get_item(self, account_sid: str, token_sid: str, projection: bool) -> Item:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": keys.token_key(account_sid, token_sid),
            "ConsistentRead": True,
        }
        if projection:
            request["ProjectionExpression"] = _PROJECTION
            request["ExpressionAttributeNames"] = _PROJECTION_NAMES
        with _driver_errors():
            response = self._client.get_item(**request)
        item = response.get("Item")
        if item is None:
            raise _not_found(account_sid, token_sid)
        return item

    def get(self, account_sid: str, token_sid: str) -> TokenRecord:
        return _record_from_item(self._get_item(account_sid, token_sid, projection=True))

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
            "ProjectionExpression": _PROJECTION,
            "ExpressionAttributeNames": _PROJECTION_NAMES,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            # One more than asked tells whether another page exists.
            "Limit": limit + 1,
        }
        if starting_after is not None:
            request["ExclusiveStartKey"] = keys.token_key(account_sid, starting_after)
        with _driver_errors():
            response = self._client.query(**request)
        items = response.get("Items", [])
        return TokenPage(
            records=tuple(_record_from_item(item) for item in items[:limit]),
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
    ) -> tuple[TokenRecord, bool]:
        """Changes name, isActive and (when `replace_description`) description. isActive is
        written to the lookup item in the same transaction: deactivation is immediate. `check`
        sees the token as read and may refuse the change by raising. Deactivating records
        revokedReason "revoked" (unless a reason is already there); re-activating clears it, and
        never succeeds on a token revoked as leaked. Returns the token and whether it has
        children to cascade to (the caller then calls revoke_descendants). `end_grace` as for
        delete, when deactivating."""
        item = self._get_item(account_sid, token_sid, projection=False)
        current = _record_from_item(item)
        if check is not None:
            check(current)
        if end_grace and not is_active and "rolledTo" in item:
            self.end_grace(account_sid, item, now)
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
            values[":description"] = _string(description)
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
                *(
                    {
                        "Update": {
                            "Key": key,
                            "UpdateExpression": "SET isActive = :active",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":active": {"BOOL": is_active}},
                        }
                    }
                    for key in keys.secret_copy_keys(secret_digest, _lookup_copies(item, "lookupCopies"))
                ),
                *events,
            ],
            first_failed=_not_found(account_sid, token_sid),
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

    def delete(self, account_sid: str, token_sid: str, now: str, *, end_grace: bool = False) -> None:
        """Deletes the token and its lookup item together and gives the account its slot back.

        A token with children is first deactivated (so it can create no more), then its
        descendants are revoked, then it is deleted: a crash anywhere leaves the token there,
        inactive, and the same DELETE again finishes the job. With `end_grace` (a user's
        delete), a rolled token's successor and children are first taken out of its lineage
        (end_grace), so they are not revoked with it."""
        item = self._get_item(account_sid, token_sid, projection=False)
        if end_grace and "rolledTo" in item:
            self.end_grace(account_sid, item, now)
        secret_digest = item["secretDigest"]["S"]
        copies = _lookup_copies(item, "lookupCopies")
        if "hasChildren" in item:
            if item["isActive"]["BOOL"]:
                changes = {"isActive": audit.change(True, False), "revokedReason": audit.change(None, REVOKED)}
                self._transact(
                    [
                        *_deactivation(account_sid, token_sid, secret_digest, REVOKED, now, copies=copies),
                        self._event(audit.event_document(audit.DEACTIVATED, account_sid, token_sid, now, changes)),
                    ],
                    first_failed=_not_found(account_sid, token_sid),
                )
            self.revoke_descendants(account_sid, token_sid, now)
        parent_sid = _optional_string(item, "parentSid")
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
        release_at = _optional_string(item, "slotReleaseAt")
        if release_at is not None and "slotReleased" not in item:
            writes.append({"Delete": {"Key": keys.rolled_key(account_sid, release_at, token_sid)}})
        self._transact(writes, first_failed=_not_found(account_sid, token_sid))

    # -- lineage: cascading revocation, leaks, rolls ------------------------------------------

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
            with _driver_errors():
                response = self._client.query(**request)
            yield [
                Child(
                    item["childSid"]["S"],
                    item["childDigest"]["S"],
                    _lookup_copies(item, "childCopies"),
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
                for batch in _cascade_batches(fresh):
                    # Only the active ones change (and get an event): a child already inactive
                    # (deactivated before, or by an earlier run of this cascade) is left alone,
                    # so a resumed cascade writes no second event.
                    active = self._active_sids(account_sid, [child.sid for child in batch])
                    writes = []
                    for child in batch:
                        if child.sid not in active:
                            continue
                        writes += _deactivation(
                            account_sid,
                            child.sid,
                            child.secret_digest,
                            PARENT_REVOKED,
                            now,
                            copies=child.lookup_copies,
                            require_active=True,
                        )
                        writes.append(self._event(_cascade_event(account_sid, child.sid, parent_sid, now)))
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
            with _driver_errors():
                response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                if item["isActive"]["BOOL"]:
                    active.add(item["sid"]["S"])
            request = dict(response.get("UnprocessedKeys") or {})
        return active

    def revoke_leaked(self, secret_digest: str, now: str, source: str, url: str) -> Credential | None:
        """Deactivates the token with this digest as leaked (whatever its state: leaked beats
        any other reason) and records where it was found (the first report's place), then its
        descendants. None when no token has this digest. Idempotent."""
        credential = self.find_credential(secret_digest)
        if credential is None:
            return None
        account_sid, token_sid = credential.account_sid, credential.token_sid
        writes = _deactivation(account_sid, token_sid, secret_digest, LEAKED, now, copies=credential.lookup_copies)
        update = writes[0]["Update"]
        update["UpdateExpression"] = (
            "SET isActive = :false, revokedReason = :reason, revokedAt = if_not_exists(revokedAt, :now), "
            "leakSource = if_not_exists(leakSource, :source), leakUrl = if_not_exists(leakUrl, :url)"
        )
        update["ExpressionAttributeValues"].update({":source": {"S": source}, ":url": {"S": url}})
        # Every report is recorded, a repeated one too: where and when each was found matters.
        changes = {
            "isActive": audit.change(credential.is_active, False),
            "leakSource": audit.change(None, source),
            "leakUrl": audit.change(None, url),
        }
        document = audit.event_document(audit.LEAKED, account_sid, token_sid, now, changes)
        self._transact([*writes, self._event(document)])
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
        current = _record_from_item(item)
        if "rolledTo" in item:
            self.move_children(account_sid, token_sid, item["rolledTo"]["S"], now)
            raise TokenStateConflict("This token was already rolled; roll the token that replaced it.")
        record = successor(current)
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
            moving = _moving_edge(account_sid, record.sid, token_sid, item["secretDigest"]["S"])
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
                    "UpdateExpression": "SET " + ", ".join(assignments) + f" REMOVE {_EXPIRY_KEYS}",
                    "ConditionExpression": "attribute_exists(PK) AND secretDigest = :digest AND isActive = :true "
                    "AND attribute_not_exists(rolledTo)",
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *(
                {
                    "Update": {
                        "Key": key,
                        "UpdateExpression": "SET expiresAt = :expires",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":expires": {"S": old_expires}},
                    }
                }
                for key in keys.secret_copy_keys(old_digest, _lookup_copies(item, "lookupCopies"))
            ),
            *writes,
            *events,
        ]
        failed_at: dict[int, DomainError] = {}
        if not released:
            failed_at[len(writes)] = _limit_reached(max_tokens)
            writes += [
                _count_increment(account_sid, max_tokens),
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
        self._transact(
            writes,
            first_failed=TokenStateConflict("This token is no longer active or was already rolled."),
            failed_at=failed_at,
        )
        return replace(current, expires_at=old_expires), record

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int:
        """Moves the lineage edges of `from_sid` (but the one to `to_sid`) to `to_sid`, and each
        child's parentSid with it, and its token.updated event (parentSid from, to) in the same
        transaction: MOVE_BATCH children per transaction; then drops the roll's `movingFrom`
        edge from `to_sid`. Resumable: run again, it moves what is left. Returns how many moved."""
        moved = 0
        moved_parent = {"parentSid": audit.change(from_sid, to_sid)}
        for page in self.children(account_sid, from_sid):
            children = [child for child in page if child.sid != to_sid]
            for start in range(0, len(children), MOVE_BATCH):
                writes: list[dict[str, Any]] = [
                    {
                        "Update": {
                            "Key": keys.token_key(account_sid, to_sid),
                            "UpdateExpression": "SET hasChildren = :true",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":true": {"BOOL": True}},
                        }
                    }
                ]
                for child in children[start : start + MOVE_BATCH]:
                    writes.append(
                        {
                            "Delete": {
                                "Key": keys.lineage_key(account_sid, from_sid, child.sid),
                                "ConditionExpression": "attribute_exists(PK)",
                            }
                        }
                    )
                    if child.moving:  # an earlier roll's move still pending: it moves as it is
                        edge = _moving_edge(account_sid, to_sid, child.sid, child.secret_digest)
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
                self._transact(writes)
                moved += len(children[start : start + MOVE_BATCH])
        if moved:
            with _driver_errors():
                self._client.delete_item(TableName=self._table, Key=keys.lineage_key(account_sid, to_sid, from_sid))
        return moved

    def end_grace(self, account_sid: str, item: Item, now: str) -> None:
        """What a user's delete or deactivation of a rolled token does first: its children finish
        moving to its successor, and a successor that is its child (it rolled itself) is given
        the old token's parent instead. So the successor and the children outlive the old
        token, and whoever could revoke the old token's parent still reaches them."""
        old_sid, new_sid = item["sid"]["S"], item["rolledTo"]["S"]
        self.move_children(account_sid, old_sid, new_sid, now)
        with _driver_errors():
            edge = self._client.get_item(
                TableName=self._table, Key=keys.lineage_key(account_sid, old_sid, new_sid), ConsistentRead=True
            ).get("Item")
        if edge is None:
            return
        grandparent = _optional_string(item, "parentSid")
        if grandparent is not None:
            with _driver_errors():
                if "Item" not in self._client.get_item(
                    TableName=self._table, Key=keys.token_key(account_sid, grandparent), ProjectionExpression="PK"
                ):
                    grandparent = None  # deleted: nothing can cascade from it any more
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
                    "ExpressionAttributeValues": {":parent": _string(grandparent)},
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
                {"Put": {"Item": {**keys.lineage_key(account_sid, grandparent, new_sid), **_edge_attributes(edge)}}},
                {
                    "Update": {
                        "Key": keys.token_key(account_sid, grandparent),
                        "UpdateExpression": "SET hasChildren = :true",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":true": {"BOOL": True}},
                    }
                },
            ]
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
        with _driver_errors():
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


def _limit_reached(max_tokens: int) -> TokenLimitReached:
    return TokenLimitReached(
        f"This account already has {max_tokens} API tokens, the most it may hold; delete one before creating another."
    )


def _count_increment(account_sid: str, max_tokens: int) -> dict[str, Any]:
    return {
        "Update": {
            "Key": keys.account_meta_key(account_sid),
            "UpdateExpression": "SET tokenCount = if_not_exists(tokenCount, :zero) + :one",
            "ConditionExpression": "attribute_not_exists(tokenCount) OR tokenCount < :limit",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}, ":limit": {"N": str(max_tokens)}},
        }
    }


def _cascade_batches(children: list[Child]) -> Iterator[list[Child]]:
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


def _moving_edge(account_sid: str, parent_sid: str, predecessor_sid: str, predecessor_digest: str) -> dict[str, Any]:
    """A roll's pending move: under the new token's children, the old token, flagged so that a
    cascade walks the old token's children without revoking the old token itself."""
    return {
        **keys.lineage_key(account_sid, parent_sid, predecessor_sid),
        "type": {"S": "lineage"},
        "childSid": {"S": predecessor_sid},
        "childDigest": {"S": predecessor_digest},
        "movingFrom": {"BOOL": True},
    }


def _edge_attributes(edge: Item) -> dict[str, Any]:
    """A lineage edge's own attributes, to re-home it: with its lookup-copy count, without which
    a cascade would deactivate only the child's first copy."""
    return {name: edge[name] for name in ("type", "childSid", "childDigest", "childCopies") if name in edge}


def _cascade_event(account_sid: str, token_sid: str, parent_sid: str, now: str) -> dict[str, Any]:
    changes = {
        "isActive": audit.change(True, False),
        "revokedReason": audit.change(None, PARENT_REVOKED),
        "revokedWithParent": audit.change(None, parent_sid),
    }
    return audit.event_document(audit.REVOKED_BY_CASCADE, account_sid, token_sid, now, changes)


def _deactivation(
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
        *(
            {
                "Update": {
                    "Key": key,
                    "UpdateExpression": "SET isActive = :false",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":false": {"BOOL": False}},
                }
            }
            for key in keys.secret_copy_keys(secret_digest, copies)
        ),
    ]
