"""The gateway's refusals over HTTP, through the local gateway and template.yaml's
GatewayResponses: a missing scope is named in the 403 (from the authorizer's deny context),
another account's route is not, and every refused credential gets the one same 401 body."""

from __future__ import annotations

import pytest

from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
GENERIC = "These credentials do not grant access to this account or route."


def test_a_missing_scope_is_named_in_the_403(server: LocalServer, jwt: str) -> None:
    reader = server.create_token(jwt, scopes=["metrics:read"])
    refused = server.request("GET", TOKENS, token=reader["token"])
    assert refused.status == 403
    assert refused.body == {
        "error": {
            "code": "forbidden",
            "message": f"{GENERIC} This route needs the scope tokens:read, which these credentials do not hold.",
        }
    }
    writer = server.request("POST", TOKENS, token=reader["token"], body={"name": "n", "scopes": ["metrics:read"]})
    assert writer.status == 403
    assert writer.body["error"]["message"].endswith(
        "needs the scope tokens:write, which these credentials do not hold."
    )


def test_a_user_without_the_scope_is_told_which_too(server: LocalServer) -> None:
    reader = server.jwt("--account", ACCOUNT, "--scope", "tokens:read")
    refused = server.request("DELETE", f"{TOKENS}/tok_abc123def456ghi789jkl012", token=reader)
    assert refused.status == 403
    assert refused.body["error"]["message"] == (
        f"{GENERIC} This route needs the scope tokens:delete, which these credentials do not hold."
    )


def test_another_accounts_route_is_refused_without_a_reason(server: LocalServer, jwt: str) -> None:
    token = server.create_token(jwt, scopes=["tokens:read"])
    refused = server.request("GET", f"/accounts/{OTHER_ACCOUNT}/apiTokens", token=token["token"])
    assert refused.status == 403
    assert refused.body == {"error": {"code": "forbidden", "message": GENERIC}}


def test_every_refused_credential_gets_the_same_401(server: LocalServer, jwt: str) -> None:
    revoked = server.create_token(jwt, scopes=["tokens:read"])
    assert server.request("DELETE", f"{TOKENS}/{revoked['sid']}", token=jwt).status == 200
    credentials = [
        revoked["token"],
        "at_test_" + "a" * 36,
        "not-a-token",
        jwt[:-4] + "AAAA",
        server.jwt("--account", ACCOUNT, "--expires-in", "1")[:-1],
    ]
    bodies = {server.request("GET", TOKENS, token=credential).text for credential in credentials}
    bodies.add(server.request("GET", TOKENS).text)
    assert [*map(str, bodies)] == ['{"error": {"code": "unauthorized", "message": "Missing or invalid credentials."}}']
