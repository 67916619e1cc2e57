"""template.yaml is operable in production, for every function it has or will have: each has a
log group with the retention parameter, error-rate and throttles alarms to the alarm topic, and
a line on every per-function widget of the dashboard; the API logs access in JSON and is
throttled; every parameter and output is in docs/deploy.md."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from apitokens_dev.monitoring import FUNCTION_WIDGETS
from apitokens_dev.template import PROJECT_ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(name for name, value in RESOURCES.items() if value["Type"] == "AWS::Serverless::Function")
ALARMS = {name: value["Properties"] for name, value in RESOURCES.items() if value["Type"] == "AWS::CloudWatch::Alarm"}
# The configuration reference: every parameter and output of the stack.
CONFIGURATION = (PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def api() -> dict[str, Any]:
    [properties] = [value["Properties"] for value in RESOURCES.values() if value["Type"] == "AWS::Serverless::Api"]
    return dict(properties)


def alarms_on(namespace: str, metric: str, dimension_value: Any) -> list[str]:
    return [
        name
        for name, alarm in ALARMS.items()
        if alarm.get("Namespace") == namespace
        and alarm.get("MetricName") == metric
        and any(dimension["Value"] == dimension_value for dimension in alarm.get("Dimensions", []))
    ]


def test_there_are_functions() -> None:
    assert "AuthorizerFunction" in FUNCTIONS
    assert len(FUNCTIONS) >= 2


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_a_group_with_retention(function: str) -> None:
    logging = RESOURCES[function]["Properties"].get("LoggingConfig") or {}
    group = logging.get("LogGroup", {}).get("Ref")
    assert group, f"{function} has no LoggingConfig.LogGroup: its logs would never expire"
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def metric_math(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm's queries by id: each metric's (namespace, name, dimensions) or its expression."""
    queries: dict[str, Any] = {}
    for query in alarm.get("Metrics", []):
        if "Expression" in query:
            queries[query["Id"]] = query["Expression"]
        else:
            metric = query["MetricStat"]["Metric"]
            queries[query["Id"]] = (metric["Namespace"], metric["MetricName"], metric["Dimensions"])
    return queries


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_error_rate_alarm_over_a_minimum_of_invocations(function: str) -> None:
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function}}]
    rates = [
        name
        for name, alarm in ALARMS.items()
        if metric_math(alarm).get("errors") == ("AWS/Lambda", "Errors", dimensions)
        and metric_math(alarm).get("invocations") == ("AWS/Lambda", "Invocations", dimensions)
    ]
    assert rates, f"{function} has no error-rate alarm"
    for name in rates:
        alarm = ALARMS[name]
        expression = metric_math(alarm)["rate"]["Fn::Sub"]
        # A percentage of the invocations, and nothing below the minimum.
        assert re.fullmatch(
            r"IF\(invocations >= (\$\{ErrorRateMinimumInvocations\}|1), 100 \* FILL\(errors, 0\) / invocations, 0\)",
            expression,
        )
        assert alarm["Threshold"] == {"Ref": "ErrorRatePercent"}
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # No alarm pages on a single error of a function that serves requests.
    assert not alarms_on("AWS/Lambda", "Errors", {"Ref": function})


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_throttles_alarm_to_the_topic(function: str) -> None:
    names = alarms_on("AWS/Lambda", "Throttles", {"Ref": function})
    assert names, f"{function} has no Throttles alarm"
    for name in names:
        assert ALARMS[name]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_on_every_function_widget_of_the_dashboard(function: str) -> None:
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]  # the body is valid JSON before substitution too
    by_title = {widget["properties"]["title"]: widget for widget in widgets}
    for expected in FUNCTION_WIDGETS:
        lines = by_title[expected.title]["properties"]["metrics"]
        assert ["AWS/Lambda", expected.metric, "FunctionName", f"${{{function}}}"] in lines, expected.title
    alarm_widget = next(widget for widget in widgets if widget["type"] == "alarm")
    assert {f"${{{name}.Arn}}" for name in ALARMS} == set(alarm_widget["properties"]["alarms"])


