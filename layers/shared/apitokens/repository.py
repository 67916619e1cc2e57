"""The token repository: the only code that talks to DynamoDB.

Low-level client (about 1.5x faster per call than the resource API), strongly consistent reads,
no Scan. A token item and its secret-lookup item are always written together in one
TransactWriteItems, so create, (de)activation and delete are atomic for both; each transaction
is conditional on the item that decides it, so no interleaving resurrects a deleted token.
Driver errors become domain errors here and nowhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from apitokens import keys
from apitokens.errors import ConcurrentModification, DomainError, StoreUnavailable, TokenLimitReached, TokenNotFound
from apitokens.records import Credential, TokenPage, TokenRecord
from apitokens.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

Item = Mapping[str, Any]

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
)
_PROJECTION = ", ".join(f"#{name}" for name in _PUBLIC_ATTRIBUTES)
_PROJECTION_NAMES = {f"#{name}": name for name in _PUBLIC_ATTRIBUTES}

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
    )


def _not_found(account_sid: str, token_sid: str) -> TokenNotFound:
    return TokenNotFound(f"No API token {token_sid} in account {account_sid}.")


def _cancellation_codes(error: BaseException) -> list[str]:
    response = getattr(error, "response", {})
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


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
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenRepository:
        return cls(create_client(settings), settings.table_name)

    def _transact(self, items: list[dict[str, Any]], first_failed: DomainError | None = None) -> None:
        """One TransactWriteItems. If the first item's condition failed and `first_failed` is
        given, raises that (the first item is always the one whose state decides: the token, or
        the account's count); any other cancellation is a ConcurrentModification."""
        on_table = [{kind: {**request, "TableName": self._table} for kind, request in item.items()} for item in items]
        try:
            with _driver_errors():
                self._client.transact_write_items(TransactItems=on_table)  # type: ignore[arg-type]
        except ConcurrentModification as error:
            if first_failed is not None and _cancellation_codes(error.__cause__ or error)[:1] == [
                "ConditionalCheckFailed"
            ]:
                raise first_failed from error
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

    def find_credential(self, secret_digest: str) -> Credential | None:
        # A plain try, not _driver_errors(): this runs on every API request.
        try:
            response = self._client.get_item(
                TableName=self._table, Key=keys.secret_key(secret_digest), ConsistentRead=True
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
        )

    def touch_last_used(self, credential: Credential, secret_digest: str, now: str, cutoff: str) -> None:
        """Sets lastUsedAt on both items unless it is newer than `cutoff` (at most once per
        interval across all authorizer instances). Never recreates a deleted token: both updates
        require their item to exist. Raises ConcurrentModification when the condition fails."""
        self._transact(
            [
                {
                    "Update": {
                        "Key": keys.secret_key(secret_digest),
                        "UpdateExpression": "SET lastUsedAt = :now",
                        "ConditionExpression": "attribute_exists(PK) AND "
                        "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)",
                        "ExpressionAttributeValues": {":now": {"S": now}, ":cutoff": {"S": cutoff}},
                    }
                },
                {
                    "Update": {
                        "Key": keys.token_key(credential.account_sid, credential.token_sid),
                        "UpdateExpression": "SET lastUsedAt = :now",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":now": {"S": now}},
                    }
                },
            ]
        )

    # -- token operations ----------------------------------------------------------------------

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        """Writes the token, its lookup item and the account's count in one transaction; the
        count's condition enforces the per-account limit exactly, even under concurrency."""
        token_item: dict[str, Any] = {
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
            "secretDigest": {"S": secret_digest},
        }
        lookup_item: dict[str, Any] = {
            **keys.secret_key(secret_digest),
            "type": {"S": "secret"},
            "accountSid": {"S": record.account_sid},
            "tokenSid": {"S": record.sid},
            "scopes": token_item["scopes"],
            "expiresAt": token_item["expiresAt"],
            "isActive": {"BOOL": record.is_active},
        }
        limit_reached = TokenLimitReached(
            f"This account already has {max_tokens} API tokens, the most it may hold; "
            "delete one before creating another."
        )
        self._transact(
            [
                {
                    "Update": {
                        "Key": keys.account_meta_key(record.account_sid),
                        "UpdateExpression": "SET tokenCount = if_not_exists(tokenCount, :zero) + :one",
                        "ConditionExpression": "attribute_not_exists(tokenCount) OR tokenCount < :limit",
                        "ExpressionAttributeValues": {
                            ":zero": {"N": "0"},
                            ":one": {"N": "1"},
                            ":limit": {"N": str(max_tokens)},
                        },
                    }
                },
                {"Put": {"Item": token_item, "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"Item": lookup_item, "ConditionExpression": "attribute_not_exists(PK)"}},
            ],
            first_failed=limit_reached,
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
        check: Callable[[TokenRecord], None] | None = None,
    ) -> TokenRecord:
        """Changes name, isActive and (when `replace_description`) description. isActive is
        written to the lookup item in the same transaction: deactivation is immediate. `check`
        sees the token as read and may refuse the change by raising."""
        item = self._get_item(account_sid, token_sid, projection=False)
        current = _record_from_item(item)
        if check is not None:
            check(current)
        secret_digest = item["secretDigest"]["S"]
        assignments = ["#name = :name", "isActive = :active"]
        values: dict[str, Any] = {
            ":name": {"S": name},
            ":active": {"BOOL": is_active},
            ":digest": {"S": secret_digest},
        }
        if replace_description:
            assignments.append("description = :description")
            values[":description"] = _string(description)
        self._transact(
            [
                {
                    "Update": {
                        "Key": keys.token_key(account_sid, token_sid),
                        "UpdateExpression": "SET " + ", ".join(assignments),
                        # The same token, not one deleted and re-created meanwhile.
                        "ConditionExpression": "attribute_exists(PK) AND secretDigest = :digest",
                        "ExpressionAttributeNames": {"#name": "name"},
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "Key": keys.secret_key(secret_digest),
                        "UpdateExpression": "SET isActive = :active",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":active": {"BOOL": is_active}},
                    }
                },
            ],
            first_failed=_not_found(account_sid, token_sid),
        )
        return replace(
            current,
            name=name,
            is_active=is_active,
            description=description if replace_description else current.description,
        )

    def delete(self, account_sid: str, token_sid: str) -> None:
        """Deletes the token and its lookup item together and gives the account its slot back."""
        item = self._get_item(account_sid, token_sid, projection=False)
        secret_digest = item["secretDigest"]["S"]
        self._transact(
            [
                {
                    "Delete": {
                        "Key": keys.token_key(account_sid, token_sid),
                        "ConditionExpression": "attribute_exists(PK) AND secretDigest = :digest",
                        "ExpressionAttributeValues": {":digest": {"S": secret_digest}},
                    }
                },
                {"Delete": {"Key": keys.secret_key(secret_digest)}},
                {
                    "Update": {
                        "Key": keys.account_meta_key(account_sid),
                        "UpdateExpression": "ADD tokenCount :minus_one",
                        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                    }
                },
            ],
            first_failed=_not_found(account_sid, token_sid),
        )
