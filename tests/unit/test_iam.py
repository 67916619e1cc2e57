from typing import Any

from apitokens_dev.iam import is_allowed

ARN = "arn:aws:execute-api:us-east-1:1:api/v1/GET/accounts/acc_1/apiTokens"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_allow_must_match_and_deny_wins() -> None:
    allow = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [ARN]}
    deny_all = {
        "Effect": "Deny",
        "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:us-east-1:1:api/v1/*",
    }
    assert is_allowed(policy(allow), ARN)
    assert not is_allowed(policy(allow), ARN + "/tok_1")
    assert not is_allowed(policy(allow, deny_all), ARN)
    assert not is_allowed(policy(), ARN)


def test_wildcards_are_only_star_and_question_mark() -> None:
    star = {"Effect": "Allow", "Action": "execute-api:*", "Resource": ARN.replace("acc_1", "acc_?") + "/*"}
    assert is_allowed(policy(star), ARN + "/tok_1")
    assert not is_allowed(policy(star), ARN.replace("acc_1", "acc_12") + "/tok_1")
    brackets = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN.replace("acc_1", "acc_[0-9]")}
    assert not is_allowed(policy(brackets), ARN)
