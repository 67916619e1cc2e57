"""The route catalog (routes.txt): its agreement with the templates, its validation, and the
authorizer's policy built from it: exact for every route and principal, and small."""

from __future__ import annotations

import json

import pytest

from apitokens.auth import policy
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES, CATALOG_PATH, ROUTES, CatalogError, Route, parse_catalog
from apitokens_dev.iam import is_allowed
from apitokens_dev.template import PROJECT_ROOT, api_definition

API = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1"
ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER = "acc_zyx987wvu654tsr321qpo000"
TEMPLATES = (PROJECT_ROOT / "template.yaml", PROJECT_ROOT / "examples" / "metrics-api" / "template.yaml")
MAX_AUTHORIZER_RESPONSE = 8 * 1024


def arn(route: Route, account: str, api: str = API) -> str:
    values = {name: f"{name[:3].lower()}_abc123def456ghi789jkl012" for name in route.parameters}
    return policy.route_arn(api, route, {**values, "accountSid": account})


def test_the_catalog_and_the_templates_routes_agree() -> None:
    # Routes without the authorizer (the leak reports) need no scope.
    declared = {
        (route.method, route.path) for path in TEMPLATES for route in api_definition(path).routes if route.authorized
    }
    assert declared == {(route.method, route.resource) for route in ROUTES}


def test_every_template_makes_method_path_and_source_ip_part_of_the_authorizer_cache_key() -> None:
    # What keeps a cached per-request answer exact (AuthorizerCacheTtl > 0), allowedIps included.
    expected = {("header", "Authorization"), ("context", "httpMethod"), ("context", "path")}
    for path in TEMPLATES:
        identity = set(api_definition(path, {"AuthorizerCacheTtl": "300"}).identity)
        assert {*expected, ("context", "identity.sourceIp")} <= identity, path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GET /accounts/{accountSid}/metrics metrics:fly", "line 1: unknown scope 'metrics:fly'"),
        ("# c\nGET /accounts/{accountSid}/metrics", "line 2: expected three fields"),
        ("FETCH /accounts/{accountSid}/metrics metrics:read", "line 1: unknown method 'FETCH'"),
        ("GET /metrics metrics:read", "must start with /accounts/{accountSid}"),
        ("GET /accounts/{accountSid}//metrics metrics:read", "empty or malformed segment"),
        ("GET /accounts/{accountSid}/m/{x}/{x} metrics:read", "repeats a path parameter"),
        ("GET /accounts/{accountSid}/m*t metrics:read", "malformed segment"),
        ("GET /accounts/{accountSid}/m a:b\nGET /accounts/{accountSid}/m metrics:read", "line 1: unknown scope"),
        (
            "GET /accounts/{accountSid}/m metrics:read\nGET /accounts/{accountSid}/m buckets:read",
            "line 2: GET /accounts/{accountSid}/m is listed twice",
        ),
        ("# nothing\n", "lists no route"),
    ],
)
def test_a_bad_catalog_line_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("*", r"\*").replace("{", r"\{").replace("}", r"\}")):
        parse_catalog(text)


def test_adding_a_route_is_one_line() -> None:
    text = CATALOG_PATH.read_text(encoding="utf-8")
    extra = "POST /accounts/{accountSid}/workflows/{workflowSid}/run workflows:write  # a new route\n"
    routes = parse_catalog(text + extra)
    assert routes[-1] == Route("POST", "/accounts/{accountSid}/workflows/{workflowSid}/run", "workflows:write")


def _principals(route_scope: str) -> list[Principal]:
    """Principals of every scope-subset pattern relative to a route: none, exactly its scope,
    every other scope, every scope, and each single scope; as a token of one account and as
    users of two and of 1,000 accounts."""
    patterns = [frozenset(), frozenset({route_scope}), ALL_SCOPES - {route_scope}, ALL_SCOPES]
    patterns += [frozenset({scope}) for scope in sorted(ALL_SCOPES)]
    many = frozenset({ACCOUNT} | {f"acc_{n:024d}" for n in range(999)})
    principals = []
    for scopes in patterns:
        principals.append(Principal("token", "tok_x", frozenset({ACCOUNT}), scopes, token_sid="tok_x"))
        principals.append(Principal("user", "u", frozenset({ACCOUNT, OTHER}), scopes))
        principals.append(Principal("user", "u", many, scopes))
    return principals


@pytest.mark.parametrize("requested", ROUTES, ids=lambda route: f"{route.method} {route.resource}")
def test_the_policy_is_exact_for_every_catalog_route_and_principal(requested: Route) -> None:
    for principal in _principals(requested.scope):
        for account in (ACCOUNT, OTHER, "acc_notheld000000000000000000"):
            decision = policy.iam_policy(principal, arn(requested, account), requested.method, requested.resource)
            document = decision["policyDocument"]
            permitted = principal.may(account, requested.scope)
            for route in ROUTES:
                for other_account in (ACCOUNT, OTHER):
                    target = arn(route, other_account)
                    expected = permitted and route == requested and other_account == account
                    assert is_allowed(document, target) is expected, (principal, requested, route, other_account)
                    # Deeper routes (a future .../roll, .../usage) and other stages stay closed.
                    assert not is_allowed(document, target + "/roll")
                    assert not is_allowed(document, target.replace("/v1/", "/v2/"))
            assert decision["context"]["accountSids"] == (account if permitted else "")


@pytest.mark.parametrize("value", ["*", "?", "tok_*", "a?b"])
def test_a_wildcard_in_the_request_path_is_never_allowed(value: str) -> None:
    route = next(route for route in ROUTES if "{apiTokenSid}" in route.resource)
    principal = Principal("user", "u", frozenset({ACCOUNT}), ALL_SCOPES)
    method_arn = policy.route_arn(API, route, {"accountSid": ACCOUNT, "apiTokenSid": value})
    decision = policy.iam_policy(principal, method_arn, route.method, route.resource)
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_a_method_arn_of_another_route_than_the_event_names_is_denied() -> None:
    principal = Principal("user", "u", frozenset({ACCOUNT}), ALL_SCOPES)
    [list_route] = [route for route in ROUTES if route.method == "GET" and route.resource.endswith("apiTokens")]
    for method_arn in (f"{API}/GET/accounts/{ACCOUNT}/apiTokens/x", f"{API}/POST/accounts/{ACCOUNT}/apiTokens"):
        decision = policy.iam_policy(principal, method_arn, list_route.method, list_route.resource)
        assert not is_allowed(decision["policyDocument"], method_arn)


@pytest.mark.parametrize("http_api", [False, True])
def test_the_answer_stays_under_8_kib_for_1000_accounts_and_every_scope(http_api: bool) -> None:
    # The answer does not depend on AuthorizerCacheTtl (the cache key does): this bound holds
    # with the cache on and off.
    accounts = frozenset({ACCOUNT} | {f"acc_{n:024d}" for n in range(999)})
    person = Principal("user", "user_" + "x" * 200, accounts, ALL_SCOPES)
    largest = 0
    for route in ROUTES:
        for account in (ACCOUNT, OTHER):
            decision = policy.iam_policy(person, arn(route, account), route.method, route.resource)
            answer = policy.http_api_answer(decision) if http_api else decision
            largest = max(largest, len(json.dumps(answer).encode("utf-8")))
    assert largest <= MAX_AUTHORIZER_RESPONSE
    assert largest < 2048  # about 1.1 KB with a 205-character subject, whatever the number of accounts
