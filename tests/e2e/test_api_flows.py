"""Every flow of the API contract, over HTTP, through the local gateway, the real authorizer and handlers."""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apitokens.domain import tokens
from apitokens_dev.local_http import MAX_BODY_BYTES as GATEWAY_MAX_BODY_BYTES
from tests.contract_shapes import CREATED_FIELDS, TIMESTAMP_PATTERN, TOKEN_FIELDS
from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer, Reply

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
SID = re.compile(r"tok_[A-Za-z0-9]{24}")
ALL_TOKEN_SCOPES = ["tokens:read", "tokens:write", "tokens:delete"]


def future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.body
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str), body
    assert error["code"], body
    assert isinstance(error["message"], str), body
    assert error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


def test_create_shows_the_secret_once_and_never_again(server: LocalServer, jwt: str) -> None:
    expires_at = future()
    created = server.create_token(
        jwt,
        name="Analytics Token",
        description="Dashboards",
        scopes=["metrics:read", "buckets:read"],
        expiresAt=expires_at,
    )
    assert list(created) == CREATED_FIELDS
    assert created["token"].startswith("at_test_")  # the local stage is a test deployment
    assert tokens.is_well_formed(created["token"], "at_test_")
    assert SID.fullmatch(created["sid"])
    assert created["accountSid"] == ACCOUNT
    assert created["scopes"] == ["metrics:read", "buckets:read"]
    assert created["expiresAt"] == expires_at
    assert created["isActive"] is True
    assert TIMESTAMP.fullmatch(created["createdAt"])
    secret, sid = created["token"], created["sid"]

    got = server.request("GET", f"{TOKENS}/{sid}", token=jwt)
    listed = server.request("GET", TOKENS, token=jwt)
    updated = server.request(
        "PUT",
        f"{TOKENS}/{sid}",
        token=jwt,
        body={"name": "Renamed", "description": "Still dashboards", "isActive": True},
    )
    for reply in (got, listed, updated):
        assert reply.status == 200, reply.text
        assert secret not in reply.text
        assert '"token"' not in reply.text
    assert list(got.body) == TOKEN_FIELDS
    assert got.body["lastUsedAt"] is None
    assert [record["sid"] for record in listed.body["records"]].count(sid) == 1
    assert list(updated.body) == TOKEN_FIELDS
    assert updated.body["name"] == "Renamed"


def test_idempotent_create_passes_through_the_gateway(server: LocalServer, jwt: str) -> None:
    body = {"name": "once", "scopes": ["tokens:read"]}
    headers = {"Idempotency-Key": "e2e-retry-1"}
    first = server.request("POST", TOKENS, token=jwt, body=body, headers=headers)
    assert first.status == 201, first.text
    server.secrets.append(first.body["token"])
    replay = server.request("POST", TOKENS, token=jwt, body=body, headers=headers)
    assert replay.status == 200, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert list(replay.body) == TOKEN_FIELDS  # the token object, never the secret again
    assert replay.body["sid"] == first.body["sid"]
    assert first.body["token"] not in replay.text
    changed = server.request("POST", TOKENS, token=jwt, body={**body, "name": "twice"}, headers=headers)
    assert_error(changed, 422, "idempotency_key_reused")


def test_list_is_newest_first_and_paginated(server: LocalServer) -> None:
    account = "acc_pagination00000000000000"  # its own account: other tests' tokens stay out of the pages
    owner = server.jwt("--account", account)
    sids = [server.create_token(owner, account, name=f"t{number}")["sid"] for number in range(3)]
    path = f"/accounts/{account}/apiTokens"

    everything = server.request("GET", path, token=owner)
    assert everything.status == 200, everything.text
    assert list(everything.body) == ["hasMore", "records"]
    assert everything.body["hasMore"] is False
    assert [record["sid"] for record in everything.body["records"]] == sids[::-1]
    assert all(list(record) == TOKEN_FIELDS for record in everything.body["records"])

    first = server.request("GET", f"{path}?limit=2", token=owner)
    assert first.body["hasMore"] is True
    assert [record["sid"] for record in first.body["records"]] == [sids[2], sids[1]]
    rest = server.request("GET", f"{path}?limit=2&startingAfter={sids[1]}", token=owner)
    assert rest.body == {"hasMore": False, "records": [everything.body["records"][2]]}


