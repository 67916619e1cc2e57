"""The lineage's rules over real HTTP through `apitokens serve`: a token cannot roll its own
ancestor (so a leaked token cannot escape its report through a cycle), a rolled token mints
nothing, a token deletes only what it may deactivate, and the token object shows rolledTo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.harness import ACCOUNT, LocalServer, assert_error

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
WRITER = ["tokens:read", "tokens:write", "tokens:delete"]


def created_by(server: LocalServer, token: str, **fields: Any) -> dict[str, Any]:
    reply = server.request("POST", TOKENS, token=token, body={"name": "child", "scopes": WRITER, **fields})
    assert reply.status == 201, reply.text
    server.secrets.append(reply.body["token"])
    return dict(reply.body)


def test_a_leaked_token_cannot_escape_through_its_own_child(server: LocalServer, jwt: str) -> None:
    leaked = server.create_token(jwt, scopes=WRITER)
    child = created_by(server, leaked["token"])
    refused = server.request("POST", f"{TOKENS}/{leaked['sid']}/roll", token=child["token"])
    assert_error(refused, 403, "forbidden")
    assert server.request("GET", f"{TOKENS}/{leaked['sid']}", token=jwt).body["rolledTo"] is None
    assert server.request("POST", "/credentials/revoke", body={"tokens": [leaked["token"]]}).status == 202
    assert not server.token_works(leaked["token"])
    assert not server.token_works(child["token"])


def test_a_rolled_token_in_its_grace_mints_nothing(server: LocalServer, jwt: str) -> None:
    old = server.create_token(jwt, scopes=WRITER)
    rolled = server.request("POST", f"{TOKENS}/{old['sid']}/roll", token=jwt, body={"gracePeriodSeconds": 600})
    assert rolled.status == 201, rolled.text
    server.secrets.append(rolled.body["token"])
    assert server.token_works(old["token"])
    # Within what the old token grants (its expiry is now its grace's end), and still refused.
    soon = (datetime.now(UTC) + timedelta(seconds=120)).isoformat()
    body = {"name": "late", "scopes": WRITER, "expiresAt": soon}
    assert_error(server.request("POST", TOKENS, token=old["token"], body=body), 403, "forbidden")
    got = server.request("GET", f"{TOKENS}/{old['sid']}", token=jwt).body
    assert got["rolledTo"] == rolled.body["sid"]


def test_a_narrow_token_cannot_delete_a_broader_one(server: LocalServer, jwt: str) -> None:
    broad = server.create_token(jwt, scopes=[*WRITER, "metrics:read"])
    narrow = server.create_token(jwt, scopes=WRITER, expiresAt="2099-01-01T00:00:00Z")
    deactivate = server.request(
        "PUT", f"{TOKENS}/{broad['sid']}", token=narrow["token"], body={"name": "x", "isActive": False}
    )
    assert_error(deactivate, 403, "insufficient_scope")
    assert_error(server.request("DELETE", f"{TOKENS}/{broad['sid']}", token=narrow["token"]), 403, "insufficient_scope")
    assert server.token_works(broad["token"])
