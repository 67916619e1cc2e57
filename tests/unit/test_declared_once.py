"""Each route and each function declared once: the route declarations (token_api) and the
templates, the handlers' wiring, the generated parts of template.yaml, the default deploy and
the runbook agree."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apitokens.domain import token_api
from apitokens.domain.scopes import ALL_SCOPES
from apitokens_dev import monitoring, not_allowed
from apitokens_dev.template import PROJECT_ROOT, TEMPLATE_PATH, any_method_answers, api_routes, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = sorted(name for name, value in RESOURCES.items() if value["Type"] == "AWS::CloudWatch::Alarm")


def test_the_templates_api_events_are_the_declared_routes() -> None:
    declared = {
        (operation.method, operation.path, f"functions/{operation.function}/", operation.scope is not None)
        for operation in token_api.OPERATIONS
    }
    in_template = {
        (route.method, route.path, f"{route.code_uri.relative_to(PROJECT_ROOT)}/", route.authorized)
        for route in api_routes()
    }
    assert in_template == declared
    assert all(operation.scope is None or operation.scope in ALL_SCOPES for operation in token_api.OPERATIONS)
    assert len({operation.operation_id for operation in token_api.OPERATIONS}) == len(token_api.OPERATIONS)


RESOLVER_OPERATIONS = [operation for operation in token_api.OPERATIONS if not operation.iam]
IAM_OPERATIONS = [operation for operation in token_api.OPERATIONS if operation.iam]


@pytest.mark.parametrize("operation", RESOLVER_OPERATIONS, ids=lambda operation: operation.function)
def test_each_handler_serves_its_declared_route_through_the_one_helper(operation: token_api.Operation) -> None:
    source = (PROJECT_ROOT / "functions" / operation.function / "app.py").read_text(encoding="utf-8")
    assert re.findall(r"@route\(app, token_api\.(\w+)\)", source) == [operation.function.upper()]
    assert getattr(token_api, operation.function.upper()) is operation
    assert "\nhandler = lambda_handler(app)\n" in source
    # No copy of the wrapper the helper replaces, no route spelled a second time.
    assert "inject_lambda_context" not in source
    assert "@app." not in source


@pytest.mark.parametrize("operation", IAM_OPERATIONS, ids=lambda operation: operation.function)
def test_an_iam_route_is_served_from_its_declaration_without_the_resolver(operation: token_api.Operation) -> None:
    # Built as the authorizer is (its warm goal): no resolver to route, but its one declaration.
    source = (PROJECT_ROOT / "functions" / operation.function / "app.py").read_text(encoding="utf-8")
    assert f"OPERATION = token_api.{operation.function.upper()}\n" in source
    assert getattr(token_api, operation.function.upper()) is operation
    assert operation.scope is None
    route = next(route for route in api_routes() if (route.method, route.path) == (operation.method, operation.path))
    assert route.iam
    assert not route.authorized
    assert "aws_lambda_powertools" not in source


def test_the_committed_template_is_what_the_generator_renders() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert monitoring.render(text, TEMPLATE) == text, "run `make template`"


def test_a_new_function_gets_its_log_group_alarms_and_dashboard_lines() -> None:
    template = load_template()
    template["Resources"]["NewFunction"] = {"Type": "AWS::Serverless::Function", "Properties": {}}
    block = monitoring.render_block(template)
    for name in ("NewFunctionLogGroup:", "NewFunctionErrorRateAlarm:", "NewFunctionThrottlesAlarm:"):
        assert f"\n  {name}\n" in block
    assert block.count('"FunctionName", "${NewFunction}"') == len(monitoring.FUNCTION_WIDGETS)
    assert "${NewFunctionErrorRateAlarm.Arn}" in block


def test_every_path_answers_405_with_the_methods_its_routes_declare() -> None:
    answers = {answer.path: answer for answer in any_method_answers()}
    assert set(answers) == {operation.path for operation in token_api.OPERATIONS}
    for path, answer in answers.items():
        methods = [operation.method for operation in token_api.OPERATIONS if operation.path == path]
        assert answer.status == 405
        assert answer.headers["Allow"] == ", ".join([*methods, "OPTIONS"])
        assert '"code": "method_not_allowed"' in answer.body
    api = next(value["Properties"] for value in RESOURCES.values() if value["Type"] == "AWS::Serverless::Api")
    # SAM adds the functions' events to this definition only when asked to.
    assert api["MergeDefinitions"] is True
    for methods in api["DefinitionBody"]["paths"].values():
        assert methods["x-amazon-apigateway-any-method"]["security"] == [{"NONE": []}]
    assert not_allowed.allow(token_api.TOKEN) == "GET, PUT, DELETE, OPTIONS"


def _conditions_for(access_logs: str) -> dict[str, bool]:
    """template.yaml's conditions this parameter decides, for one of its values."""
    return {"CreateAccountRole": access_logs == "create-account-role", "AccessLogsOn": access_logs != "off"}


