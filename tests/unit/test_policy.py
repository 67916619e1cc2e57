from __future__ import annotations

import pytest

from apitokens.auth import policy
from apitokens.domain.errors import Forbidden, InsufficientScope, Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES, route_for

ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER = "acc_zyx987wvu654tsr321qpo000"
METHOD_ARN = f"arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/GET/accounts/{ACCOUNT}/apiTokens"
BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1"


def token(scopes: set[str], account: str = ACCOUNT) -> Principal:
    return Principal("token", "tok_x", frozenset({account}), frozenset(scopes), token_sid="tok_x")


def test_the_catalog_has_the_seeds_19_scopes() -> None:
    assert len(ALL_SCOPES) == 19
    resources = {scope.split(":")[0] for scope in ALL_SCOPES}
    assert resources == {"buckets", "requests", "metrics", "redactions", "exclusions", "workflows", "tokens"}


LIST = "/accounts/{accountSid}/apiTokens"


def test_policy_allows_exactly_the_request_it_answers() -> None:
    decision = policy.iam_policy(token({"tokens:read"}), METHOD_ARN, "GET", LIST)
    [statement] = decision["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
    assert decision["principalId"] == "tok_x"
    assert decision["context"] == {
        "principalType": "token",
        "principalId": "tok_x",
        "accountSids": ACCOUNT,
        "scopes": "tokens:read",
        "tokenSid": "tok_x",
    }
    assert all(isinstance(value, str) for value in decision["context"].values())


def test_policy_without_the_routes_scope_is_an_explicit_deny() -> None:
    decision = policy.iam_policy(token({"buckets:read"}), METHOD_ARN, "GET", LIST)
    [statement] = decision["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{BASE}/*"}
    assert decision["context"]["accountSids"] == ""


def test_the_context_names_only_the_account_of_the_request() -> None:
    person = Principal("user", "u", frozenset({ACCOUNT, OTHER}), ALL_SCOPES)
    decision = policy.iam_policy(person, METHOD_ARN, "GET", LIST)
    assert decision["context"]["accountSids"] == ACCOUNT


@pytest.mark.parametrize(
    "bad_arn", ["", "arn:aws:lambda:us-east-1:1:function:x", "arn:aws:execute-api:us-east-1:1:api"]
)
def test_a_method_arn_that_is_not_one_fails(bad_arn: str) -> None:
    with pytest.raises(ValueError, match="ARN"):
        policy.iam_policy(token({"tokens:read"}), bad_arn, "GET", LIST)


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
    assert route_for("GET", "/accounts/{accountSid}/workflows") is None


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
