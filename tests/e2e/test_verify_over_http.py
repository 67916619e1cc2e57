"""POST /v1/apiTokens/verify through `apitokens serve`, signed with real SigV4 (botocore) by the
keys of `apitokens dev-credentials`: a signed request gets the answer; an unsigned one, a bad
signature, a signature over another body, by other keys, for another region or service, too
old, or a Bearer credential get API Gateway's 403, without reaching the function."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from apitokens_dev import devkeys
from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer, Reply, assert_error, cli

pytestmark = pytest.mark.e2e

VERIFY = "/v1/apiTokens/verify"


def dev_credentials(server: LocalServer) -> dict[str, str]:
    lines = cli("dev-credentials", cwd=server.workdir).stdout.splitlines()
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert set(exports) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}
    return exports


@pytest.fixture(scope="module")
def keys(server: LocalServer) -> Credentials:
    exports = dev_credentials(server)
    return Credentials(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"])


def signed_headers(
    server: LocalServer,
    body: bytes,
    credentials: Credentials,
    *,
    region: str = "us-east-1",
    service: str = "execute-api",
    target: str = VERIFY,
) -> list[tuple[str, str]]:
    request = AWSRequest(
        method="POST", url=server.root_url + target, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(credentials, service, region).add_auth(request)
    return list(request.headers.items())


def send(server: LocalServer, headers: list[tuple[str, str]], body: bytes, target: str = VERIFY) -> Reply:
    return server.send("POST", target, headers, body)


def verify(server: LocalServer, credentials: Credentials, document: Any) -> Reply:
    body = json.dumps(document).encode("utf-8")
    return send(server, signed_headers(server, body, credentials), body)


def assert_signature_refused(reply: Reply) -> None:
    assert reply.status == 403, reply.text
    assert_error(reply, 403, "forbidden")
    assert "active" not in reply.text


def test_dev_credentials_are_kept_beside_the_other_dev_keys(server: LocalServer) -> None:
    first, second = dev_credentials(server), dev_credentials(server)
    assert first == second
    assert first["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    assert first["AWS_REGION"] == "us-east-1"
    stored = server.workdir / devkeys.STATE_DIR / devkeys.CREDENTIALS_FILE
    assert stored.stat().st_mode & 0o777 == 0o600
    assert first["AWS_SECRET_ACCESS_KEY"] in stored.read_text()


def test_a_signed_request_gets_the_tokens_answer(server: LocalServer, jwt: str, keys: Credentials) -> None:
    token = server.create_token(jwt, scopes=["metrics:read"])
    reply = verify(server, keys, {"token": token["token"], "method": "GET", "path": f"/accounts/{ACCOUNT}/metrics"})
    assert reply.status == 200, reply.text
    assert reply.body == {
        "active": True,
        "accountSid": ACCOUNT,
        "tokenSid": token["sid"],
        "scopes": ["metrics:read"],
        "expiresAt": None,
        "allowed": True,
    }
    other = {"token": token["token"], "requiredScope": "metrics:read", "accountSid": OTHER_ACCOUNT}
    assert verify(server, keys, other).body["allowed"] is False
    assert verify(server, keys, {"token": "at_test_nope"}).body == {"active": False}
    assert verify(server, keys, {"token": jwt}).body == {"active": False}  # a user JWT is no API token
    # A verification is a use.
    listed = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{token['sid']}", token=jwt).body
    assert listed["lastUsedAt"] is not None


def _unsigned(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json")]


def _bearer(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    token = server.jwt()
    return [("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")]


def _tampered(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    headers = signed_headers(server, body, keys)
    name, value = next((n, v) for n, v in headers if n == "Authorization")
    flipped = value[:-1] + ("0" if value[-1] != "0" else "1")
    return [(n, flipped if n == name else v) for n, v in headers]


def _other_body(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, json.dumps({"token": "at_test_something_else"}).encode(), keys)


def _other_keys(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, body, Credentials(keys.access_key, "not-the-secret"))


def _unknown_key(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, body, Credentials("AKIAIOSFODNN7EXAMPLE", keys.secret_key))


def _other_region(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, body, keys, region="eu-west-1")


def _other_service(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, body, keys, service="lambda")


def _too_old(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    ten_minutes_ago = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=ten_minutes_ago):
        return signed_headers(server, body, keys)


def _other_path(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    return signed_headers(server, body, keys, target="/v1/accounts")


def _two_signatures(server: LocalServer, body: bytes, keys: Credentials) -> list[tuple[str, str]]:
    headers = signed_headers(server, body, keys)
    return [*headers, next((n, v) for n, v in headers if n == "Authorization")]


REFUSED: dict[str, Callable[[LocalServer, bytes, Credentials], list[tuple[str, str]]]] = {
    "unsigned": _unsigned,
    "a Bearer credential": _bearer,
    "a bad signature": _tampered,
    "a signature over another body": _other_body,
    "another secret": _other_keys,
    "an unknown access key": _unknown_key,
    "another region": _other_region,
    "another service": _other_service,
    "a signature ten minutes old": _too_old,
    "a signature of another path": _other_path,
    "two Authorization headers": _two_signatures,
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_requests_not_signed_by_the_dev_credentials_are_403(
    server: LocalServer, jwt: str, keys: Credentials, case: str
) -> None:
    token = server.create_token(jwt)
    body = json.dumps({"token": token["token"]}).encode()
    before = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{token['sid']}", token=jwt).body
    assert_signature_refused(send(server, REFUSED[case](server, body, keys), body))
    # The function never ran: the token was not used.
    after = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{token['sid']}", token=jwt).body
    assert after["lastUsedAt"] == before["lastUsedAt"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"token": "x", "admin": true}', 400),
        (b'{"token": "x", "method": "GET"}', 400),
        (json.dumps({"token": "x" * 17_000}).encode(), 413),
        (json.dumps({"token": "at_test_\u00e9\u00e9"}).encode(), 200),
        ('{"token": "at_test_ü"}'.encode("latin-1"), 400),  # not UTF-8
        (json.dumps({"token": "at_test_" + "A" * 8000}).encode(), 200),
        (json.dumps({"token": "x", "method": "GET", "path": f"/accounts/{ACCOUNT}%2F..%2Fx/metrics"}).encode(), 200),
        (json.dumps({"token": "x", "method": "GET", "path": f"/accounts/{ACCOUNT}/../x/metrics"}).encode(), 200),
    ],
)
def test_bad_input_on_a_signed_request_is_never_a_500(
    server: LocalServer, keys: Credentials, body: bytes, status: int
) -> None:
    reply = send(server, signed_headers(server, body, keys), body)
    assert reply.status == status, reply.text
    if status == 200:
        assert reply.body == {"active": False}
    else:
        assert set(reply.body["error"]) >= {"code", "message"}


def test_encoded_slashes_and_dot_segments_are_not_allowed(server: LocalServer, jwt: str, keys: Credentials) -> None:
    token = server.create_token(jwt, scopes=["metrics:read", "tokens:read"])["token"]
    for path in (
        f"/accounts/{ACCOUNT}/apiTokens/..",
        f"/accounts/{OTHER_ACCOUNT}/../{ACCOUNT}/metrics",
        f"/accounts/{ACCOUNT}%2Fmetrics",
        f"/accounts/{ACCOUNT}/apiTokens/%2E%2E",
    ):
        reply = verify(server, keys, {"token": token, "method": "GET", "path": path})
        assert (reply.status, reply.body["active"], reply.body["allowed"]) == (200, True, False), path