def _stands(resource: dict[str, Any], conditions: dict[str, bool]) -> bool:
    return conditions.get(resource.get("Condition", ""), True)


@pytest.mark.parametrize("access_logs", TEMPLATE["Parameters"]["ApiAccessLogs"]["AllowedValues"])
def test_the_access_log_setting_never_stands_without_the_accounts_role(access_logs: str) -> None:
    parameter = TEMPLATE["Parameters"]["ApiAccessLogs"]
    conditions_text = TEMPLATE["Conditions"]
    assert conditions_text["CreateAccountRole"] == {"Fn::Equals": [{"Ref": "ApiAccessLogs"}, "create-account-role"]}
    assert conditions_text["AccessLogsOn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiAccessLogs"}, "off"]}]}
    conditions = _conditions_for(access_logs)
    api = next(value["Properties"] for value in RESOURCES.values() if value["Type"] == "AWS::Serverless::Api")
    condition, setting, _ = api["AccessLogSetting"]["Fn::If"]
    logs_on = conditions[condition]
    group = RESOURCES[setting["DestinationArn"]["Fn::GetAtt"][0]]
    assert _stands(group, conditions) == logs_on
    role_created = _stands(RESOURCES["ApiGatewayAccount"], conditions)
    assert role_created == _stands(RESOURCES["ApiGatewayCloudWatchRole"], conditions)
    if logs_on:
        # The role is the stack's (created before the stage: the log group the stage names
        # refers to the account setting), or the operator says the account has one.
        assert role_created or access_logs == "account-role-set"
    if role_created:
        tag = next(tag for tag in group["Properties"]["Tags"] if tag["Key"] == "apigateway-account")
        assert tag["Value"]["Fn::If"][:2] == ["CreateAccountRole", {"Ref": "ApiGatewayAccount"}]
        # The account setting outlives the stack: the role it names must too.
        assert RESOURCES["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"
    if access_logs == parameter["Default"]:
        # The default deploys whether or not the account's role was set before.
        assert role_created
        assert logs_on


def test_prod_deploys_on_the_default_concurrency_quota_and_the_header_promises_nothing_absent() -> None:
    import tomllib

    text = (PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8")
    config = tomllib.loads(text)
    for environment in ("dev", "prod"):
        names = {item.split("=", 1)[0] for item in config[environment]["deploy"]["parameters"]["parameter_overrides"]}
        assert "AuthorizerReservedConcurrency" not in names, environment
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert "eplace" not in header


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_has_its_runbook_entry(alarm: str) -> None:
    runbook = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8").split("### Runbook", 1)[1]
    function = re.fullmatch(r"(\w+Function)(ErrorRateAlarm|ThrottlesAlarm)", alarm)
    entry = f"`<Function>{function.group(2)}`" if function else f"`{alarm}`"
    assert f"- **{entry}**" in runbook


def test_the_authorizers_route_catalog_loads_neither_pydantic_nor_powertools() -> None:
    import subprocess
    import sys

    code = (
        "import sys, apitokens.auth.policy, apitokens.domain.scopes, apitokens.domain.token_api; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'aws_lambda_powertools', 'jwt'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
