from __future__ import annotations

import pytest

from apitokens import policy
from apitokens.errors import Forbidden, InsufficientScope, Unauthenticated
from apitokens.principal import Principal
from apitokens.scopes import ALL_SCOPES, ROUTES, route_for
from apitokens_dev.template import api_routes

ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER = "acc_zyx987wvu654tsr321qpo000"
METHOD_ARN = f"arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/GET/accounts/{ACCOUNT}/apiTokens"
BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1"


def token(scopes: set[str], account: str = ACCOUNT) -> Principal:
    return Principal("token", "tok_x", frozenset({account}), frozenset(scopes), token_sid="tok_x")


def test_the_route_table_matches_template_yaml() -> None:
    declared = {(route.method, route.path) for route in api_routes()}
    assert declared == {(route.method, route.resource) for route in ROUTES}


def test_the_catalog_has_the_seeds_19_scopes() -> None:
    assert len(ALL_SCOPES) == 19
    resources = {scope.split(":")[0] for scope in ALL_SCOPES}
    assert resources == {"buckets", "requests", "metrics", "redactions", "exclusions", "workflows", "tokens"}


def test_policy_allows_exactly_the_permitted_routes() -> None:
    decision = policy.iam_policy(token({"tokens:read"}), METHOD_ARN)
    [statement] = decision["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Resource"]) == sorted(
        [f"{BASE}/GET/accounts/{ACCOUNT}/apiTokens", f"{BASE}/GET/accounts/{ACCOUNT}/apiTokens/*"]
    )
    assert decision["principalId"] == "tok_x"
    assert decision["context"] == {
        "principalType": "token",
        "principalId": "tok_x",
        "accountSids": ACCOUNT,
        "scopes": "tokens:read",
        "tokenSid": "tok_x",
    }
    assert all(isinstance(value, str) for value in decision["context"].values())


def test_policy_without_any_permitted_route_is_an_explicit_deny() -> None:
    decision = policy.iam_policy(token({"buckets:read"}), METHOD_ARN)
    [statement] = decision["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{BASE}/*"}


def test_policy_covers_every_account_of_a_user() -> None:
    person = Principal("user", "u", frozenset({ACCOUNT, OTHER}), ALL_SCOPES)
    resources = policy.iam_policy(person, METHOD_ARN)["policyDocument"]["Statement"][0]["Resource"]
    assert len(resources) == 2 * len(ROUTES)
    assert {resource.split("/")[4] for resource in resources} == {ACCOUNT, OTHER}


@pytest.mark.parametrize(
    "bad_arn", ["", "arn:aws:lambda:us-east-1:1:function:x", "arn:aws:execute-api:us-east-1:1:api"]
)
def test_a_method_arn_that_is_not_one_fails(bad_arn: str) -> None:
    with pytest.raises(ValueError, match="ARN"):
        policy.iam_policy(token({"tokens:read"}), bad_arn)


def test_check_route_reports_account_and_scope_separately() -> None:
    principal = token({"tokens:read"})
    policy.check_route(principal, "GET", "/accounts/{accountSid}/apiTokens", ACCOUNT)
    with pytest.raises(InsufficientScope, match="tokens:write"):
        policy.check_route(principal, "POST", "/accounts/{accountSid}/apiTokens", ACCOUNT)
    with pytest.raises(Forbidden):
        policy.check_route(principal, "GET", "/accounts/{accountSid}/apiTokens", OTHER)
    with pytest.raises(Forbidden):
        policy.check_route(principal, "PATCH", "/accounts/{accountSid}/apiTokens", ACCOUNT)


def test_route_lookup_is_by_method_and_resource() -> None:
    route = route_for("delete", "/accounts/{accountSid}/apiTokens/{apiTokenSid}")
    assert route is not None
    assert route.scope == "tokens:delete"
    assert route_for("GET", "/accounts/{accountSid}/buckets") is None


def test_principal_round_trips_through_the_authorizer_context() -> None:
    principal = Principal(
        "token",
        "tok_a",
        frozenset({ACCOUNT}),
        frozenset({"tokens:read", "tokens:write"}),
        "tok_a",
        "2031-01-01T00:00:00.000Z",
    )
    assert Principal.from_context(principal.to_context()) == principal


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"principalType": "admin", "principalId": "x"},
        {"principalType": "user"},
        {"principalType": "token", "principalId": "x"},
    ],
)
def test_incomplete_contexts_are_unauthenticated(context: dict[str, str] | None) -> None:
    with pytest.raises(Unauthenticated):
        Principal.from_context(context)
