"""POST /apiTokens/verify on moto: every token state against every question form, the one-read
cost and the once-a-minute lastUsedAt, and bad bodies (400 or 413, nothing changed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from apitokens.domain import tokens
from apitokens.domain.scopes import TOKENS, USAGE
from tests.harness import (
    ACCOUNT,
    LEAK_MARKER,
    OTHER_ACCOUNT,
    CallRecorder,
    Error,
    FaultInjector,
    Functions,
    Reply,
    load_event,
    proxy_event,
    scan_table,
)

VERIFY = "/apiTokens/verify"
METRICS = f"/accounts/{ACCOUNT}/metrics"
INACTIVE = {"active": False}
# The three forms of the question: none, a request (method + path), a scope on an account.
NO_QUESTION: dict[str, str] = {}
ROUTE_QUESTION = {"method": "GET", "path": METRICS}
SCOPE_QUESTION = {"requiredScope": "metrics:read", "accountSid": ACCOUNT}
QUESTIONS = [NO_QUESTION, ROUTE_QUESTION, SCOPE_QUESTION]


def verify_raw(functions: Functions, body: str, content_type: str = "application/json") -> Reply:
    event = copy.deepcopy(load_event("verify_token"))
    event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"]["Content-Type"] = [content_type]
    event["body"] = body
    return functions.invoke(event)


def verify(functions: Functions, token: str, **question: Any) -> Reply:
    return verify_raw(functions, json.dumps({"token": token, **question}))


def verifier(functions: Functions) -> Any:
    """The verify function's module-level Authorizer (its public clock)."""
    return functions.modules[("POST", VERIFY)].authorizer


def created(functions: Functions, **fields: Any) -> dict[str, Any]:
    reply = functions.create(scopes=["metrics:read", "tokens:read"], **fields)
    assert reply.status == 201, reply.text
    body: dict[str, Any] = reply.body
    return body


def refused_tokens(functions: Functions) -> dict[str, str]:
    """A token in every state the authorizer refuses."""
    inactive = created(functions)
    assert functions.update(inactive["sid"], {"name": "off", "isActive": False}).status == 200
    deleted = created(functions)
    assert functions.delete(deleted["sid"]).status == 200
    leaked = created(functions)
    report = copy.deepcopy(load_event("verify_token"))
    report["resource"] = report["path"] = report["requestContext"]["resourcePath"] = "/credentials/revoke"
    report["body"] = json.dumps({"tokens": [leaked["token"]]})
    assert functions.invoke(report).status == 202
    valid = tokens.generate("at_live_")
    return {
        "unknown": valid,
        "malformed": valid[:-1] + ("A" if valid[-1] != "A" else "B"),
        "other environment": tokens.generate("at_test_"),
        "inactive": inactive["token"],
        "deleted": deleted["token"],
        "leaked": leaked["token"],
        "a JWT": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "empty": "",
        "non-ASCII": "at_live_" + "é" * 36,
        "huge": "at_live_" + "A" * 12_000,
    }


@pytest.mark.parametrize("question", QUESTIONS, ids=["token only", "method+path", "scope+account"])
def test_every_refused_token_gets_the_one_inactive_answer(functions: Functions, question: dict[str, str]) -> None:
    for state, token in refused_tokens(functions).items():
        reply = verify(functions, token, **question)
        assert (reply.status, reply.body) == (200, INACTIVE), state
        assert reply.text == '{"active":false}', state  # nothing else, not even null fields


def test_an_expired_token_is_inactive_for_every_question(functions: Functions) -> None:
    token = created(functions, expiresAt="2030-01-01T00:00:00Z")["token"]
    assert verify(functions, token).body["active"] is True
    verifier(functions).clock = lambda: 1893456000.0  # 2030-01-01T00:00:00Z, the expiry itself
    for question in QUESTIONS:
        assert verify(functions, token, **question).body == INACTIVE


