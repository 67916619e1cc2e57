"""A token that rolled itself, over real HTTP through `apitokens serve`: a user's delete of the
old token takes the successor along unless it says keepSuccessor=true; the old token deleting
itself always takes it along."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import ACCOUNT, LocalServer, assert_error

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
WRITER = ["tokens:read", "tokens:write", "tokens:delete"]


def self_rolled(server: LocalServer, jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    old = server.create_token(jwt, scopes=WRITER)
    rolled = server.request("POST", f"{TOKENS}/{old['sid']}/roll", token=old["token"], body={"gracePeriodSeconds": 600})
    assert rolled.status == 201, rolled.text
    server.secrets.append(rolled.body["token"])
    assert rolled.body["parentSid"] == old["sid"]
    return old, rolled.body


def test_a_user_deleting_the_rolled_token_revokes_its_successor(server: LocalServer, jwt: str) -> None:
    old, new = self_rolled(server, jwt)
    assert server.request("GET", f"{TOKENS}/{old['sid']}", token=jwt).body["rolledTo"] == new["sid"]
    assert server.request("DELETE", f"{TOKENS}/{old['sid']}", token=jwt).status == 200
    assert not server.token_works(new["token"])
    after = server.request("GET", f"{TOKENS}/{new['sid']}", token=jwt).body
    assert (after["isActive"], after["revokedReason"]) == (False, "parent_revoked")


def test_a_user_may_keep_the_successor(server: LocalServer, jwt: str) -> None:
    old, new = self_rolled(server, jwt)
    loose = server.request("DELETE", f"{TOKENS}/{old['sid']}?keepSuccessor=yes", token=jwt)
    assert [detail["field"] for detail in assert_error(loose, 400, "invalid_request")["details"]] == ["keepSuccessor"]
    assert server.token_works(old["token"])
    assert server.request("DELETE", f"{TOKENS}/{old['sid']}?keepSuccessor=true", token=jwt).status == 200
    assert not server.token_works(old["token"])
    assert server.token_works(new["token"])
    after = server.request("GET", f"{TOKENS}/{new['sid']}", token=jwt).body
    assert (after["isActive"], after["parentSid"]) == (True, None)


def test_a_token_deleting_its_rolled_self_takes_the_successor_along(server: LocalServer, jwt: str) -> None:
    old, new = self_rolled(server, jwt)
    kept = server.request("DELETE", f"{TOKENS}/{old['sid']}?keepSuccessor=true", token=old["token"])
    assert_error(kept, 403, "forbidden")
    assert server.request("DELETE", f"{TOKENS}/{old['sid']}", token=old["token"]).status == 200
    assert not server.token_works(new["token"])
    after = server.request("GET", f"{TOKENS}/{new['sid']}", token=jwt).body
    assert (after["isActive"], after["revokedReason"]) == (False, "parent_revoked")
