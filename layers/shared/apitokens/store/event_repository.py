"""Reading audit events and the expiry index (docs/data-model.md: "Data model"): key conditions only.

The token repository writes every event, in each change's own transaction; this one lists them
(per account on the table, per token on GSI1, per type on GSI2) and serves the daily expiry
sweep (GSI3, partitioned by expiry day).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from apitokens.domain import audit
from apitokens.domain.errors import ConcurrentModification, InvalidRequest
from apitokens.domain.records import EventPage, ExpiringToken
from apitokens.settings import Settings
from apitokens.store import audit_items, keys
from apitokens.store.driver import create_client, driver_errors
from apitokens.store.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _cursor_error(reason: str) -> InvalidRequest:
    return InvalidRequest(f"startingAfter {reason}.")


class EventRepository:
    """The EventStore port on the table."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, audit_retention_days: int = audit.DEFAULT_RETENTION_DAYS
    ) -> None:
        self._table = Table(client, table_name, audit_retention_days)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(create_client(settings), settings.table_name, settings.audit_retention_days)

    def _event_item(self, account_sid: str, event_sid: str) -> Mapping[str, Any] | None:
        with driver_errors():
            response = self._table.client.get_item(
                TableName=self._table.name,
                Key=keys.event_key(account_sid, event_sid),
                ConsistentRead=True,
                ProjectionExpression="PK, SK, eventType, GSI1PK, GSI1SK, GSI2PK, GSI2SK",
            )
        item: Mapping[str, Any] | None = response.get("Item")
        return item

    def list_events(
        self,
        account_sid: str,
        limit: int,
        starting_after: str | None = None,
        token_sid: str | None = None,
        event_type: str | None = None,
    ) -> EventPage:
        """Newest first. By token: GSI1 (with `event_type`, a filter over that token's events
        only); by type: GSI2; else the account's partition. The cursor is an event of this
        account and of this filter, or a 400."""
        request: dict[str, Any] = {"TableName": self._table.name, "ScanIndexForward": False}
        if token_sid is not None:
            request.update(
                IndexName=keys.BY_TOKEN_INDEX,
                KeyConditionExpression=f"{keys.BY_TOKEN_PK} = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.token_events_pk(account_sid, token_sid)}},
            )
            if event_type is not None:
                request["FilterExpression"] = "eventType = :type"
                request["ExpressionAttributeValues"][":type"] = {"S": event_type}
        elif event_type is not None:
            request.update(
                IndexName=keys.BY_TYPE_INDEX,
                KeyConditionExpression=f"{keys.BY_TYPE_PK} = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.type_events_pk(account_sid, event_type)}},
            )
        else:
            request.update(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.account_pk(account_sid)},
                    ":prefix": {"S": keys.EVENT_SK_PREFIX},
                },
                ConsistentRead=True,
            )
        if starting_after is not None:
            request["ExclusiveStartKey"] = self._cursor(account_sid, starting_after, token_sid, event_type, request)
        request["Limit"] = limit + 1
        items: list[Mapping[str, Any]] = []
        # Without a filter one page is enough; with one, pages until limit + 1 match (bounded by
        # the token's own events).
        while len(items) <= limit:
            with driver_errors():
                response = self._table.client.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response or "FilterExpression" not in request:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return EventPage(
            records=tuple(audit_items.document_from_item(item) for item in items[:limit]),
            has_more=len(items) > limit,
        )

    def _cursor(
        self,
        account_sid: str,
        event_sid: str,
        token_sid: str | None,
        event_type: str | None,
        request: Mapping[str, Any],
    ) -> dict[str, Any]:
        item = self._event_item(account_sid, event_sid)
        if item is None:
            raise _cursor_error("is not an event of this account (or it has expired)")
        if token_sid is not None and item[keys.BY_TOKEN_PK]["S"] != keys.token_events_pk(account_sid, token_sid):
            raise _cursor_error("is an event of another token than apiTokenSid")
        if event_type is not None and item["eventType"]["S"] != event_type:
            raise _cursor_error("is an event of another type than type")
        names = ["PK", "SK"]
        if request.get("IndexName") == keys.BY_TOKEN_INDEX:
            names += [keys.BY_TOKEN_PK, keys.BY_TOKEN_SK]
        elif request.get("IndexName") == keys.BY_TYPE_INDEX:
            names += [keys.BY_TYPE_PK, keys.BY_TYPE_SK]
        return {name: item[name] for name in names}

    # -- expiry sweep ----------------------------------------------------------------------------

    def expiring_on(self, day: str) -> tuple[list[ExpiringToken], int, int]:
        """The tokens whose expiresAt falls on `day` (YYYY-MM-DD): one Query per partition of
        that day in the expiry index (keys.expiry_day_pks). Returns them, how many items were
        read and how many partitions were queried."""
        found: list[ExpiringToken] = []
        read = 0
        partitions = keys.expiry_day_pks(day)
        for partition in partitions:
            tokens, items = self._expiring_in(partition)
            found += tokens
            read += items
        return found, read, len(partitions)

    def _expiring_in(self, partition: str) -> tuple[list[ExpiringToken], int]:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "IndexName": keys.BY_EXPIRY_INDEX,
            "KeyConditionExpression": f"{keys.BY_EXPIRY_PK} = :day",
            "ExpressionAttributeValues": {":day": {"S": partition}},
        }
        found: list[ExpiringToken] = []
        read = 0
        while True:
            with driver_errors():
                response = self._table.client.query(**request)
            for item in response.get("Items", []):
                read += 1
                notice = item.get("expiryNotice")
                found.append(
                    ExpiringToken(
                        account_sid=item["accountSid"]["S"],
                        sid=item["sid"]["S"],
                        expires_at=item["expiresAt"]["S"],
                        is_active=bool(item["isActive"]["BOOL"]),
                        notice=int(notice["N"]) if notice else None,
                    )
                )
            if "LastEvaluatedKey" not in response:
                return found, read
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def record_expiry_notice(self, token: ExpiringToken, days_left: int, document: Mapping[str, Any]) -> bool:
        """Marks `days_left` (0: expired) as announced on the token item, with its event, in one
        transaction, unless it (or a nearer one) already was. An expired token also leaves the
        index. False when another run got there first or the token is gone."""
        expression = "SET expiryNotice = :days"
        if days_left == 0:
            expression += f" REMOVE {keys.BY_EXPIRY_PK}, {keys.BY_EXPIRY_SK}"
        try:
            self._table.transact(
                [
                    {
                        "Update": {
                            "Key": keys.token_key(token.account_sid, token.sid),
                            "UpdateExpression": expression,
                            "ConditionExpression": "attribute_exists(PK) AND expiresAt = :expires AND "
                            "(attribute_not_exists(expiryNotice) OR expiryNotice > :days)",
                            "ExpressionAttributeValues": {
                                ":days": {"N": str(days_left)},
                                ":expires": {"S": token.expires_at},
                            },
                        }
                    },
                    self._table.event(document),
                ]
            )
        except ConcurrentModification:
            return False
        return True
