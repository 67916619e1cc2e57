"""A token's annotations and restrictions over real HTTP through `apitokens serve` (with the
example API behind the same authorizer): redactedToken and metadata on every token object, the
metadata handed to the example's backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ACCOUNT, LocalServer, start_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "metrics-api" / "template.yaml"
TOKENS = f"/accounts/{ACCOUNT}/apiTokens"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    local = start_server(tmp_path_factory.mktemp("restrictions"), "--api", str(EXAMPLE))
    yield local
    local.stop_cleanly()


def test_metadata_and_the_redacted_hint_over_http_and_the_backend_gets_the_metadata(server: LocalServer) -> None:
    jwt = server.jwt()
    created = server.create_token(jwt, scopes=["metrics:read", "tokens:read"], metadata={"team": "billing"})
    secret, sid = created["token"], created["sid"]
    assert created["redactedToken"] == secret[: secret.rindex("_") + 1] + "\u2026" + secret[-4:]
    got = server.request("GET", f"{TOKENS}/{sid}", token=jwt).body
    assert (got["redactedToken"], got["metadata"]) == (created["redactedToken"], {"team": "billing"})
    listed = server.request("GET", TOKENS, token=jwt).body["records"]
    assert [record["redactedToken"] for record in listed if record["sid"] == sid] == [created["redactedToken"]]
    echoed = server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret)
    assert echoed.status == 200, echoed.text
    assert echoed.body["caller"]["metadata"] == {"team": "billing"}
    updated = server.request(
        "PUT", f"{TOKENS}/{sid}", token=jwt, body={"name": "n", "isActive": True, "metadata": {"team": "ops"}}
    )
    assert updated.status == 200, updated.text
    assert server.request("GET", f"/accounts/{ACCOUNT}/metrics", token=secret).body["caller"]["metadata"] == {
        "team": "ops"
    }


def test_malformed_metadata_over_http_is_a_400_naming_the_field(server: LocalServer) -> None:
    jwt = server.jwt()
    body = {"name": "n", "scopes": ["tokens:read"], "metadata": {"k": "v" * 1001}}
    reply = server.request("POST", TOKENS, token=jwt, body=body)
    assert reply.status == 400, reply.text
    assert reply.body["error"]["details"][0]["field"] == "metadata.k"


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    local = start_server(
        tmp_path_factory.mktemp("restrictions-cached"), "--api", str(EXAMPLE), "--authorizer-cache-ttl", "300"
    )
    yield local
    local.stop_cleanly()


@pytest.mark.parametrize("which", ["server", "cached"])
def test_a_token_works_only_from_its_networks_on_the_rest_and_the_http_api(
    which: str, request: pytest.FixtureRequest
) -> None:
    local: LocalServer = request.getfixturevalue(which)
    jwt = local.jwt()
    scopes = ["tokens:read", "metrics:read"]
    # `apitokens serve` sees the client at 127.0.0.1.
    here = local.create_token(jwt, scopes=scopes, allowedIps=["127.0.0.0/8", "2001:db8::/32"])["token"]
    elsewhere = local.create_token(jwt, scopes=scopes, allowedIps=["10.0.0.0/8"])["token"]
    assert local.request("GET", TOKENS, token=here).status == 200
    assert local.request("GET", f"/accounts/{ACCOUNT}/metrics", token=here).status == 200
    forwarded = {"X-Forwarded-For": "10.0.0.1"}
    assert local.request("GET", TOKENS, token=elsewhere, headers=forwarded).status == 401
    assert local.request("GET", f"/accounts/{ACCOUNT}/metrics", token=elsewhere, headers=forwarded).status == 403


def test_children_inherit_networks_and_cannot_widen_them_over_http(server: LocalServer) -> None:
    jwt = server.jwt()
    parent = server.create_token(jwt, scopes=["tokens:read", "tokens:write"], allowedIps=["127.0.0.1"])
    child = server.request("POST", TOKENS, token=parent["token"], body={"name": "c", "scopes": ["tokens:read"]})
    assert child.status == 201, child.text
    assert child.body["allowedIps"] == ["127.0.0.1/32"]
    wider = {"name": "c", "scopes": ["tokens:read"], "allowedIps": ["0.0.0.0/0"]}
    assert server.request("POST", TOKENS, token=parent["token"], body=wider).status == 403
    bad = {"name": "c", "scopes": ["tokens:read"], "allowedIps": ["127.0.0.1/8"]}
    reply = server.request("POST", TOKENS, token=jwt, body=bad)
    assert reply.status == 400
    assert reply.body["error"]["details"][0]["field"] == "allowedIps"
