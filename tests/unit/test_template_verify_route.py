"""template.yaml's verify route and cross-account use: AWS_IAM on POST /apiTokens/verify only
(API Gateway invokes the function through its own permission, never with the caller's
credentials), a resource policy that keeps every other route open and the verify route to this
account and VerifyCallerAccountIds, the route's ARN as an output, and one Lambda permission for
API Gateway per account of AuthorizerCallerAccountIds."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apitokens_dev.template import api_routes, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
VERIFY = ("POST", "/apiTokens/verify")
ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"]


def events() -> list[dict[str, Any]]:
    return [
        event["Properties"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api"
    ]


def test_aws_iam_authorizes_the_verify_route_and_no_other() -> None:
    iam = [
        (event["Method"].upper(), event["Path"])
        for event in events()
        if (event.get("Auth") or {}).get("Authorizer") == "AWS_IAM"
    ]
    assert iam == [VERIFY]
    [verify] = [event for event in events() if (event["Method"].upper(), event["Path"]) == VERIFY]
    # NONE: API Gateway calls the function through the function's resource policy; SAM's default
    # (CALLER_CREDENTIALS) would invoke it with the caller's own credentials.
    assert verify["Auth"] == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}
    [route] = [route for route in api_routes() if (route.method, route.path) == VERIFY]
    assert (route.iam, route.authorized) == (True, False)  # what the local gateway enforces


def test_the_verify_function_reads_and_touches_the_table_only() -> None:
    properties = RESOURCES["VerifyTokenFunction"]["Properties"]
    [statement] = properties["Policies"][0]["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["TokensTable", "Arn"]}


def test_the_resource_policy_opens_every_route_and_narrows_the_verify_route_to_listed_accounts() -> None:
    [api] = [resource for resource in RESOURCES.values() if resource["Type"] == "AWS::Serverless::Api"]
    allow, deny = api["Properties"]["Auth"]["ResourcePolicy"]["CustomStatements"]
    assert allow == {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
    assert deny["Effect"] == "Deny"
    assert (deny["Principal"], deny["Action"]) == ("*", "execute-api:Invoke")
    assert deny["Resource"] == "execute-api:/*/POST/apiTokens/verify"
    accounts = deny["Condition"]["StringNotEquals"]["aws:PrincipalAccount"]
    assert accounts == {"Fn::Split": [",", {"Fn::Sub": "${AWS::AccountId},${VerifyCallerAccountIds}"}]}
    pattern = re.compile(TEMPLATE["Parameters"]["VerifyCallerAccountIds"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch(",".join(ACCOUNTS * 3))
    assert not pattern.fullmatch("12345678901")
    assert not pattern.fullmatch("111111111111,")


def test_the_verify_routes_arn_is_an_output() -> None:
    value = TEMPLATE["Outputs"]["VerifyRouteArn"]["Value"]["Fn::Sub"]
    assert value == "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/v1/POST/apiTokens/verify"


def _slot(condition: dict[str, Any], value: str) -> str:
    """Evaluates `!Select [i, !Split [",", !Sub "${AuthorizerCallerAccountIds}..."]]` for a value."""
    index, (separator, substituted) = condition["Fn::Select"][0], condition["Fn::Select"][1]["Fn::Split"]
    text = substituted["Fn::Sub"].replace("${AuthorizerCallerAccountIds}", value)
    return str(text.split(separator)[index])


@pytest.mark.parametrize("count", range(6))
def test_each_listed_account_gets_a_permission_to_invoke_the_authorizer(count: int) -> None:
    value = ",".join(ACCOUNTS[:count])
    assert re.fullmatch(TEMPLATE["Parameters"]["AuthorizerCallerAccountIds"]["AllowedPattern"], value)
    granted = []
    for number in range(1, 6):
        permission = RESOURCES[f"AuthorizerCrossAccountPermission{number}"]
        properties = permission["Properties"]
        assert (properties["Action"], properties["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        assert properties["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
        condition = TEMPLATE["Conditions"][permission["Condition"]]
        [[selected, empty]] = [condition["Fn::Not"][0]["Fn::Equals"]]
        assert empty == ""
        if _slot(selected, value):
            assert _slot(properties["SourceAccount"], value) == _slot(selected, value)
            granted.append(_slot(properties["SourceAccount"], value))
    assert granted == ACCOUNTS[:count]


def test_more_than_five_authorizer_accounts_are_refused_by_the_parameter() -> None:
    pattern = TEMPLATE["Parameters"]["AuthorizerCallerAccountIds"]["AllowedPattern"]
    assert not re.fullmatch(pattern, ",".join([*ACCOUNTS, "666666666666"]))
    assert not re.fullmatch(pattern, "111111111111,,222222222222")
