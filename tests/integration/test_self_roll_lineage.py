"""A token that rolled itself: its successor is its child, so a leak report of the old token, or
its revocation by a token or by a user, still reaches the successor (a leaked token cannot shed
its lineage by rolling itself); a user who says keepSuccessor ends the old token's grace and keeps
the successor, which then hangs from the old token's parent. The token object shows rolledTo.
Handlers on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apitokens.domain.principal import Principal
from tests.harness import Functions, Reply, assert_error
from tests.integration.test_leak_reports import REVOKE, public_call
from tests.integration.test_lineage_and_roll import WRITER, as_token, child_of, roll


def self_rolled(functions: Functions, parent: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A token (a user's, or `parent`'s child) rolled by itself with a grace period."""
    old = child_of(functions, parent) if parent else functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 3600}, principal=as_token(old["sid"]))
    assert rolled.status == 201, rolled.body
    assert rolled.body["parentSid"] == old["sid"]
    return old, dict(rolled.body)


def end_grace(functions: Functions, sid: str, end: str, *, keep: bool, principal: Principal | None = None) -> Reply:
    """A delete (keepSuccessor in the query) or a deactivation (in the body) of `sid`."""
    if end == "delete":
        return functions.delete(sid, query={"keepSuccessor": "true"} if keep else None, principal=principal)
    body = {"name": "old", "isActive": False, **({"keepSuccessor": True} if keep else {})}
    return functions.update(sid, body, principal=principal)


def test_the_token_object_shows_its_successor(functions: Functions) -> None:
    old = functions.create(scopes=WRITER).body
    assert old["rolledTo"] is None
    assert functions.get(old["sid"]).body["rolledTo"] is None
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 60}, principal=as_token(old["sid"]))
    assert rolled.body["rolledTo"] is None
    assert functions.get(old["sid"]).body["rolledTo"] == rolled.body["sid"]
    listed = {record["sid"]: record["rolledTo"] for record in functions.list().body["records"]}
    assert listed == {old["sid"]: rolled.body["sid"], rolled.body["sid"]: None}
    renamed = functions.update(old["sid"], {"name": "renamed", "isActive": True})
    assert renamed.body["rolledTo"] == rolled.body["sid"]


@pytest.mark.parametrize("end", ["delete", "deactivate"])
def test_a_users_revocation_of_a_self_rolled_token_revokes_its_successor(functions: Functions, end: str) -> None:
    old, new = self_rolled(functions)
    grandchild = child_of(functions, new)
    assert end_grace(functions, old["sid"], end, keep=False).status == 200
    for token in (old, new, grandchild):
        assert not functions.token_accepted(token["token"])
    assert functions.get(new["sid"]).body["revokedReason"] == "parent_revoked"


@pytest.mark.parametrize("end", ["delete", "deactivate"])
def test_only_a_user_may_keep_the_successor(functions: Functions, end: str) -> None:
    old, new = self_rolled(functions)
    refused = end_grace(functions, old["sid"], end, keep=True, principal=as_token(old["sid"]))
    assert refused.status == 403, refused.body
    assert functions.get(old["sid"]).body["isActive"] is True
    assert functions.token_accepted(new["token"])


@pytest.mark.parametrize("value", ["1", "yes", "on", "t", "True", "TRUE", "", "0", "no", "off", "f", "False"])
def test_keep_successor_in_the_query_is_true_or_false_only(functions: Functions, value: str) -> None:
    """A loose boolean ("1", "yes", "on", ...) is a 400 naming keepSuccessor, not a guess at
    what the caller meant: the token and its successor stay as they were."""
    old, new = self_rolled(functions)
    error = assert_error(functions.delete(old["sid"], query={"keepSuccessor": value}), 400, "invalid_request")
    assert [detail["field"] for detail in error["details"]] == ["keepSuccessor"]
    assert "keepSuccessor" in error["message"]
    assert functions.get(old["sid"]).body["isActive"] is True
    assert functions.token_accepted(new["token"])


@pytest.mark.parametrize("end", ["delete", "deactivate"])
def test_a_user_ending_the_grace_keeps_the_successor(functions: Functions, end: str) -> None:
    old, new = self_rolled(functions)
    grandchild = child_of(functions, new)
    assert end_grace(functions, old["sid"], end, keep=True).status == 200
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
    assert end_grace(functions, old["sid"], "delete", keep=True).status == 200
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