def test_an_active_token_gets_its_principal_and_no_decision_unasked(functions: Functions) -> None:
    token = created(functions, expiresAt="2030-12-31T23:59:59Z")
    reply = verify(functions, token["token"])
    assert reply.status == 200
    assert reply.body == {
        "active": True,
        "accountSid": ACCOUNT,
        "tokenSid": token["sid"],
        "scopes": ["metrics:read", "tokens:read"],
        "expiresAt": "2030-12-31T23:59:59.000Z",
    }
    assert verify(functions, created(functions)["token"]).body["expiresAt"] is None


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", METRICS, True),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens", True),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/tok_abc123def456ghi789jkl012", True),
        ("GET", f"/accounts/{OTHER_ACCOUNT}/metrics", False),  # another account
        ("POST", f"/accounts/{ACCOUNT}/apiTokens", False),  # a scope the token lacks
        ("GET", f"/accounts/{ACCOUNT}/buckets", False),
        ("DELETE", f"/accounts/{ACCOUNT}/requests/req_1", False),
        ("GET", f"/accounts/{ACCOUNT}/unknown", False),  # no catalog route
        ("GET", f"/accounts/{ACCOUNT}/metrics/", False),
        ("GET", f"/accounts/{ACCOUNT}//metrics", False),
        ("GET", "/", False),
        # Encoded slashes and dot segments route nowhere: a backend might resolve them elsewhere.
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/..", False),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/.", False),
        ("GET", f"/accounts/{OTHER_ACCOUNT}/../{ACCOUNT}/metrics", False),
        ("GET", f"/accounts/{ACCOUNT}%2Fmetrics", False),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/tok%2F..%2Fx", False),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/%2E%2E", False),
        ("GET", f"/accounts/{ACCOUNT}/apiTokens/*", False),
    ],
)
def test_method_and_path_are_decided_by_the_route_catalog(
    functions: Functions, method: str, path: str, allowed: bool
) -> None:
    token = created(functions)
    reply = verify(functions, token["token"], method=method, path=path)
    assert reply.status == 200, reply.text
    assert reply.body["active"] is True
    assert reply.body["allowed"] is allowed


@pytest.mark.parametrize(
    ("scope", "account", "allowed"),
    [
        ("metrics:read", ACCOUNT, True),
        ("tokens:read", ACCOUNT, True),
        ("tokens:write", ACCOUNT, False),
        ("metrics:read", OTHER_ACCOUNT, False),
        ("metrics:read", "not an account", False),
        ("metrics:read", ACCOUNT.upper(), False),
    ],
)
def test_required_scope_and_account_are_decided_by_the_token(
    functions: Functions, scope: str, account: str, allowed: bool
) -> None:
    token = created(functions)
    reply = verify(functions, token["token"], requiredScope=scope, accountSid=account)
    assert (reply.status, reply.body["active"], reply.body["allowed"]) == (200, True, allowed)


def test_a_verification_costs_one_strongly_consistent_read(functions: Functions) -> None:
    token = created(functions)["token"]
    verify(functions, token)  # the first use writes lastUsedAt
    recorder = CallRecorder(functions.clients("POST", VERIFY))
    reads: list[dict[str, Any]] = []
    for client in functions.clients("POST", VERIFY):
        client.meta.events.register("provide-client-params.dynamodb.GetItem", lambda params, **_: reads.append(params))
    try:
        assert verify(functions, token, **ROUTE_QUESTION).body["allowed"] is True
    finally:
        recorder.clear()
    assert recorder.operations == ["GetItem"]
    assert [read["ConsistentRead"] for read in reads] == [True]


def test_a_verification_is_a_use_written_once_a_minute(functions: Functions) -> None:
    token = created(functions)
    clock = verifier(functions)
    now = 1_900_000_000.0
    clock.clock = lambda: now
    assert functions.get(token["sid"]).body["lastUsedAt"] is None
    verify(functions, token["token"])
    first = functions.get(token["sid"]).body["lastUsedAt"]
    assert first == "2030-03-17T17:46:40.000Z"
    now += 59
    verify(functions, token["token"])
    assert functions.get(token["sid"]).body["lastUsedAt"] == first
    now += 2
    verify(functions, token["token"])
    assert functions.get(token["sid"]).body["lastUsedAt"] == "2030-03-17T17:47:41.000Z"


