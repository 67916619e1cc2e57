"""The protected APIs' catalogs in the token table (keys.catalog_key, keys.route_claim_key).

Read with one Query by any DynamoDB client of the service (boto3's, or the authorizer's
HttpDynamoDBClient: the same parameters and answer). Written by the catalog function only: a
catalog, the claims of its new routes and the release of its dropped ones in one transaction,
whose conditions refuse a route another catalog claimed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apitokens.domain.catalogs import Catalog
from apitokens.domain.errors import ConcurrentModification
from apitokens.domain.scopes import CatalogError, parse_route
from apitokens.store import keys
from apitokens.store.driver import cancellation_codes, driver_errors


def _catalog_of(item: dict[str, Any]) -> Catalog:
    """A stored catalog (checked when it was written: its scopes are not checked again here)."""
    lines = [value["S"] for value in item.get("routes", {}).get("L", [])]
    return Catalog(
        catalog_id=item["catalogId"]["S"],
        scopes=tuple(value["S"] for value in item.get("scopes", {}).get("L", [])),
        routes=tuple(parse_route(line, known=_Anything()) for line in lines),
    )


class _Anything:
    """Every scope: a stored route's scope was checked when its catalog was written."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


class CatalogStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def read_all(self) -> tuple[Catalog, ...]:
        """Every catalog, in catalog id order."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": keys.CATALOG_PK}, ":prefix": {"S": keys.CATALOG_SK_PREFIX}},
        }
        catalogs: list[Catalog] = []
        while True:
            with driver_errors():
                response = self._client.query(**request)
            catalogs.extend(_catalog_of(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return tuple(catalogs)
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def reader(self) -> Callable[[], tuple[Catalog, ...]]:
        return self.read_all

    def others(self, catalog_id: str) -> tuple[Catalog, ...]:
        return tuple(catalog for catalog in self.read_all() if catalog.catalog_id != catalog_id)

    def find(self, catalog_id: str) -> Catalog | None:
        return next((catalog for catalog in self.read_all() if catalog.catalog_id == catalog_id), None)

    def put(self, catalog: Catalog, previous: Catalog | None) -> None:
        """Writes `catalog` over `previous` (its stored version, or None), claiming its routes."""
        owner = {":owner": {"S": catalog.catalog_id}}
        new = {(route.method, route.resource) for route in catalog.routes}
        old = {(route.method, route.resource) for route in previous.routes} if previous else set()
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": {
                        **keys.catalog_key(catalog.catalog_id),
                        "catalogId": {"S": catalog.catalog_id},
                        "scopes": {"L": [{"S": name} for name in catalog.scopes]},
                        "routes": {"L": [{"S": line} for line in catalog.lines]},
                    }
                }
            }
        ]
        claimed = sorted(new - old)
        items += [
            {
                "Put": {
                    "Item": {**keys.route_claim_key(*route), "owner": {"S": catalog.catalog_id}},
                    "ConditionExpression": "attribute_not_exists(PK) OR #owner = :owner",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": owner,
                }
            }
            for route in claimed
        ]
        items += [self._release(route, owner) for route in sorted(old - new)]
        self._transact(items, claimed)

    def delete(self, catalog_id: str) -> None:
        """Removes the catalog and releases its routes; nothing when there is no such catalog."""
        catalog = self.find(catalog_id)
        if catalog is None:
            return
        owner = {":owner": {"S": catalog_id}}
        items = [{"Delete": {"Key": keys.catalog_key(catalog_id)}}]
        items += [self._release((route.method, route.resource), owner) for route in catalog.routes]
        self._transact(items, [])

    @staticmethod
    def _release(route: tuple[str, str], owner: dict[str, Any]) -> dict[str, Any]:
        return {
            "Delete": {
                "Key": keys.route_claim_key(*route),
                "ConditionExpression": "attribute_not_exists(PK) OR #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": owner,
            }
        }

    def _transact(self, items: list[dict[str, Any]], claimed: list[tuple[str, str]]) -> None:
        on_table = [{kind: {**request, "TableName": self._table} for kind, request in item.items()} for item in items]
        try:
            with driver_errors():
                self._client.transact_write_items(TransactItems=on_table)
        except ConcurrentModification as error:
            codes = cancellation_codes(error.__cause__ or error)
            for index, code in enumerate(codes[1 : 1 + len(claimed)]):
                if code == "ConditionalCheckFailed":
                    method, resource = claimed[index]
                    raise CatalogError(f"{method} {resource} is a route of another catalog") from None
            raise