def test_every_alarm_notifies_the_topic_and_the_email_is_optional() -> None:
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    assert RESOURCES["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_api_table_and_authorizer_alarms_exist() -> None:
    api_name = {"Ref": "AWS::StackName"}
    assert api()["Name"] == api_name
    assert alarms_on("AWS/ApiGateway", "5XXError", api_name)
    latency = alarms_on("AWS/ApiGateway", "Latency", api_name)
    assert latency
    assert ALARMS[latency[0]]["ExtendedStatistic"] == "p99"
    assert alarms_on("ApiTokens", "CredentialsRefused", "apitokens")
    assert alarms_on("ApiTokens", "StoreUnavailable", "apitokens")
    expressions = " ".join(
        json.dumps(metric.get("MetricStat", {})) for alarm in ALARMS.values() for metric in alarm.get("Metrics", [])
    )
    assert "SystemErrors" in expressions


def test_no_alarm_counts_dynamodb_throttles_a_request_survives() -> None:
    # A throttled write nobody waits for (lastUsedAt) or one the client's retries absorbed is no
    # failed request: the table's throttle events are on the dashboard, not in an alarm.
    for name, alarm in ALARMS.items():
        text = json.dumps(alarm)
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests"):
            assert metric not in text, name


def test_access_logs_are_json_with_the_request_and_authorizer_fields() -> None:
    condition, setting, otherwise = api()["AccessLogSetting"]["Fn::If"]
    assert (condition, otherwise) == ("AccessLogsOn", {"Ref": "AWS::NoValue"})
    group = setting["DestinationArn"]["Fn::GetAtt"][0]
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    line = json.loads(" ".join(setting["Format"].split()))
    for variable in (
        "requestId",
        "extendedRequestId",
        "identity.sourceIp",
        "httpMethod",
        "resourcePath",
        "status",
        "responseLatency",
        "authorizer.principalId",
        "authorizer.error",
        "authorizer.latency",
        "integration.latency",
    ):
        assert f"$context.{variable}" in line.values(), variable
    assert not any("header" in value.lower() for value in line.values())  # never a credential


def test_stage_and_unauthenticated_routes_are_throttled() -> None:
    settings = api()["MethodSettings"]
    stage = next(item for item in settings if item["ResourcePath"] == "/*" and item["HttpMethod"] == "*")
    assert stage["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert stage["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    throttled = {
        (item["ResourcePath"], item["HttpMethod"])
        for item in settings
        if item.get("ThrottlingRateLimit") == {"Ref": "UnauthenticatedRateLimit"}
    }
    # Every route that runs no authorizer: CORS preflight on every path, and any route whose
    # event says Auth.Authorizer: NONE (a webhook).
    unauthenticated = set()
    for function in FUNCTIONS:
        for event in (RESOURCES[function]["Properties"].get("Events") or {}).values():
            if event["Type"] != "Api":
                continue
            path = event["Properties"]["Path"].replace("/", "~1")
            unauthenticated.add((path, "OPTIONS"))
            if (event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE":
                unauthenticated.add((path, event["Properties"]["Method"].upper()))
    assert {("/" + path, method) for path, method in unauthenticated} <= throttled


def test_cors_is_opt_in_and_preflight_skips_the_authorizer() -> None:
    properties = api()
    assert properties["Auth"]["AddDefaultAuthorizerToCorsPreflight"] is False
    assert TEMPLATE["Parameters"]["CorsAllowOrigin"]["Default"] == ""
    for name, response in properties["GatewayResponses"].items():
        header = response["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"]
        assert header["Fn::If"][0] == "CorsOn", name


def test_waf_and_reserved_concurrency_are_optional() -> None:
    assert RESOURCES["WebAclAssociation"]["Condition"] == "HasWebAcl"
    concurrency = RESOURCES["AuthorizerFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert concurrency["Fn::If"][0] == "ReserveAuthorizer"
    assert TEMPLATE["Parameters"]["AuthorizerReservedConcurrency"]["Default"] == 0


@pytest.mark.parametrize("name", sorted(TEMPLATE["Parameters"]))
def test_every_parameter_is_documented_in_the_configuration_reference(name: str) -> None:
    assert re.search(rf"`{name}`", CONFIGURATION), f"docs/deploy.md does not document the parameter {name}"


@pytest.mark.parametrize("name", sorted(TEMPLATE["Outputs"]))
def test_every_output_is_documented_in_the_configuration_reference(name: str) -> None:
    assert re.search(rf"`{name}`", CONFIGURATION), f"docs/deploy.md does not document the output {name}"


def test_samconfig_deploys_dev_and_prod_with_known_parameters() -> None:
    import tomllib

    text = (PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8")
    # No placeholder identity provider that would deploy silently: the deploy must ask.
    assert "example.com" not in text
    config = tomllib.loads(text)
    for environment in ("dev", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        assert deploy["tags"]
        names = {item.split("=", 1)[0] for item in deploy["parameter_overrides"]}
        assert names <= set(TEMPLATE["Parameters"]), names - set(TEMPLATE["Parameters"])