def test_get_update_delete(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, name="To change", description="before", scopes=["tokens:read", "metrics:read"])
    sid = created["sid"]

    updated = server.request(
        "PUT", f"{TOKENS}/{sid}", token=jwt, body={"name": "Changed", "description": "after", "isActive": False}
    )
    assert updated.status == 200, updated.text
    assert updated.body["name"] == "Changed"
    assert updated.body["description"] == "after"
    assert updated.body["isActive"] is False
    assert updated.body["scopes"] == ["tokens:read", "metrics:read"]
    assert updated.body["createdAt"] == created["createdAt"]
    assert server.request("GET", f"{TOKENS}/{sid}", token=jwt).body == updated.body

    scopes_change = server.request(
        "PUT", f"{TOKENS}/{sid}", token=jwt, body={"name": "x", "isActive": True, "scopes": ["tokens:write"]}
    )
    error = assert_error(scopes_change, 400, "invalid_request")
    assert [detail["field"] for detail in error["details"]] == ["scopes"]

    deleted = server.request("DELETE", f"{TOKENS}/{sid}", token=jwt)
    assert deleted.status == 200, deleted.text
    assert deleted.body == {"sid": sid, "deleted": True}
    assert list(deleted.body) == ["sid", "deleted"]
    assert_error(server.request("GET", f"{TOKENS}/{sid}", token=jwt), 404, "not_found")
    assert_error(server.request("DELETE", f"{TOKENS}/{sid}", token=jwt), 404, "not_found")
    assert sid not in server.request("GET", TOKENS, token=jwt).text


def test_an_api_token_is_a_bearer_credential_and_its_use_is_recorded(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, scopes=["tokens:read"])
    before = server.request("GET", f"{TOKENS}/{created['sid']}", token=jwt)
    assert before.body["lastUsedAt"] is None

    used = server.request("GET", TOKENS, token=created["token"])
    assert used.status == 200, used.text
    assert created["sid"] in [record["sid"] for record in used.body["records"]]

    after = server.request("GET", f"{TOKENS}/{created['sid']}", token=jwt).body
    assert after["lastUsedAt"] is not None
    assert TIMESTAMP.fullmatch(after["lastUsedAt"])
    assert after["lastUsedAt"] >= created["createdAt"]


def test_scopes_are_enforced(server: LocalServer, jwt: str) -> None:
    reader = server.create_token(jwt, scopes=["tokens:read"])["token"]
    target = server.create_token(jwt, name="target")["sid"]
    assert server.request("GET", TOKENS, token=reader).status == 200
    assert server.request("GET", f"{TOKENS}/{target}", token=reader).status == 200
    assert_error(server.request("POST", TOKENS, token=reader, body={"name": "n", "scopes": ["tokens:read"]}), 403)
    assert_error(server.request("PUT", f"{TOKENS}/{target}", token=reader, body={"name": "n", "isActive": False}), 403)
    assert_error(server.request("DELETE", f"{TOKENS}/{target}", token=reader), 403)
    assert server.request("GET", f"{TOKENS}/{target}", token=jwt).body["isActive"] is True

    # A token may only grant what it holds.
    writer = server.create_token(jwt, scopes=["tokens:read", "tokens:write"])["token"]
    escalation = server.request("POST", TOKENS, token=writer, body={"name": "n", "scopes": ["tokens:delete"]})
    assert_error(escalation, 403, "insufficient_scope")
    subset = server.request("POST", TOKENS, token=writer, body={"name": "n", "scopes": ["tokens:read"]})
    assert subset.status == 201, subset.text
    server.secrets.append(subset.body["token"])

    # A user JWT narrowed by its scope claim is held to it too.
    read_only_user = server.jwt("--account", ACCOUNT, "--scope", "tokens:read")
    assert server.request("GET", TOKENS, token=read_only_user).status == 200
    assert_error(
        server.request("POST", TOKENS, token=read_only_user, body={"name": "n", "scopes": ["tokens:read"]}), 403
    )


def test_revocation_by_delete_is_immediate(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, scopes=["tokens:read"])
    assert server.request("GET", TOKENS, token=created["token"]).status == 200
    assert server.request("DELETE", f"{TOKENS}/{created['sid']}", token=jwt).status == 200
    refused = server.request("GET", TOKENS, token=created["token"])
    assert_error(refused, 401, "unauthorized")
    assert refused.headers["www-authenticate"] == "Bearer"


