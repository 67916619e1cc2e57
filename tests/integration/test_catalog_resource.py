"""Custom::ApiTokensCatalog on moto: the catalog function creates, updates and deletes a protected
API's catalog in the token table; a malformed one fails naming the line and changes nothing; the
authorizer and token creation follow the catalogs within the minute, with no read per request."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apitokens.domain import catalogs, scopes
from apitokens.store.catalogs import CatalogStore
from apitokens.wire import custom_resource
from tests.harness import ACCOUNT, TABLE, Functions, scan_table, user
from tests.harness.lambdas import authorizer_event

STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/billing/4b0c1f40-0000-0000-0000-000000000000"
BILLING_ROUTES = [
    "GET /accounts/{accountSid}/invoices invoices:read",
    "POST /accounts/{accountSid}/invoices invoices:write",
]
BILLING: dict[str, Any] = {
    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:catalog",
    "Scopes": ["invoices:read", "invoices:write"],
    "Routes": BILLING_ROUTES,
}


def request(kind: str, properties: dict[str, Any], physical_id: str | None = None, **event: Any) -> dict[str, Any]:
    base = {
        "RequestType": kind,
        "StackId": STACK,
        "LogicalResourceId": "BillingCatalog",
        "RequestId": f"req-{kind}",
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/x",
        "ResourceProperties": properties,
    }
    if physical_id is not None:
        base["PhysicalResourceId"] = physical_id
    return {**base, **event}


def catalog_items(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in scan_table(dynamodb) if item["PK"]["S"] == "CATALOG"]


@pytest.fixture
def store(dynamodb: Any) -> CatalogStore:
    return CatalogStore(dynamodb, TABLE)


def test_create_update_and_delete(dynamodb: Any, store: CatalogStore) -> None:
    physical_id, reason = custom_resource.apply(request("Create", BILLING), store)
    assert (physical_id, reason) == ("billing.BillingCatalog", None)
    [catalog] = store.read_all()
    assert catalog.scopes == ("invoices:read", "invoices:write")
    assert catalog.lines == tuple(BILLING["Routes"])

    updated = {**BILLING, "Routes": ["GET /accounts/{accountSid}/invoices/{invoiceSid} invoices:read"]}
    assert custom_resource.apply(request("Update", updated, physical_id), store) == (physical_id, None)
    [catalog] = store.read_all()
    assert catalog.lines == ("GET /accounts/{accountSid}/invoices/{invoiceSid} invoices:read",)
    claims = sorted(item["SK"]["S"] for item in catalog_items(dynamodb) if item["SK"]["S"].startswith("ROUTE#"))
    assert claims == ["ROUTE#GET /accounts/{accountSid}/invoices/{invoiceSid}"]

    assert custom_resource.apply(request("Delete", updated, physical_id), store) == (physical_id, None)
    assert store.read_all() == ()
    assert catalog_items(dynamodb) == []


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Routes": ["GET /accounts/{accountSid}/invoices"]}, "Routes line 1 'GET /accounts/{accountSid}/invoices': "),
        ({"Routes": ["GET /accounts/{accountSid}/x invoices:fly"]}, "Routes line 1 "),
        ({"Scopes": ["Invoices"], "Routes": []}, "Scopes item 1 'Invoices': not a scope"),
        ({"Routes": ["GET /invoices invoices:read"]}, "must start with /accounts/{accountSid}"),
        ({"Routes": ["GET /accounts/{accountSid}/apiTokens invoices:read"]}, "is a route of the token stack"),
        ({"Routes": [*BILLING_ROUTES, BILLING_ROUTES[0]]}, "Routes line 3 "),
        ({"Routes": "GET /accounts/{accountSid}/invoices invoices:read"}, "Routes must be a list of strings"),
        ({"Extra": 1}, "unknown property 'Extra'"),
    ],
)
def test_a_malformed_catalog_fails_naming_the_fault_and_changes_nothing(
    dynamodb: Any, store: CatalogStore, properties: dict[str, Any], message: str
) -> None:
    physical_id, _ = custom_resource.apply(request("Create", BILLING), store)
    before = catalog_items(dynamodb)
    malformed = {**BILLING, **properties}
    _, reason = custom_resource.apply(request("Update", malformed, physical_id), store)
    assert reason is not None
    assert message in reason, reason
    assert catalog_items(dynamodb) == before
    failed_id, reason = custom_resource.apply(request("Create", malformed, LogicalResourceId="Other"), store)
    assert reason is not None
    assert failed_id.startswith(custom_resource.FAILED_CREATE_PREFIX)
    # The Delete of the failed Create removes nothing.
    assert custom_resource.apply(request("Delete", malformed, failed_id), store) == (failed_id, None)
    assert catalog_items(dynamodb) == before


def test_a_route_another_catalog_owns_is_refused_not_merged(dynamodb: Any, store: CatalogStore) -> None:
    custom_resource.apply(request("Create", BILLING), store)
    before = catalog_items(dynamodb)
    other = {"Scopes": ["reports:read"], "Routes": ["GET /accounts/{accountSid}/invoices reports:read"]}
    _, reason = custom_resource.apply(request("Create", other, LogicalResourceId="Reports"), store)
    assert reason == (
        "Routes line 1 'GET /accounts/{accountSid}/invoices reports:read': "
        "GET /accounts/{accountSid}/invoices is a route of catalog billing.BillingCatalog"
    )
    assert catalog_items(dynamodb) == before
    # A route may use another catalog's scope.
    shared = {"Routes": ["GET /accounts/{accountSid}/invoices/summary invoices:read"]}
    assert custom_resource.apply(request("Create", shared, LogicalResourceId="Summary"), store)[1] is None


def test_the_claim_refuses_a_route_claimed_between_check_and_write(store: CatalogStore) -> None:
    first = catalogs.check("a.A", BILLING, ())
    second = catalogs.check("b.B", BILLING, ())  # checked before `first` was written
    store.put(first, None)
    with pytest.raises(scopes.CatalogError, match="is a route of another catalog"):
        store.put(second, None)
    assert [catalog.catalog_id for catalog in store.read_all()] == ["a.A"]


def test_the_authorizer_and_token_creation_follow_the_catalogs(functions: Functions, store: CatalogStore) -> None:
    invoices = scopes.Route("GET", "/accounts/{accountSid}/invoices", "invoices:read")
    unknown = functions.create(scopes=["invoices:read"])
    assert unknown.status == 400
    assert "'invoices:read'" in str(unknown.body)

    custom_resource.apply(request("Create", BILLING), store)
    # Each function reads the catalogs again once the last read is a minute old.
    scopes.use_declarations(catalogs.CatalogCache(store.read_all))
    holder = user(scopes=frozenset({"tokens:write", "invoices:read"}))
    created = functions.create(scopes=["invoices:read"], principal=holder)
    assert created.status == 201, created.body
    secret = created.body["token"]
    decision = functions.authorize(authorizer_event(f"Bearer {secret}", invoices))
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    other = functions.authorize(authorizer_event(f"Bearer {secret}", scopes.ROUTES[0]))
    assert other["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_catalogs_are_read_once_a_minute_not_per_request() -> None:
    reads: list[int] = []
    now = [1000.0]

    def read() -> tuple[catalogs.Catalog, ...]:
        reads.append(1)
        return (catalogs.check("billing.BillingCatalog", BILLING, ()),)

    cache = catalogs.CatalogCache(read, clock=lambda: now[0])
    for _ in range(100):
        assert "invoices:read" in cache().scopes
    assert len(reads) == 1
    now[0] += 59.9
    cache()
    assert len(reads) == 1
    now[0] += 0.2
    cache()
    assert len(reads) == 2


def test_a_failed_refresh_keeps_the_last_catalogs_and_a_failed_first_read_fails_closed() -> None:
    now = [0.0]
    answers: list[Any] = [(catalogs.check("b.B", BILLING, ()),), RuntimeError("store down")]

    def read() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = catalogs.CatalogCache(read, clock=lambda: now[0])
    first = cache()
    now[0] = 61.0
    assert cache() is first
    with pytest.raises(RuntimeError):
        catalogs.CatalogCache(lambda: (_ for _ in ()).throw(RuntimeError("down")))()


def test_the_response_cloudformation_gets(store: CatalogStore) -> None:
    event = request("Create", BILLING)
    body = custom_resource.response_body(event, "billing.BillingCatalog", None)
    assert b'"Status": "SUCCESS"' in body
    assert b'"PhysicalResourceId": "billing.BillingCatalog"' in body
    failed = custom_resource.response_body(copy.deepcopy(event), "failed-x", "Routes line 1 ...")
    assert b'"Status": "FAILED"' in failed
    assert b'"Reason": "Routes line 1 ..."' in failed


def test_user_principal_of_the_account_holds_catalog_scopes_only_when_given(store: CatalogStore) -> None:
    custom_resource.apply(request("Create", BILLING), store)
    scopes.use_declarations(catalogs.CatalogCache(store.read_all))
    assert {"invoices:read", "invoices:write"} <= scopes.known_scopes()
    assert "invoices:read" not in user(accounts=(ACCOUNT,)).scopes
    assert scopes.route_for("POST", "/accounts/{accountSid}/invoices") == scopes.Route(
        "POST", "/accounts/{accountSid}/invoices", "invoices:write"
    )
