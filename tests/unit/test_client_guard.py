"""The guards of apitokens_client (FastAPI dependency, ASGI middleware) on a client stand-in:
what each answer of the verify route, and each failure of the client, becomes (401 / 403 /
503 in the apitokens error shape, never the application's answer) and what question is asked."""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at run time, and
# the dependency in them is a local name.
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from apitokens_client import RequestRefused, ServiceUnavailable, Verification
from apitokens_client.asgi import ApiTokensMiddleware
from apitokens_client.fastapi import install, require_scope

ACCOUNT = "acc_abc123def456ghi789jkl012"
ALLOWED = Verification(True, ACCOUNT, "tok_1", frozenset({"metrics:read"}), None, allowed=True)


class StandInClient:
    """Answers every verify with `answer` (or raises it), and records the questions."""

    def __init__(self, answer: Verification | Exception) -> None:
        self.answer = answer
        self.questions: list[dict[str, Any]] = []

    def verify(self, token: str, **question: Any) -> Verification:
        self.questions.append({"token": token, **{k: v for k, v in question.items() if v is not None}})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def fastapi_app(client: StandInClient) -> TestClient:
    app = FastAPI()
    install(app)
    guard = require_scope("metrics:read", client=client)  # type: ignore[arg-type]

    @app.get("/accounts/{accountSid}/metrics/summary")
    def summary(token: Annotated[Verification, Depends(guard)]) -> dict[str, Any]:
        return {"tokenSid": token.token_sid}

    return TestClient(app)


def asgi_app(client: StandInClient, **options: Any) -> TestClient:
    async def application(scope: Any, receive: Any, send: Any) -> None:
        token = scope["state"]["apitokens"]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": token.token_sid.encode()})

    return TestClient(ApiTokensMiddleware(application, client=client, **options))  # type: ignore[arg-type]


REFUSALS: list[tuple[Verification | Exception, int, str]] = [
    (Verification(active=False), 401, "unauthorized"),
    (Verification(True, ACCOUNT, "tok_1", frozenset(), None, allowed=False), 403, "forbidden"),
    (RequestRefused(400, "invalid_request", "bad"), 403, "forbidden"),
    (RequestRefused(403, "forbidden", "signature"), 503, "service_unavailable"),
    (ServiceUnavailable("down"), 503, "service_unavailable"),
]


def assert_refusal(reply: Any, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json() == {"error": {"code": code, "message": reply.json()["error"]["message"]}}
    if status == 401:
        assert reply.headers["www-authenticate"] == "Bearer"
    if status == 503:
        assert reply.headers["retry-after"] == "1"


@pytest.mark.parametrize(("answer", "status", "code"), REFUSALS)
def test_fastapi_guard_refusals(answer: Verification | Exception, status: int, code: str) -> None:
    reply = fastapi_app(StandInClient(answer)).get(
        f"/accounts/{ACCOUNT}/metrics/summary", headers={"Authorization": "Bearer at_live_x"}
    )
    assert_refusal(reply, status, code)


@pytest.mark.parametrize(("answer", "status", "code"), REFUSALS)
def test_asgi_middleware_refusals(answer: Verification | Exception, status: int, code: str) -> None:
    reply = asgi_app(StandInClient(answer)).get(f"/accounts/{ACCOUNT}/x", headers={"Authorization": "Bearer t"})
    assert_refusal(reply, status, code)


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcg==", "Bearer a b", "Bearer " + "x" * 9000]
)
def test_no_bearer_credential_is_401_without_asking(authorization: str | None) -> None:
    client = StandInClient(ALLOWED)
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_refusal(
        fastapi_app(client).get(f"/accounts/{ACCOUNT}/metrics/summary", headers=headers), 401, "unauthorized"
    )
    assert_refusal(asgi_app(client).get("/accounts/x", headers=headers), 401, "unauthorized")
    assert client.questions == []


def test_fastapi_guard_asks_for_the_scope_on_the_paths_account() -> None:
    client = StandInClient(ALLOWED)
    reply = fastapi_app(client).get(f"/accounts/{ACCOUNT}/metrics/summary", headers={"Authorization": "Bearer tk"})
    assert (reply.status_code, reply.json()) == (200, {"tokenSid": "tok_1"})
    assert client.questions == [{"token": "tk", "required_scope": "metrics:read", "account_sid": ACCOUNT}]


def test_asgi_middleware_asks_the_request_itself_as_received() -> None:
    client = StandInClient(ALLOWED)
    reply = asgi_app(client).get(f"/accounts/{ACCOUNT}%2Fx/metrics", headers={"Authorization": "Bearer tk"})
    assert (reply.status_code, reply.text) == (200, "tok_1")
    assert client.questions == [{"token": "tk", "method": "GET", "path": f"/accounts/{ACCOUNT}%2Fx/metrics"}]


def test_asgi_middleware_with_a_scope_asks_for_the_paths_account() -> None:
    client = StandInClient(ALLOWED)
    app = asgi_app(client, required_scope="metrics:read")
    assert app.get(f"/accounts/{ACCOUNT}/metrics", headers={"Authorization": "Bearer tk"}).status_code == 200
    assert client.questions == [{"token": "tk", "required_scope": "metrics:read", "account_sid": ACCOUNT}]
    assert_refusal(app.get("/health", headers={"Authorization": "Bearer tk"}), 403, "forbidden")
    assert len(client.questions) == 1
