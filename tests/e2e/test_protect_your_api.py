"""`apitokens serve --api examples/metrics-api/template.yaml`: another API (an HTTP API) on the
same port and stage behind the same authorizer, over real HTTP; the authorizer cache emulated
when AuthorizerCacheTtl > 0; and `apitokens admin` writing into the server's own table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer, cli, start_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "metrics-api" / "template.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    local = start_server(tmp_path_factory.mktemp("api"), "--api", str(EXAMPLE))
    yield local
    local.stop_cleanly()


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    local = start_server(tmp_path_factory.mktemp("cached"), "--api", str(EXAMPLE), "--authorizer-cache-ttl", "300")
    yield local
    local.stop_cleanly()


def token(local: LocalServer, *scopes: str) -> str:
    secret: str = local.create_token(local.jwt(), scopes=list(scopes))["token"]
    return secret


def test_a_token_with_metrics_read_gets_the_metrics_and_who_called(server: LocalServer) -> None:
    secret = token(server, "metrics:read")
    reply = server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret)
    assert reply.status == 200, reply.text
    assert reply.body["route"] == "GET /accounts/{accountSid}/metrics"
    assert reply.body["account"] == ACCOUNT
    assert reply.body["caller"]["principalType"] == "token"
    assert reply.body["caller"]["scopes"] == ["metrics:read"]
    assert secret not in reply.text


def test_the_example_routes_need_their_scopes(server: LocalServer) -> None:
    reader = token(server, "tokens:read")
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=reader).status == 403
    assert server.request("GET", f"/accounts/{ACCOUNT}/buckets", token=reader).status == 403
    buckets = token(server, "buckets:read", "requests:delete")
    assert server.request("GET", f"/accounts/{ACCOUNT}/buckets", token=buckets).status == 200
    assert server.request("DELETE", f"/accounts/{ACCOUNT}/requests/req_1", token=buckets).status == 200
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=buckets).status == 403


def test_another_account_no_credentials_and_bad_credentials(server: LocalServer) -> None:
    secret = token(server, "metrics:read")
    foreign = server.request("GET", f"/accounts/{OTHER_ACCOUNT}/metrics", token=secret)
    assert (foreign.status, foreign.body) == (403, {"message": "Forbidden"})
    missing = server.request("GET", f"/accounts/{ACCOUNT}/metrics")
    assert (missing.status, missing.body) == (401, {"message": "Unauthorized"})
    # Refused credentials: the HTTP API's authorizer answers isAuthorized false (403).
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token="at_test_nope").status == 403


def test_a_user_jwt_works_on_both_apis(server: LocalServer) -> None:
    jwt = server.jwt("--account", ACCOUNT, "--scope", "metrics:read tokens:read")
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=jwt).body["caller"]["principalType"] == "user"
    assert server.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=jwt).status == 200
    assert server.request("GET", f"/accounts/{ACCOUNT}/buckets", token=jwt).status == 403


def test_use_through_the_http_api_is_recorded_with_the_clients_ip(server: LocalServer) -> None:
    jwt = server.jwt()
    created = server.create_token(jwt, scopes=["metrics:read"])
    headers = {"X-Forwarded-For": "198.51.100.66", "User-Agent": "metrics-client/2"}
    reply = server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=created["token"], headers=headers)
    assert reply.status == 200, reply.text
    usage = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{created['sid']}/usage", token=jwt).body
    assert usage["lastUsedAt"] is not None
    # The address the request came from, never the client's X-Forwarded-For.
    assert [(client["ip"], client["userAgent"]) for client in usage["recentClients"]] == [
        ("127.0.0.1", "metrics-client/2")
    ]
    query = f"/accounts/{ACCOUNT}/auditEvents?apiTokenSid={created['sid']}&type=token.used_from_new_ip"
    [new_ip] = server.request("GET", query, token=jwt).body["records"]
    assert (new_ip["sourceIp"], new_ip["userAgent"]) == ("127.0.0.1", "metrics-client/2")


def test_the_token_api_is_unchanged_beside_the_example(server: LocalServer) -> None:
    assert server.request("GET", f"/accounts/{ACCOUNT}/nothing", token=server.jwt()).status == 403  # no such route
    assert server.request("GET", f"/accounts/{ACCOUNT}/apiTokens").status == 401


REQUESTS = [
    ("GET", f"/accounts/{ACCOUNT}/apiTokens"),
    ("POST", f"/accounts/{ACCOUNT}/apiTokens"),
    ("GET", f"/accounts/{OTHER_ACCOUNT}/apiTokens"),
    ("GET", f"/accounts/{ACCOUNT}/metrics"),
    ("GET", f"/accounts/{OTHER_ACCOUNT}/metrics"),
    ("GET", f"/accounts/{ACCOUNT}/buckets"),
    ("DELETE", f"/accounts/{ACCOUNT}/requests/req_1"),
]


def _statuses(local: LocalServer, secret: str) -> list[int]:
    # Twice over, in order: the second round is answered from the cache where it applies.
    return [
        local.request(method, path, token=secret, body={} if method == "POST" else None).status
        for _ in range(2)
        for method, path in REQUESTS
    ]


@pytest.mark.parametrize("scopes", [("tokens:read",), ("metrics:read",), ("buckets:read", "tokens:read")])
def test_with_the_cache_on_no_request_is_allowed_that_would_be_refused_without_it(
    server: LocalServer, cached: LocalServer, scopes: tuple[str, ...]
) -> None:
    assert _statuses(cached, token(cached, *scopes)) == _statuses(server, token(server, *scopes))


def test_the_cache_is_keyed_by_credential_method_and_path(cached: LocalServer) -> None:
    created = cached.create_token(cached.jwt(), scopes=["tokens:read", "metrics:read"])
    secret, sid = created["token"], created["sid"]
    assert cached.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=secret).status == 200
    assert cached.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret).status == 200
    assert cached.request("DELETE", f"/accounts/{ACCOUNT}/apiTokens/{sid}", token=cached.jwt()).status == 200
    # Within the TTL the same requests are answered from the cache (AuthorizerCacheTtl's cost)...
    assert cached.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=secret).status == 200
    assert cached.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret).status == 200
    # (the query is no part of the key: the answer for a route never depends on it)...
    assert cached.request("GET", f"/accounts/{ACCOUNT}/apiTokens?limit=5", token=secret).status == 200
    # ...and any other request asks the authorizer, which refuses the deleted token.
    assert cached.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{sid}", token=secret).status == 401
    assert cached.request("GET", f"/accounts/{ACCOUNT}/buckets", token=secret).status == 403


def test_admin_creates_the_first_token_in_the_servers_table(server: LocalServer) -> None:
    stdout, _ = server.logs()
    # The banner's "First token:" line, run as printed (with this test's account and scope).
    first_token = re.search(r"First token: apitokens (admin create-token .*) --account \S+ --scope", stdout)
    assert first_token, stdout
    create_token = first_token.group(1).split()
    target = create_token[2:]  # --dynamodb-endpoint URL --table NAME --environment test
    created = cli(
        *create_token, "--account", ACCOUNT, "--scope", "metrics:read", "--name", "first",
        cwd=server.workdir,
    )  # fmt: skip
    secret = created.stdout.strip().splitlines()[-1]
    server.secrets.append(secret)
    assert secret.startswith("at_test_")
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret).status == 200
    sid = re.search(r"created (tok_\w+)", created.stdout)
    assert sid
    cli("admin", "revoke", *target[:4], "--account", ACCOUNT, "--token-sid", sid.group(1), cwd=server.workdir)
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret).status == 403
