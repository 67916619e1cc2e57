"""A token that rolled itself: its successor is its child, so a leak report of the old
token, or its revocation by a token, still reaches the successor (a leaked token cannot shed its
lineage by rolling itself); a user deleting or deactivating the old token ends its grace and
keeps the successor, which then hangs from the old token's parent. Handlers on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Functions
from tests.integration.test_leak_reports import REVOKE, public_call
from tests.integration.test_lineage_and_roll import WRITER, as_token, child_of, roll


def self_rolled(functions: Functions, parent: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A token (a user's, or `parent`'s child) rolled by itself with a grace period."""
    old = child_of(functions, parent) if parent else functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 3600}, principal=as_token(old["sid"]))
    assert rolled.status == 201, rolled.body
    assert rolled.body["parentSid"] == old["sid"]
    return old, dict(rolled.body)


@pytest.mark.parametrize("end", ["delete", "deactivate"])
def test_a_user_ending_the_grace_keeps_the_successor(functions: Functions, end: str) -> None:
    old, new = self_rolled(functions)
    grandchild = child_of(functions, new)
    if end == "delete":
        assert functions.delete(old["sid"]).status == 200
    else:
        assert functions.update(old["sid"], {"name": "old", "isActive": False}).status == 200
    assert not functions.token_accepted(old["token"])
    assert functions.token_accepted(new["token"])
    assert functions.token_accepted(grandchild["token"])
    after = functions.get(new["sid"]).body
    assert (after["isActive"], after["parentSid"], after["revokedReason"]) == (True, None, None)
    assert after["createdBy"] == {"type": "token", "id": old["sid"]}  # who made it does not change
    # Revoking the successor still reaches what it created.
    assert functions.delete(new["sid"]).status == 200
    assert not functions.token_accepted(grandchild["token"])


def test_the_successor_takes_the_old_tokens_parent(functions: Functions) -> None:
    parent = functions.create(scopes=WRITER).body
    old, new = self_rolled(functions, parent)
    assert functions.delete(old["sid"]).status == 200
    assert functions.get(new["sid"]).body["parentSid"] == parent["sid"]
    assert functions.token_accepted(new["token"])
    # The old token's parent still reaches the successor: a leak up the lineage contains it.
    assert functions.delete(parent["sid"]).status == 200
    assert not functions.token_accepted(new["token"])
    assert functions.get(new["sid"]).body["revokedReason"] == "parent_revoked"


def test_a_leaked_token_that_rolled_itself_takes_its_successor_with_it(functions: Functions) -> None:
    old, new = self_rolled(functions)
    grandchild = child_of(functions, new)
    answer = public_call(functions, REVOKE, json.dumps({"tokens": [old["token"]]}).encode())
    assert answer.status == 202
    assert functions.get(old["sid"]).body["revokedReason"] == "leaked"
    assert not functions.token_accepted(new["token"])
    assert not functions.token_accepted(grandchild["token"])
    assert functions.get(new["sid"]).body["revokedReason"] == "parent_revoked"


@pytest.mark.parametrize("caller", ["old", "new"])
def test_a_token_deleting_its_rolled_predecessor_revokes_the_successor(functions: Functions, caller: str) -> None:
    # Whoever holds the old token could roll it and delete the old one with either value: a
    # token's delete is a cascade, so the successor goes too (a user's delete keeps it).
    old, new = self_rolled(functions)
    principal = as_token(old["sid"] if caller == "old" else new["sid"])
    assert functions.delete(old["sid"], principal=principal).status == 200
    assert not functions.token_accepted(new["token"])
    assert functions.get(new["sid"]).body["revokedReason"] == "parent_revoked"


def test_a_user_deleting_a_token_rolled_by_a_user_keeps_the_moved_children(functions: Functions) -> None:
    old = functions.create(scopes=WRITER).body
    child = child_of(functions, old)
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 60})
    assert rolled.status == 201, rolled.body
    assert functions.delete(old["sid"]).status == 200
    assert functions.token_accepted(rolled.body["token"])
    assert functions.token_accepted(child["token"])
    assert functions.get(child["sid"]).body["parentSid"] == rolled.body["sid"]
