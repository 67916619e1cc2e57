"""What every store stands on: the table and its client, one TransactWriteItems with its
cancellation reasons read back into domain errors, the audit write of a change, and the read
every change starts from (a token item by its key). The stores (repository, credentials,
lineage, rolls, event_repository) each hold the one Table, not a base class.

A token item, every copy of its secret-lookup item (keys.py, docs/data-model.md, "Hot tokens") and the
change's audit event are always written together in one transaction, so whichever copy the
authorizer reads is current; each transaction is conditional on the item that decides it, so no
interleaving resurrects a deleted token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from apitokens.domain import audit
from apitokens.domain.errors import ConcurrentModification, DomainError, not_found
from apitokens.store import audit_items, keys
from apitokens.store.driver import cancellation_codes, driver_errors, still_exists
from apitokens.store.items import PROJECTION, PROJECTION_NAMES, Item

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient


class Table:
    """The table, its client and what every store shares."""

    def __init__(
        self, client: DynamoDBClient, name: str, audit_retention_days: int = audit.DEFAULT_RETENTION_DAYS
    ) -> None:
        self.client = client
        self.name = name
        self._retention_days = audit_retention_days

    def event(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The audit write of a change, for that change's own transaction."""
        return audit_items.event_put(document, self._retention_days)

    def transact(
        self,
        items: list[dict[str, Any]],
        first_failed: DomainError | None = None,
        failed_at: Mapping[int, DomainError] | None = None,
    ) -> None:
        """One TransactWriteItems. If the first item's condition failed and `first_failed` is
        given, raises that (the first item is always the one whose state decides: the token, or
        the account's count); `failed_at` names the error for a failed condition of another item.
        Any other cancellation is a ConcurrentModification."""
        on_table = [{kind: {**request, "TableName": self.name} for kind, request in item.items()} for item in items]
        try:
            with driver_errors():
                self.client.transact_write_items(TransactItems=on_table)  # type: ignore[arg-type]
        except ConcurrentModification as error:
            failure = _named_failure(error, first_failed, failed_at or {})
            if failure is None:
                raise
            raise failure from error

    def idempotency_store(self, account_sid: str, principal_type: str, principal_id: str) -> DynamoDBPersistenceLayer:
        """Powertools' idempotency persistence on this table and client, for the records of one
        principal on one account (a partition of their own)."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.name,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=keys.idempotency_pk(account_sid, principal_type, principal_id),
            boto3_client=self.client,
        )

    def token_item(self, account_sid: str, token_sid: str, projection: bool) -> Item:
        """The token item, strongly consistent (with `projection`, only what a caller may see);
        TokenNotFound when there is none."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "Key": keys.token_key(account_sid, token_sid),
            "ConsistentRead": True,
        }
        if projection:
            request["ProjectionExpression"] = PROJECTION
            request["ExpressionAttributeNames"] = PROJECTION_NAMES
        with driver_errors():
            response = self.client.get_item(**request)
        item = response.get("Item")
        if item is None:
            raise not_found(account_sid, token_sid)
        return item


def _named_failure(
    error: ConcurrentModification, first_failed: DomainError | None, failed_at: Mapping[int, DomainError]
) -> DomainError | None:
    """The error a cancelled transaction's failed condition names (Table.transact), or None for
    a ConcurrentModification."""
    cause = error.__cause__ or error
    codes = cancellation_codes(cause)
    if first_failed is not None and codes[:1] == ["ConditionalCheckFailed"]:
        # The deciding item exists but changed since it was read (a child appeared, it was
        # revoked or rolled): a retry reads it again.
        return None if still_exists(cause, 0) else first_failed
    for index, failure in failed_at.items():
        if codes[index : index + 1] == ["ConditionalCheckFailed"]:
            return failure
    return None
