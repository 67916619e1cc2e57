"""The authorizer's Deny names a missing scope in its context, and template.yaml's ACCESS_DENIED
response puts it in the 403's message: only for a principal that holds the request's account;
never for another account, an unknown route, or an Allow. The 401 body has no variable at all:
one body for every refused credential."""

from __future__ import annotations

import json

import pytest

from apitokens.auth import policy
from apitokens.domain.principal import Principal
from apitokens_dev.gateway import GatewayResponses
from apitokens_dev.template import gateway_responses

ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER = "acc_xyz789uvw012rst345opq678"
API = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1"
TOKENS = "/accounts/{accountSid}/apiTokens"
GENERIC = "These credentials do not grant access to this account or route."


def decision(scopes: set[str], method: str, resource: str, path: str) -> dict[str, object]:
    principal = Principal("token", "tok_x", frozenset({ACCOUNT}), frozenset(scopes), token_sid="tok_x")
    return policy.iam_policy(principal, f"{API}/{method}{path}", method, resource)


def effect(answer: dict[str, object]) -> str:
    return str(answer["policyDocument"]["Statement"][0]["Effect"])  # type: ignore[index]


def test_a_missing_scope_is_named_in_the_deny_context() -> None:
    answer = decision({"metrics:read"}, "GET", TOKENS, f"/accounts/{ACCOUNT}/apiTokens")
    assert effect(answer) == "Deny"
    assert answer["context"][policy.DENIED_BECAUSE] == (  # type: ignore[index]
        " This route needs the scope tokens:read, which these credentials do not hold."
    )


@pytest.mark.parametrize(
    ("scopes", "method", "resource", "path"),
    [
        ({"tokens:read"}, "GET", TOKENS, f"/accounts/{OTHER}/apiTokens"),  # another account
        (set(), "GET", TOKENS, f"/accounts/{OTHER}/apiTokens"),  # another account, no scope either
        ({"tokens:read"}, "GET", "/accounts/{accountSid}/nothing", f"/accounts/{ACCOUNT}/nothing"),  # no route
        ({"tokens:read"}, "GET", TOKENS, f"/accounts/{ACCOUNT}/apiTokens"),  # allowed
    ],
)
def test_no_reason_is_given_otherwise(scopes: set[str], method: str, resource: str, path: str) -> None:
    assert policy.DENIED_BECAUSE not in decision(scopes, method, resource, path)["context"]  # type: ignore[operator]


def test_the_gateways_403_carries_the_reason_and_its_401_has_no_variable() -> None:
    templates = {
        name: definition["ResponseTemplates"]["application/json"] for name, definition in gateway_responses().items()
    }
    assert f"$context.authorizer.{policy.DENIED_BECAUSE}" in templates["ACCESS_DENIED"]
    assert "$context" not in templates["UNAUTHORIZED"]
    responses = GatewayResponses.from_template()
    reason = decision({"metrics:read"}, "GET", TOKENS, f"/accounts/{ACCOUNT}/apiTokens")["context"]
    named = json.loads(responses.render("ACCESS_DENIED", "r", authorizer=reason).body)  # type: ignore[arg-type]
    assert (
        named["error"]["message"]
        == f"{GENERIC} This route needs the scope tokens:read, which these credentials do not hold."
    )
    # Without the authorizer's context (the IAM-authorized route), the variable is empty.
    assert json.loads(responses.render("ACCESS_DENIED", "r").body) == {
        "error": {"code": "forbidden", "message": GENERIC}
    }