def test_revocation_by_deactivation_is_immediate_and_reversible(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, scopes=["tokens:read"])
    path = f"{TOKENS}/{created['sid']}"
    assert server.request("GET", TOKENS, token=created["token"]).status == 200
    off = server.request("PUT", path, token=jwt, body={"name": "paused", "isActive": False})
    assert off.status == 200, off.text
    assert_error(server.request("GET", TOKENS, token=created["token"]), 401, "unauthorized")
    on = server.request("PUT", path, token=jwt, body={"name": "resumed", "isActive": True})
    assert on.status == 200, on.text
    assert server.request("GET", TOKENS, token=created["token"]).status == 200


def test_accounts_are_isolated(server: LocalServer, jwt: str) -> None:
    mine = server.create_token(jwt, scopes=ALL_TOKEN_SCOPES)
    stranger = server.jwt("--account", OTHER_ACCOUNT)
    path = f"{TOKENS}/{mine['sid']}"
    attempts = [
        ("GET", TOKENS, None),
        ("POST", TOKENS, {"name": "n", "scopes": ["tokens:read"]}),
        ("GET", path, None),
        ("PUT", path, {"name": "taken over", "isActive": False}),
        ("DELETE", path, None),
    ]
    for method, target, body in attempts:
        assert_error(server.request(method, target, token=stranger, body=body), 403, "forbidden")

    # Account A's API token, with every token scope, on account B's routes.
    theirs = f"/accounts/{OTHER_ACCOUNT}/apiTokens"
    victim = server.create_token(stranger, OTHER_ACCOUNT)
    for method, target, body in [
        ("GET", theirs, None),
        ("POST", theirs, {"name": "n", "scopes": ["tokens:read"]}),
        ("GET", f"{theirs}/{victim['sid']}", None),
        ("DELETE", f"{theirs}/{victim['sid']}", None),
    ]:
        assert_error(server.request(method, target, token=mine["token"], body=body), 403, "forbidden")

    # Nothing changed on either side.
    assert server.request("GET", path, token=jwt).body["isActive"] is True
    assert server.request("GET", f"{theirs}/{victim['sid']}", token=stranger).status == 200
    # A JWT for several accounts acts on each of them.
    both = server.jwt("--account", ACCOUNT, "--account", OTHER_ACCOUNT)
    assert server.request("GET", theirs, token=both).status == 200
    assert server.request("GET", TOKENS, token=both).status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer at_test_" + "A" * 36,  # bad checksum
        "Bearer " + tokens.generate("at_live_"),  # well-formed, but the other environment's prefix
        "Bearer " + tokens.generate("at_test_"),  # well-formed, never issued
    ],
)
def test_missing_or_invalid_credentials_are_401(server: LocalServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = server.request("GET", TOKENS, headers=headers)
    assert_error(reply, 401, "unauthorized")
    assert reply.headers["www-authenticate"] == "Bearer"


def _signing_key(server: LocalServer) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(
        (server.workdir / ".apitokens" / "dev-signing-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _forge(key: Any, kid: str, algorithm: str = "ES256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": "apitokens-local", "aud": "apitokens", "sub": "mallory", "iat": now, "exp": now + 600}
    claims["accounts"] = [ACCOUNT]
    claims["scope"] = "tokens:read tokens:write"  # JWT_ABSENT_SCOPE_CLAIM=none: no claim, no scope
    claims.update(overrides)
    return pyjwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm, headers={"kid": kid}
    )


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(claims)}."


def test_jwts_are_verified_through_the_jwks(server: LocalServer, jwt: str) -> None:
    key = _signing_key(server)
    kid = pyjwt.get_unverified_header(jwt)["kid"]
    now = int(time.time())
    assert server.request("GET", TOKENS, token=_forge(key, kid)).status == 200  # the forger's baseline works

    other_key = ec.generate_private_key(ec.SECP256R1())
    rejected = {
        "expired": _forge(key, kid, iat=now - 7200, exp=now - 3600),
        "not yet valid": _forge(key, kid, nbf=now + 3600),
        "wrong audience": _forge(key, kid, aud="someone-else"),
        "wrong issuer": _forge(key, kid, iss="https://evil.example/"),
        "no subject": _forge(key, kid, sub=None),
        "no expiry": _forge(key, kid, exp=None),
        "unknown kid": _forge(key, "no-such-kid"),
        "another key": _forge(other_key, kid),
        "alg none": _unsigned({"iss": "apitokens-local", "aud": "apitokens", "sub": "x", "accounts": [ACCOUNT]}, kid),
        "hmac": _forge("a-shared-secret-of-at-least-32-bytes!", kid, algorithm="HS256"),
    }
    for reason, forged in rejected.items():
        reply = server.request("GET", TOKENS, token=forged)
        assert reply.status == 401, f"{reason}: {reply.text}"
        assert_error(reply, 401, "unauthorized")


def test_gateway_answers_unknown_routes_with_the_envelope(server: LocalServer, jwt: str) -> None:
    for method, url in [
        ("GET", f"{server.root_url}/nope"),
        ("GET", f"{server.root_url}/v2{TOKENS}"),
        ("GET", f"{server.base_url}/accounts/{ACCOUNT}"),
        ("GET", f"{server.base_url}/accounts//apiTokens"),
        ("GET", f"{server.base_url}{TOKENS}/tok_abc123def456ghi789jkl012/extra"),
        ("PATCH", f"{server.base_url}/accounts/{ACCOUNT}"),
    ]:
        reply = server.call(method, url, token=jwt)
        assert_error(reply, 403, "forbidden")  # MISSING_AUTHENTICATION_TOKEN, as API Gateway answers by default


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", f"{TOKENS}/tok_abc123def456ghi789jkl012", "GET, PUT, DELETE, OPTIONS"),
        ("DELETE", TOKENS, "GET, POST, OPTIONS"),
        ("HEAD", TOKENS, "GET, POST, OPTIONS"),
        ("GET", f"{TOKENS}/tok_abc123def456ghi789jkl012/roll", "POST, OPTIONS"),
        ("PUT", "/credentials/revoke", "POST, OPTIONS"),
    ],
)
def test_a_known_path_with_a_method_it_does_not_serve_is_405_with_allow(
    server: LocalServer, jwt: str, method: str, path: str, allow: str
) -> None:
    reply = server.request(method, path, token=jwt)
    assert reply.status == 405, reply.text
    assert reply.headers["allow"] == allow
    if method != "HEAD":
        assert_error(reply, 405, "method_not_allowed")


