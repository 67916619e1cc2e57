"""API Gateway's own rules as the local gateway reproduces them, checked in-process with stand-in
functions: route matching, IAM policy evaluation, events, and the template's GatewayResponses.
(The real authorizer and handlers behind it are exercised over HTTP by the other modules.)"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from apitokens_dev.gateway import (
    Function,
    Gateway,
    GatewayResponses,
    HttpResponse,
    PolicyError,
    Request,
    Route,
    match_route,
    policy_allows,
)
from apitokens_dev.template import any_method_answers, api_routes, function_environment, load_template

LIST = Route("GET", "/accounts/{accountSid}/apiTokens", "List")
GET = Route("GET", "/accounts/{accountSid}/apiTokens/{apiTokenSid}", "Get")
SPECIAL = Route("GET", "/accounts/{accountSid}/apiTokens/special", "Special")
ROUTES = [LIST, GET, SPECIAL]
BASE_ARN = "arn:aws:execute-api:us-east-1:123456789012:local/v1"
ARN = f"{BASE_ARN}/GET/accounts/acc_x/apiTokens/tok_1"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/accounts/acc_x/apiTokens", (LIST, {"accountSid": "acc_x"})),
        ("/accounts/acc_x/apiTokens/tok_1", (GET, {"accountSid": "acc_x", "apiTokenSid": "tok_1"})),
        ("/accounts/acc_x/apiTokens/special", (SPECIAL, {"accountSid": "acc_x"})),  # a literal beats a parameter
        ("/accounts/acc%5Fx/apiTokens/a%2Fb", (GET, {"accountSid": "acc_x", "apiTokenSid": "a/b"})),  # %2F: one segment
        ("/accounts/acc_x/api%54okens", (LIST, {"accountSid": "acc_x"})),
        ("/accounts//apiTokens", None),  # a parameter is never empty
        ("/accounts/acc_x/apiTokens/", None),
        ("/accounts/acc_x/apiTokens/tok_1/more", None),
        ("/accounts/acc_x", None),
        ("accounts/acc_x/apiTokens", None),
    ],
)
def test_route_matching(path: str, expected: tuple[Route, dict[str, str]] | None) -> None:
    assert match_route(ROUTES, "GET", path) == expected


def test_route_matching_needs_the_method() -> None:
    assert match_route(ROUTES, "DELETE", "/accounts/acc_x/apiTokens") is None


def _allow(*resources: str, effect: str = "Allow", action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": list(resources)}


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([_allow(ARN)], True),
        ([_allow(f"{BASE_ARN}/*")], True),  # `*` spans slashes
        ([_allow(f"{BASE_ARN}/GET/accounts/acc_x/apiTokens/*")], True),
        ([_allow(f"{BASE_ARN}/GET/accounts/acc_x/apiTokens")], False),
        ([_allow(f"{BASE_ARN}/GET/accounts/acc_y/apiTokens/*")], False),
        ([_allow(f"{BASE_ARN}/GE?/accounts/acc_x/apiTokens/tok_?")], True),
        ([_allow(f"{BASE_ARN}/G?/accounts/acc_x/apiTokens/tok_1")], False),  # `?` is exactly one character
        ([_allow(f"{BASE_ARN}/*"), _allow(ARN, effect="Deny")], False),  # an explicit Deny wins
        ([_allow(ARN, effect="Deny"), _allow(ARN)], False),
        ([_allow(f"{BASE_ARN}/*", effect="Deny")], False),
        ([_allow(ARN, action="execute-api:*")], True),
        ([_allow(ARN, action=["s3:GetObject", "execute-api:Invoke"])], True),
        ([_allow(ARN, action="s3:GetObject")], False),
        ([_allow(f"{BASE_ARN}/POST/*")], False),
    ],
)
def test_policy_evaluation(statements: list[dict[str, Any]], allowed: bool) -> None:
    assert policy_allows({"Version": "2012-10-17", "Statement": statements}, ARN) is allowed


def test_a_single_statement_object_is_accepted() -> None:
    assert policy_allows({"Statement": _allow(ARN)}, ARN) is True


@pytest.mark.parametrize(
    "document",
    [None, {}, {"Statement": []}, {"Statement": [_allow(ARN, effect="Maybe")]}, {"Statement": [{"Effect": "Allow"}]}],
)
def test_malformed_policies_are_configuration_errors(document: Any) -> None:
    with pytest.raises(PolicyError):
        policy_allows(document, ARN)


# -- the gateway with stand-in functions ----------------------------------------------------------


def allow_all(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "principalId": "user_1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [_allow(f"{BASE_ARN}/*")]},
        "context": {"principalType": "user", "flag": True, "count": 5},
    }


def ok(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}


class Recorder:
    def __init__(self, function: Callable[[dict[str, Any], Any], Any]) -> None:
        self.function = function
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        return self.function(event, context)


def gateway(authorizer: Callable[..., Any] = allow_all, handler: Callable[..., Any] = ok) -> Gateway:
    functions = {name: Function(name, lambda: handler) for name in ("List", "Get", "Special")}
    return Gateway(
        ROUTES, functions, Function("Authorizer", lambda: authorizer), GatewayResponses.from_template(), "v1"
    )


def envelope(response: HttpResponse) -> dict[str, Any]:
    assert response.header("Content-Type") == "application/json"
    body: dict[str, Any] = json.loads(response.body)
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    return error


def test_proxy_and_authorizer_events_are_api_gateways() -> None:
    authorizer, handler = Recorder(allow_all), Recorder(ok)
    request = Request(
        method="GET",
        target="/v1/accounts/acc%5Fx/apiTokens/tok_1?limit=5&tag=a&tag=b",
        headers=[("Authorization", "Bearer x"), ("X-Twice", "1"), ("X-Twice", "2")],
        source_ip="127.0.0.9",
    )
    response = gateway(authorizer, handler).handle(request)
    assert response.status == 200
    assert json.loads(response.body) == {"ok": True}
    assert response.principal_type == "user"

    [auth_event] = authorizer.events
    _assert_authorizer_event(auth_event)
    [event] = handler.events
    _assert_proxy_event(event, response.header("x-amzn-RequestId"))
    assert handler.contexts[0].function_name == "Get"
    assert handler.contexts[0].get_remaining_time_in_millis() > 0


def _assert_authorizer_event(auth_event: dict[str, Any]) -> None:
    assert auth_event["type"] == "REQUEST"
    assert auth_event["methodArn"] == f"{BASE_ARN}/GET/accounts/acc_x/apiTokens/tok_1"
    assert auth_event["resource"] == GET.resource
    assert auth_event["path"] == "/accounts/acc_x/apiTokens/tok_1"
    assert auth_event["headers"]["Authorization"] == "Bearer x"
    assert auth_event["multiValueHeaders"]["X-Twice"] == ["1", "2"]
    assert auth_event["pathParameters"] == {"accountSid": "acc_x", "apiTokenSid": "tok_1"}
    assert "body" not in auth_event


def _assert_proxy_event(event: dict[str, Any], request_id: str | None) -> None:
    assert event["resource"] == GET.resource
    assert event["path"] == "/accounts/acc_x/apiTokens/tok_1"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Twice"] == "2"  # the last value, as API Gateway does
    assert event["multiValueHeaders"]["X-Twice"] == ["1", "2"]
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"]}
    assert event["pathParameters"] == {"accountSid": "acc_x", "apiTokenSid": "tok_1"}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == (
        "v1",
        "/v1/accounts/acc_x/apiTokens/tok_1",
        GET.resource,
    )
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.9"
    assert context["requestId"] == request_id
    authorizer_context = dict(context["authorizer"])
    assert isinstance(authorizer_context.pop("integrationLatency"), int)
    assert authorizer_context == {"principalType": "user", "flag": "true", "count": "5", "principalId": "user_1"}


def test_bodies_are_passed_as_text_or_base64() -> None:
    handler = Recorder(ok)
    gw = gateway(handler=handler)
    gw.handle(Request("GET", "/v1/accounts/a/apiTokens", body='{"name": "é"}'.encode()))
    gw.handle(Request("GET", "/v1/accounts/a/apiTokens", body=b"\xff\xfe"))
    assert (handler.events[0]["body"], handler.events[0]["isBase64Encoded"]) == ('{"name": "é"}', False)
    assert (handler.events[1]["body"], handler.events[1]["isBase64Encoded"]) == (
        base64.b64encode(b"\xff\xfe").decode(),
        True,
    )


def test_unauthorized_is_the_templates_401() -> None:
    def refuse(event: dict[str, Any], context: Any) -> Any:
        raise Exception("Unauthorized")  # noqa: TRY002 - the authorizer's contract

    authorizer, handler = Recorder(refuse), Recorder(ok)
    response = gateway(authorizer, handler).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    # No Authorization header at all still goes to the authorizer (no identity-source shortcut
    # with caching disabled), which refuses it.
    assert [event["headers"] for event in authorizer.events] == [{}]
    assert response.status == 401
    assert response.header("WWW-Authenticate") == "Bearer"
    assert envelope(response)["code"] == "unauthorized"
    assert handler.events == []


def test_any_other_authorizer_error_is_the_templates_503() -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("JWKS unreachable")

    handler = Recorder(ok)
    response = gateway(crash, handler).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    assert response.status == 503
    assert response.header("Retry-After") == "1"
    assert envelope(response)["code"] == "service_unavailable"
    assert handler.events == []


def test_a_deny_is_the_templates_403() -> None:
    def deny(event: dict[str, Any], context: Any) -> Any:
        decision = allow_all(event, context)
        decision["policyDocument"]["Statement"] = [_allow(f"{BASE_ARN}/*", effect="Deny")]
        return decision

    handler = Recorder(ok)
    response = gateway(deny, handler).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    assert response.status == 403
    assert envelope(response)["code"] == "forbidden"
    assert handler.events == []


@pytest.mark.parametrize(
    "decision",
    [
        {"policyDocument": {"Statement": [_allow("*")]}},  # no principalId
        {"principalId": "u", "policyDocument": {"Statement": [_allow("*")]}, "context": {"nested": {"no": 1}}},
        {"principalId": "u"},
        "Allow",
    ],
)
def test_a_malformed_authorizer_answer_is_refused(decision: Any) -> None:
    def answer(event: dict[str, Any], context: Any) -> Any:
        return decision

    handler = Recorder(ok)
    response = gateway(answer, handler).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    assert response.status == 503
    assert envelope(response)["code"] == "service_unavailable"
    assert handler.events == []


@pytest.mark.parametrize(
    "result",
    [RuntimeError("handler bug"), {"body": "no status"}, {"statusCode": 200, "body": {"not": "a string"}}, None],
)
def test_a_crashed_or_malformed_handler_is_the_templates_502(result: Any) -> None:
    def handler(event: dict[str, Any], context: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    response = gateway(handler=handler).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    assert response.status == 502
    assert envelope(response) == {"code": "internal_error", "message": "An internal error occurred."}
    assert response.principal_type == "user"


@pytest.mark.parametrize(
    "target", ["/v1/accounts/a", "/v1", "/", "/v2/accounts/a/apiTokens", "/v1/accounts/a/apiTokens/"]
)
def test_unknown_routes_are_the_templates_403_without_calling_the_authorizer(target: str) -> None:
    authorizer = Recorder(allow_all)
    response = gateway(authorizer).handle(Request("GET", target))
    assert response.status == 403  # MISSING_AUTHENTICATION_TOKEN, as the template renders it
    assert envelope(response)["code"] == "forbidden"
    assert authorizer.events == []


def test_handler_headers_and_base64_bodies_are_returned() -> None:
    def binary(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "statusCode": 201,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["application/octet-stream"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }

    response = gateway(handler=binary).handle(Request("GET", "/v1/accounts/a/apiTokens"))
    assert response.status == 201
    assert response.body == b"\x00\x01"
    assert [value for name, value in response.headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.header("Content-Type") == "application/octet-stream"


def test_request_too_large_is_the_templates_413() -> None:
    response = GatewayResponses.from_template().render("REQUEST_TOO_LARGE", "req-1")
    assert response.status == 413
    assert envelope(response)["code"] == "payload_too_large"


def test_the_local_gateway_passes_every_body_a_function_takes() -> None:
    # API Gateway's payload limit (10 MB, REST and HTTP APIs) answers REQUEST_TOO_LARGE; below it
    # each function refuses past its own limit, the largest of which is GitHub's reports'.
    from apitokens.wire.leak_models import MAX_GITHUB_REPORT_BYTES
    from apitokens_dev.local_http import MAX_BODY_BYTES

    assert MAX_BODY_BYTES == 10 * 1024 * 1024
    assert MAX_GITHUB_REPORT_BYTES < MAX_BODY_BYTES


def test_the_gateway_serves_exactly_the_templates_routes(dynamodb: Any) -> None:
    # tests/conftest.py's moto table and environment: loading the real functions needs settings.
    loaded = Gateway.from_template()
    assert sorted((route.method, route.resource, route.function) for route in loaded.routes) == sorted(
        (route.method, route.path, route.function) for route in api_routes()
    )
    assert loaded.stage == "v1"


def test_function_environment_is_the_templates_with_default_parameters() -> None:
    template = load_template()
    environment = function_environment("AuthorizerFunction")
    parameters = template["Parameters"]
    assert environment["JWT_ACCOUNTS_CLAIM"] == parameters["JwtAccountsClaim"]["Default"]  # its own, by Ref
    assert "JWT_ISSUER" not in environment  # a parameter without a default: the deployer gives it
    assert environment["MAX_TOKENS_PER_ACCOUNT"] == str(parameters["MaxTokensPerAccount"]["Default"])  # Globals
    assert environment["POWERTOOLS_SERVICE_NAME"] == "apitokens"
    assert "TABLE_NAME" not in environment  # a resource's name exists only in a deployed stack
    assert "JWT_ISSUER" not in function_environment("ListTokensFunction")


def test_concurrent_invocations_get_their_own_execution_environments() -> None:
    import threading

    loads: list[int] = []
    both_running = threading.Barrier(2, timeout=10)

    def load() -> Callable[..., Any]:
        loads.append(1)

        def handler(event: dict[str, Any], context: Any) -> Any:
            both_running.wait()  # breaks (and the test fails) unless the two calls overlap
            return {"ok": True}

        return handler

    function = Function("Concurrent", load)
    function.warm()
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(function.invoke({}))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"ok": True}, {"ok": True}]
    assert len(loads) == 2  # one warm environment, one cold start for the overlapping call


def test_functions_sharing_an_exclusive_lock_take_turns() -> None:
    import threading

    shared = threading.Lock()
    meeting = threading.Barrier(2)
    outcomes: list[str] = []

    def load() -> Callable[..., Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            try:
                meeting.wait(timeout=0.5)  # only reachable by two invocations running at once
            except threading.BrokenBarrierError:
                return "alone"
            return "together"

        return handler

    functions = [Function(name, load, exclusive=shared) for name in ("List", "Get")]
    threads = [threading.Thread(target=lambda f=f: outcomes.append(f.invoke({}))) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["alone", "alone"]


def test_a_method_no_route_of_a_path_has_is_the_templates_405_without_calling_anything() -> None:
    authorizer, handler = Recorder(allow_all), Recorder(ok)
    functions = {name: Function(name, lambda: handler) for name in ("List", "Get", "Special")}
    local = Gateway(
        ROUTES,
        functions,
        Function("Authorizer", lambda: authorizer),
        GatewayResponses.from_template(),
        "v1",
        any_method=any_method_answers(),
    )
    response = local.handle(Request("PATCH", "/v1/accounts/a/apiTokens/tok_1"))
    assert response.status == 405
    assert response.header("Allow") == "GET, PUT, DELETE, OPTIONS"
    assert envelope(response)["code"] == "method_not_allowed"
    assert (authorizer.events, handler.events) == ([], [])
    # A route's own method wins; a path nobody declared stays the 403 of MISSING_AUTHENTICATION_TOKEN;
    # preflight is no 405 (without the API's CORS answer here, no route either).
    assert local.handle(Request("GET", "/v1/accounts/a/apiTokens/tok_1")).status == 200
    assert local.handle(Request("PATCH", "/v1/accounts/a/nothing")).status == 403
    assert local.handle(Request("OPTIONS", "/v1/accounts/a/apiTokens")).status == 403
