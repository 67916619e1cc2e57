"""The authorizer answering HTTP API events (payload format 2.0) on moto: the simple response
and the IAM one in one answer, exact to the route ARN, refusals as isAuthorized false."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apitokens.domain.scopes import ROUTES, Route
from apitokens_dev.iam import is_allowed
from tests.harness import ACCOUNT, OTHER_ACCOUNT, Functions, user
from tests.integration.test_audit_events import events, usage

API = "arn:aws:execute-api:us-east-1:123456789012:h1t2t3p4a5/v1"
METRICS = Route("GET", "/accounts/{accountSid}/metrics", "metrics:read")


def http_event(authorization: str | None, route: Route = METRICS, account: str = ACCOUNT) -> dict[str, Any]:
    path = route.resource.replace("{accountSid}", account).replace("{requestSid}", "req_1")
    headers = {"host": "h1t2t3p4a5.execute-api.us-east-1.amazonaws.com", "user-agent": "curl/8"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"{API}/{route.method}{path}",
        "identitySource": [authorization] if authorization else [],
        "routeKey": f"{route.method} {route.resource}",
        "rawPath": f"/v1{path}",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {"method": route.method, "path": f"/v1{path}", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1"},
            "routeKey": f"{route.method} {route.resource}",
            "stage": "v1",
        },
        "pathParameters": {"accountSid": account},
    }


def token_for(functions: Functions, scopes: list[str]) -> str:
    response = functions.create(ACCOUNT, scopes=scopes, principal=user(), name="http api")
    assert response.status == 201, response.body
    secret: str = response.body["token"]
    return secret


def test_a_permitted_route_is_authorized_with_a_small_context(functions: Functions) -> None:
    secret = token_for(functions, ["metrics:read"])
    event = http_event(f"Bearer {secret}")
    answer = functions.authorize(event)
    assert answer["isAuthorized"] is True
    assert is_allowed(answer["policyDocument"], event["routeArn"])
    assert answer["context"]["accountSids"] == ACCOUNT
    assert answer["context"]["scopes"] == "metrics:read"
    assert secret not in json.dumps(answer)


def test_a_missing_scope_or_another_account_is_not_authorized(functions: Functions) -> None:
    secret = token_for(functions, ["tokens:read"])
    for event in (http_event(f"Bearer {secret}"), http_event(f"Bearer {secret}", account=OTHER_ACCOUNT)):
        answer = functions.authorize(event)
        assert answer["isAuthorized"] is False
        assert not is_allowed(answer["policyDocument"], event["routeArn"])


@pytest.mark.parametrize("authorization", ["Bearer at_live_nope", "Basic abc", "Bearer a,Bearer b"])
def test_refused_credentials_answer_not_authorized_instead_of_an_error(
    functions: Functions, authorization: str
) -> None:
    # On an HTTP API a Lambda error is a 500: refused credentials must be an answer (403).
    answer = functions.authorize(http_event(authorization))
    assert answer["isAuthorized"] is False
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert answer["context"] == {}


def test_the_route_key_decides_the_scope_for_every_catalog_route(functions: Functions) -> None:
    secret = token_for(functions, ["buckets:read", "requests:delete"])
    for route in ROUTES:
        event = http_event(f"Bearer {secret}", route)
        expected = route.scope in ("buckets:read", "requests:delete")
        assert functions.authorize(event)["isAuthorized"] is expected, route


def test_use_through_an_http_api_records_the_client_and_its_new_ip(functions: Functions) -> None:
    secret = token_for(functions, ["metrics:read"])
    sid = functions.list().body["records"][0]["sid"]
    event = http_event(f"Bearer {secret}")
    # The client's own claims are no evidence: the IP is the one API Gateway saw.
    event["headers"]["x-forwarded-for"] = "198.51.100.66"
    del event["headers"]["user-agent"]
    event["requestContext"]["http"]["userAgent"] = "metrics-client/2"
    event["requestContext"]["requestId"] = "http-api-request-1"
    assert functions.authorize(event)["isAuthorized"] is True
    used = usage(functions, sid).body
    assert [(client["ip"], client["userAgent"]) for client in used["recentClients"]] == [
        ("203.0.113.1", "metrics-client/2")
    ]
    [new_ip] = events(functions, apiTokenSid=sid, type="token.used_from_new_ip").body["records"]
    assert (new_ip["sourceIp"], new_ip["userAgent"], new_ip["requestId"]) == (
        "203.0.113.1",
        "metrics-client/2",
        "http-api-request-1",
    )
