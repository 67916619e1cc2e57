"""Over HTTP through `apitokens serve`, as a client sends them (UTF-8 JSON, and JSON's \\u
escapes): names and descriptions keep their emoji sequences through create, update, get and
list, and a joiner, selector or tag that joins no emoji is a 400 that changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.emoji_samples import DESCRIPTION, MISPLACED, NAME, OTHER_NAME
from tests.harness import ACCOUNT, LocalServer, assert_error

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"


def test_emoji_sequences_survive_create_update_get_and_list(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, name=NAME, description=DESCRIPTION)
    assert (created["name"], created["description"]) == (NAME, DESCRIPTION)
    sid = created["sid"]

    # The body as raw UTF-8 (what urllib sends is JSON's ASCII \u escapes).
    body = json.dumps({"name": OTHER_NAME, "description": NAME, "isActive": True}, ensure_ascii=False)
    updated = server.send(
        "PUT",
        f"/v1{TOKENS}/{sid}",
        [("Authorization", f"Bearer {jwt}"), ("Content-Type", "application/json; charset=utf-8")],
        body.encode("utf-8"),
    )
    assert updated.status == 200, updated.text
    assert (updated.body["name"], updated.body["description"]) == (OTHER_NAME, NAME)

    got = server.request("GET", f"{TOKENS}/{sid}", token=jwt)
    assert (got.body["name"], got.body["description"]) == (OTHER_NAME, NAME)
    listed = server.request("GET", TOKENS, token=jwt).body["records"]
    assert [token["name"] for token in listed if token["sid"] == sid] == [OTHER_NAME]


def test_misplaced_joiners_selectors_and_tags_are_refused_over_http(server: LocalServer, jwt: str) -> None:
    sid = server.create_token(jwt, name="kept", description="as is")["sid"]
    for sequence in MISPLACED:
        for method, path, payload in (
            ("POST", TOKENS, {"name": f"x{sequence}", "scopes": ["tokens:read"]}),
            ("POST", TOKENS, {"name": "x", "description": sequence, "scopes": ["tokens:read"]}),
            ("PUT", f"{TOKENS}/{sid}", {"name": f"ad{sequence}min", "isActive": True}),
        ):
            assert_error(server.request(method, path, token=jwt, body=payload), 400, "invalid_request")
    got = server.request("GET", f"{TOKENS}/{sid}", token=jwt).body
    assert (got["name"], got["description"]) == ("kept", "as is")
    names = [token["name"] for token in server.request("GET", TOKENS, token=jwt).body["records"]]
    assert names.count("kept") == 1
    assert not [name for name in names if name.startswith(("x", "ad"))], names


# Letters and marks that render as nothing (visible_text.DEFAULT_IGNORABLE_MARKS).
BLANK_LOOKING = ["\u3164", "\u115f", "\uffa0", "\u034f", "\ufe00", "\U000e0100"]


def test_names_that_look_blank_or_hide_a_selector_are_refused_over_http(server: LocalServer, jwt: str) -> None:
    """A Hangul filler makes a name look empty; a variation selector after a letter makes
    "admin" and "admin" plus one look the same: both a 400 that changes nothing."""
    sid = server.create_token(jwt, name="kept", description="as is")["sid"]
    for character in BLANK_LOOKING:
        for method, path, payload in (
            ("POST", TOKENS, {"name": character * 3, "scopes": ["tokens:read"]}),
            ("POST", TOKENS, {"name": "x", "description": f"hidden{character}", "scopes": ["tokens:read"]}),
            ("PUT", f"{TOKENS}/{sid}", {"name": f"admin{character}", "isActive": True}),
        ):
            assert_error(server.request(method, path, token=jwt, body=payload), 400, "invalid_request")
    got = server.request("GET", f"{TOKENS}/{sid}", token=jwt).body
    assert (got["name"], got["description"]) == ("kept", "as is")
