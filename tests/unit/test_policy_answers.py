"""The authorizer's answers as API Gateway reads them (policy.py's mutation survivors):
the whole IAM document of an Allow and a Deny, the HTTP API's simple and IAM forms in one answer,
the refusal of an HTTP API, the messages of the handlers' re-check, and method ARNs that are not
one, or whose method is not the route's."""

from __future__ import annotations

import pytest

from apitokens.auth import policy
from apitokens.domain.errors import Forbidden, InsufficientScope
from apitokens.domain.principal import Principal

ACCOUNT = "acc_abc123def456ghi789jkl012"
BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1"
LIST = "/accounts/{accountSid}/apiTokens"
METHOD_ARN = f"{BASE}/GET/accounts/{ACCOUNT}/apiTokens"
# The IAM policy language version API Gateway requires of an authorizer's policy document.
POLICY_VERSION = "2012-10-17"


def reader() -> Principal:
    return Principal("token", "tok_x", frozenset({ACCOUNT}), frozenset({"tokens:read"}), token_sid="tok_x")


def test_an_allow_is_one_versioned_statement_on_exactly_this_request() -> None:
    decision = policy.iam_policy(reader(), METHOD_ARN, "GET", LIST)
    assert decision["policyDocument"] == {
        "Version": POLICY_VERSION,
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}],
    }
    assert set(decision) == {"principalId", "policyDocument", "context"}


def test_a_deny_is_one_versioned_statement_on_the_whole_stage() -> None:
    decision = policy.iam_policy(reader(), f"{BASE}/POST/accounts/{ACCOUNT}/apiTokens", "POST", LIST)
    assert decision["policyDocument"] == {
        "Version": POLICY_VERSION,
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{BASE}/*"}],
    }


@pytest.mark.parametrize("method", ["XGET", "XXGET", "GETX", "get"])
def test_a_method_arn_whose_method_is_not_the_routes_is_denied(method: str) -> None:
    decision = policy.iam_policy(reader(), f"{BASE}/{method}/accounts/{ACCOUNT}/apiTokens", "GET", LIST)
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Deny"


@pytest.mark.parametrize(
    "bad_arn",
    [
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234//GET/accounts/x/apiTokens",  # no stage
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234",  # no stage, no slash
        ":execute-api:eu-west-1:123456789012:abcdef1234/v1/GET/x",  # no prefix
    ],
)
def test_a_method_arn_without_prefix_or_stage_is_not_one(bad_arn: str) -> None:
    with pytest.raises(ValueError, match=r"^not an execute-api method ARN$"):
        policy.iam_policy(reader(), bad_arn, "GET", LIST)
    with pytest.raises(ValueError, match=r"^not an execute-api method ARN$"):
        policy.http_api_refusal(bad_arn)


def test_an_http_api_answer_carries_the_simple_and_the_iam_form() -> None:
    allowed = policy.http_api_answer(policy.iam_policy(reader(), METHOD_ARN, "GET", LIST))
    assert allowed["isAuthorized"] is True
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["principalId"] == "tok_x"
    denied_arn = f"{BASE}/DELETE/accounts/{ACCOUNT}/apiTokens"
    denied = policy.http_api_answer(policy.iam_policy(reader(), denied_arn, "GET", LIST))
    assert denied["isAuthorized"] is False
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_an_http_api_refusal_is_a_deny_on_the_stage_with_no_context() -> None:
    assert policy.http_api_refusal(f"{BASE}/GET/accounts/{ACCOUNT}/apiTokens") == {
        "isAuthorized": False,
        "principalId": "anonymous",
        "policyDocument": {
            "Version": POLICY_VERSION,
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{BASE}/*"}],
        },
        "context": {},
    }


def test_the_handlers_recheck_says_what_is_missing() -> None:
    with pytest.raises(InsufficientScope) as missing_scope:
        policy.check_route(reader(), "POST", LIST, ACCOUNT)
    assert str(missing_scope.value) == "This route needs the tokens:write scope, which these credentials do not have."
    with pytest.raises(Forbidden) as other_account:
        policy.check_route(reader(), "GET", LIST, "acc_zyx987wvu654tsr321qpo000")
    assert str(other_account.value) == "These credentials do not grant access to this account."
