"""apitokens_client against a stand-in of the verify route that fails on purpose: throttling and
5xx are retried (each attempt signed afresh, Retry-After obeyed), a 4xx is not, a service that
keeps failing or does not answer in time raises ServiceUnavailable, and connections are reused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.session import Session

from apitokens_client import ApiTokensClient, RequestRefused, ServiceUnavailable, Verification

ACTIVE = {"active": True, "accountSid": "acc_1", "tokenSid": "tok_1", "scopes": ["metrics:read"], "expiresAt": None}


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # Each request's answer, in order: (status, body, headers) or a number of seconds to stall.
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002 - socketserver's signature
        return  # a client that gave up on a stalled answer: its connection is gone, as intended

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers.items()), "body": body, "peer": self.client_address}
        )
        step = self.server.script.pop(0) if self.server.script else (200, ACTIVE, {})
        if isinstance(step, float):
            time.sleep(step)
            step = (200, ACTIVE, {})
        status, document, headers = step
        payload = json.dumps(document).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - http.server's signature
        return


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client_of(stand_in: StandIn, waits: list[float], **options: Any) -> ApiTokensClient:
    session = Session()
    session.set_credentials("AKIAIOSFODNN7EXAMPLE", "secret")
    return ApiTokensClient(stand_in.base_url, session=session, sleep=waits.append, **options)


ERROR = {"error": {"code": "service_unavailable", "message": "retry"}}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_retried(stand_in: StandIn, status: int) -> None:
    stand_in.script = [(status, ERROR, {}), (status, ERROR, {})]
    waits: list[float] = []
    assert client_of(stand_in, waits).verify("at_live_x").active is True
    assert len(stand_in.requests) == 3
    assert len(waits) == 2
    for request in stand_in.requests:
        assert request["path"] == "/v1/apiTokens/verify"
        assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
        assert "/us-east-1/execute-api/aws4_request" in request["headers"]["Authorization"]
        assert json.loads(request["body"]) == {"token": "at_live_x"}


def test_retry_after_is_obeyed_within_a_bound(stand_in: StandIn) -> None:
    stand_in.script = [(429, ERROR, {"Retry-After": "2"}), (503, ERROR, {"Retry-After": "3600"})]
    waits: list[float] = []
    client_of(stand_in, waits).verify("at_live_x")
    assert waits == [2.0, 5.0]


def test_a_service_that_keeps_failing_raises_and_never_allows(stand_in: StandIn) -> None:
    stand_in.script = [(503, ERROR, {})] * 4
    with pytest.raises(ServiceUnavailable, match="after 4 attempts"):
        client_of(stand_in, [], max_attempts=4).verify("at_live_x", required_scope="metrics:read", account_sid="acc_1")
    assert len(stand_in.requests) == 4


def test_a_refusal_of_the_request_is_not_retried(stand_in: StandIn) -> None:
    stand_in.script = [(400, {"error": {"code": "invalid_request", "message": "bad"}}, {})]
    with pytest.raises(RequestRefused) as refused:
        client_of(stand_in, []).verify("at_live_x", method="GET")
    assert (refused.value.status, refused.value.code, refused.value.message) == (400, "invalid_request", "bad")
    assert len(stand_in.requests) == 1
    assert json.loads(stand_in.requests[0]["body"]) == {"token": "at_live_x", "method": "GET"}


def test_an_answer_that_is_not_the_services_raises(stand_in: StandIn) -> None:
    stand_in.script = [(200, ["not", "an", "answer"], {})]
    with pytest.raises(RequestRefused):
        client_of(stand_in, []).verify("at_live_x")


def test_a_service_too_slow_to_answer_raises(stand_in: StandIn) -> None:
    stand_in.script = [2.0, 2.0]
    with pytest.raises(ServiceUnavailable, match="ReadTimeoutError"):
        client_of(stand_in, [], read_timeout=0.2, max_attempts=2).verify("at_live_x")


def test_connections_are_reused(stand_in: StandIn) -> None:
    client = client_of(stand_in, [])
    for _ in range(5):
        assert client.verify("at_live_x") == Verification(
            active=True, account_sid="acc_1", token_sid="tok_1", scopes=frozenset({"metrics:read"})
        )
    assert len({request["peer"] for request in stand_in.requests}) == 1


def test_the_region_is_the_apis_own(stand_in: StandIn) -> None:
    session = Session()
    url = "https://abc123.execute-api.eu-west-2.amazonaws.com/v1"
    assert ApiTokensClient(url, session=session).region == "eu-west-2"
    assert ApiTokensClient(url, session=session, region="us-west-1").region == "us-west-1"
