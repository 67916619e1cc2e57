"""What every store operation stands on: the table and its client, one TransactWriteItems with
its cancellation reasons read back into domain errors, the audit write of a change, and the two
reads every path shares (a token item by its key, a credential by its secret's digest: the
authorizer's one GetItem).

A token item, every copy of its secret-lookup item (keys.py, docs/data-model.md "Hot tokens") and the
change's audit event are always written together in one transaction, so whichever copy the
authorizer reads is current; each transaction is conditional on the item that decides it, so no
interleaving resurrects a deleted token.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, cast

from apitokens.domain import audit
from apitokens.domain.errors import ConcurrentModification, DomainError
from apitokens.domain.records import Credential
from apitokens.settings import Settings
from apitokens.store import keys
from apitokens.store.driver import (
    cancellation_codes,
    client_errors,
    create_client,
    domain_error,
    driver_errors,
    still_exists,
)
from apitokens.store.items import (
    PROJECTION,
    PROJECTION_NAMES,
    Item,
    clients_of,
    lookup_copies_of,
    not_found,
    optional_string,
    scopes_of,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

    from apitokens.store.dynamodb_http import HttpDynamoDBClient


class TokenStore:
    """The table, its client and what every operation on it shares (LineageOperations and
    TokenRepository build on it)."""

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
    def from_settings(cls, settings: Settings, client: DynamoDBClient | HttpDynamoDBClient | None = None) -> Self:
        """The store on the table of `settings`, through `client`: a boto3 client by default; the
        authorizer's HttpDynamoDBClient answers the calls the authorizer makes (find_credential,
        touch_last_used) with the same parameters and response shapes."""
        return cls(
            cast("DynamoDBClient", client) if client is not None else create_client(settings),
            settings.table_name,
            settings.audit_retention_days,
            lookup_copies=settings.lookup_copies,
            read_copies=settings.lookup_read_copies,
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
            with driver_errors():
                self._client.transact_write_items(TransactItems=on_table)  # type: ignore[arg-type]
        except ConcurrentModification as error:
            cause = error.__cause__ or error
            codes = cancellation_codes(cause)
            if first_failed is not None and codes[:1] == ["ConditionalCheckFailed"]:
                if still_exists(cause, 0):
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
        # A plain try, not driver_errors(): this runs on every API request.
        try:
            response = self._client.get_item(
                TableName=self._table, Key=keys.secret_copy_key(secret_digest, copy), ConsistentRead=True
            )
        except client_errors() as error:
            raise domain_error(error) from error
        item = response.get("Item")
        if item is None:
            return None
        return Credential(
            account_sid=item["accountSid"]["S"],
            token_sid=item["tokenSid"]["S"],
            scopes=scopes_of(item),
            expires_at=optional_string(item, "expiresAt"),
            is_active=bool(item["isActive"]["BOOL"]),
            last_used_at=optional_string(item, "lastUsedAt"),
            recent_clients=clients_of(item),
            lookup_copies=lookup_copies_of(item, "copies"),
        )

    def _get_item(self, account_sid: str, token_sid: str, projection: bool) -> Item:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": keys.token_key(account_sid, token_sid),
            "ConsistentRead": True,
        }
        if projection:
            request["ProjectionExpression"] = PROJECTION
            request["ExpressionAttributeNames"] = PROJECTION_NAMES
        with driver_errors():
            response = self._client.get_item(**request)
        item = response.get("Item")
        if item is None:
            raise not_found(account_sid, token_sid)
        return item