def test_handlers_answer_bad_requests_with_the_envelope(server: LocalServer, jwt: str) -> None:
    def post(raw: bytes, content_type: str = "application/json") -> Reply:
        return server.request("POST", TOKENS, token=jwt, raw_body=raw, headers={"Content-Type": content_type})

    assert_error(post(b"{not json"), 400, "invalid_request")
    missing = assert_error(post(b'{"scopes": ["tokens:read"]}'), 400, "invalid_request")
    assert [detail["field"] for detail in missing["details"]] == ["name"]
    assert_error(post(b'{"name": "n", "scopes": ["tokens:fly"]}'), 400, "invalid_request")
    past = b'{"name": "n", "scopes": ["tokens:read"], "expiresAt": "2024-12-31T23:59:59.000Z"}'
    assert_error(post(past), 400, "invalid_request")
    assert_error(post(b'{"name": "n", "scopes": ["tokens:read"]}', "text/plain"), 415, "unsupported_media_type")
    assert_error(post(b'{"name": "' + b"n" * 17_000 + b'", "scopes": []}'), 413, "payload_too_large")
    assert_error(server.request("GET", f"{TOKENS}?limit=0", token=jwt), 400, "invalid_request")
    assert_error(server.request("GET", f"{TOKENS}?startingAfter=nope", token=jwt), 400, "invalid_request")
    assert_error(server.request("GET", f"{TOKENS}/tok_abc123def456ghi789jkl012", token=jwt), 404, "not_found")
    assert_error(server.request("GET", f"{TOKENS}/tok_short", token=jwt), 400, "invalid_request")


def test_path_parameters_are_percent_decoded(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt)
    encoded_account = ACCOUNT[:-1] + f"%{ord(ACCOUNT[-1]):02X}"
    encoded_sid = "tok_" + "".join(f"%{ord(char):02X}" for char in created["sid"][4:])
    reply = server.request("GET", f"/accounts/{encoded_account}/apiTokens/{encoded_sid}", token=jwt)
    assert reply.status == 200, reply.text
    assert reply.body["sid"] == created["sid"]