def test_the_calling_backend_is_not_recorded_as_a_client_of_the_token(functions: Functions) -> None:
    token = created(functions)
    verify(functions, token["token"])
    event = proxy_event("GET", TOKENS)
    event["resource"] = USAGE
    event["path"] = f"/accounts/{ACCOUNT}/apiTokens/{token['sid']}/usage"
    event["pathParameters"] = {"accountSid": ACCOUNT, "apiTokenSid": token["sid"]}
    usage = functions.invoke(event)
    assert usage.status == 200, usage.text
    assert usage.body["lastUsedAt"] is not None
    assert usage.body["recentClients"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": 1},
        {"token": None},
        {"token": "x", "extra": True},
        {"token": "x", "method": "GET"},
        {"token": "x", "path": METRICS},
        {"token": "x", "requiredScope": "metrics:read"},
        {"token": "x", "accountSid": ACCOUNT},
        {"token": "x", **ROUTE_QUESTION, **SCOPE_QUESTION},
        {"token": "x", "requiredScope": "metrics:admin", "accountSid": ACCOUNT},
        {"token": "x", "method": "get", "path": METRICS},
        {"token": "x", "method": "TRACE", "path": METRICS},
        {"token": "x", "method": "GET", "path": "accounts/x"},
        {"token": "x", "method": "GET", "path": f"{METRICS}?x=1"},
        {"token": "x", "method": "GET", "path": f"{METRICS}#x"},
        {"token": "x", "method": "GET", "path": "/a b"},
        {"token": "x", "method": "GET", "path": "/\u00e9"},
        {"token": "x", "method": "GET", "path": "/" + "a" * 2048},
        {"token": "x", "requiredScope": "metrics:read", "accountSid": ""},
        {"token": "x", "requiredScope": "metrics:read", "accountSid": "a" * 65},
        ["x"],
        "x",
    ],
)
def test_bad_bodies_are_400_and_change_nothing(functions: Functions, dynamodb: Any, body: Any) -> None:
    token = created(functions)["token"]
    before = scan_table(dynamodb)
    if isinstance(body, dict) and body.get("token") == "x":
        body = {**body, "token": token}  # a real token: what refuses the body is the rest of it
    reply = verify_raw(functions, json.dumps(body))
    assert reply.status == 400, reply.text
    assert reply.body["error"]["code"] == "invalid_request"
    assert scan_table(dynamodb) == before  # not even lastUsedAt: the token was never looked at


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ("", "application/json", 400),
        ('{"token": "x"', "application/json", 400),
        ('{"token": "\\ud800"}', "application/json", 400),  # a lone surrogate: not a string pydantic reads
        ('{"token": "x"}', "text/plain", 415),
        (json.dumps({"token": "x" * 20_000}), "application/json", 413),
    ],
)
def test_unreadable_bodies_are_4xx(functions: Functions, body: str, content_type: str, status: int) -> None:
    reply = verify_raw(functions, body, content_type)
    assert reply.status == status, reply.text
    assert set(reply.body["error"]) >= {"code", "message"}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Error("throttled", "ProvisionedThroughputExceededException"), 503, "service_unavailable"),
        (Error("unreachable", exception=lambda: EndpointConnectionError(endpoint_url="x")), 503, "service_unavailable"),
        (Error("server error", "InternalServerError", status=500), 503, "service_unavailable"),
    ],
    ids=["throttled", "unreachable", "server error"],
)
def test_a_store_failure_is_a_503_never_an_answer(functions: Functions, error: Error, status: int, code: str) -> None:
    token = created(functions)["token"]
    injector = FaultInjector(functions.clients("POST", VERIFY), "GetItem", error)
    try:
        reply = verify(functions, token, **SCOPE_QUESTION)
    finally:
        injector.clear()
    assert reply.status == status, reply.text
    assert reply.body["error"]["code"] == code
    assert "active" not in reply.text
    assert LEAK_MARKER not in reply.text


def test_an_unexpected_error_is_the_500_envelope(functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(token: str, event: Any = None) -> Any:
        raise RuntimeError(LEAK_MARKER)

    monkeypatch.setattr(verifier(functions), "token_principal", broken)
    reply = verify(functions, created(functions)["token"])
    assert (reply.status, reply.body) == (
        500,
        {"error": {"code": "internal_error", "message": "An internal error occurred."}},
    )