def test_connections_are_kept_alive(server: LocalServer, jwt: str) -> None:
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        statuses = []
        for _ in range(3):
            connection.request("GET", f"{parts.path}{TOKENS}", headers={"Authorization": f"Bearer {jwt}"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            assert response.getheader("Connection") != "close"
        sock = connection.sock
        connection.request("GET", f"{parts.path}{TOKENS}?limit=1", headers={"Authorization": f"Bearer {jwt}"})
        response = connection.getresponse()
        response.read()
        assert connection.sock is sock  # the same TCP connection served every request
        assert statuses == [200, 200, 200]
        assert response.status == 200
    finally:
        connection.close()


def test_development_endpoints(server: LocalServer, jwt: str) -> None:
    jwks = server.call("GET", f"{server.root_url}/.well-known/jwks.json")
    assert jwks.status == 200, jwks.text
    assert [key["kid"] for key in jwks.body["keys"]] == [pyjwt.get_unverified_header(jwt)["kid"]]
    assert all("d" not in key for key in jwks.body["keys"])  # public halves only

    document = server.call("GET", f"{server.base_url}/openapi.json")  # no credentials needed
    assert document.status == 200, document.text
    assert document.body["servers"] == [{"url": server.base_url}]
    operations = {op["operationId"] for path in document.body["paths"].values() for op in path.values()}
    assert operations == {
        *("listApiTokens", "getApiToken", "createApiToken", "updateApiToken", "deleteApiToken"),
        *("rollApiToken", "reportGithubSecretScanning", "revokeCredentials"),
        *("listAuditEvents", "getApiTokenUsage"),
        "verifyApiToken",
    }


def test_the_log_has_one_line_per_request_and_no_secret(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt)
    secret = created["token"]
    assert server.request("GET", TOKENS, token=secret).status == 200
    assert server.request("GET", f"/{secret}", token=secret).status == 403  # a secret in the URL, by mistake
    assert server.request("GET", f"{TOKENS}?note={jwt}", token=jwt).status == 200

    stdout, stderr = server.logs()
    banner, _, handler_output = stdout.partition("Press Ctrl-C to stop.")
    assert banner  # the banner shows its own JWT and curl line on purpose; nothing after it may
    for text in (handler_output, stderr):
        assert "Authorization" not in text
        assert "Bearer" not in text
        for value in {*server.secrets, jwt, secret}:
            assert value not in text
    lines = stderr.splitlines()
    assert f"POST /v1{TOKENS} 201" in "\n".join(lines)
    line = re.compile(r"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) /\S* \d{3} \d+ms principal=(user|token|-)")
    requests = [entry for entry in lines if line.fullmatch(entry)]
    assert any(entry.startswith(f"GET /v1{TOKENS} 200 ") and entry.endswith("principal=token") for entry in requests)
    assert any(entry.startswith("GET /v1/at_test_[redacted] 403 ") for entry in requests)
    assert [entry for entry in lines if not (line.fullmatch(entry) or entry.startswith("apitokens serve:"))] == []


def test_state_directory_is_private(server: LocalServer) -> None:
    state = server.workdir / ".apitokens"
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "dev-signing-key.pem").stat().st_mode & 0o777 == 0o600
    assert Path(state / ".gitignore").read_text() == "*\n"


def _raw_connection(server: LocalServer) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(server.base_url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30), parts.path


def test_chunked_request_bodies_are_read(server: LocalServer, jwt: str) -> None:
    connection, prefix = _raw_connection(server)
    body = json.dumps({"name": "chunked", "scopes": ["tokens:read"]}).encode()
    try:
        connection.request(
            "POST",
            f"{prefix}{TOKENS}",
            body=iter([body[:10], body[10:]]),
            headers={"Authorization": f"Bearer {jwt}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        created = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 201, created
    assert created["name"] == "chunked"
    server.secrets.append(created["token"])


def test_bodies_beyond_the_gateway_limit_are_refused_unread(server: LocalServer, jwt: str) -> None:
    connection, prefix = _raw_connection(server)
    try:
        # Only the headers are sent: the gateway must answer from Content-Length alone.
        connection.putrequest("POST", f"{prefix}{TOKENS}")
        connection.putheader("Authorization", f"Bearer {jwt}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(GATEWAY_MAX_BODY_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert response.getheader("Connection") == "close"
