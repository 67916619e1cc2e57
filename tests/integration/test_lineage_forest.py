"""The lineage stays a forest: a token may never roll one of its ancestors, and no move puts a
token under its own descendant, so revoking a token always reaches everything below it. Handlers
on moto; races made deterministic by a client that runs a concurrent request between a read and
the write that depends on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from apitokens.domain.scopes import ROLL
from tests.harness import Functions
from tests.integration.test_leak_reports import REVOKE, public_call
from tests.integration.test_lineage_and_roll import WRITER, as_token, child_of, roll


def before_first_transaction(
    monkeypatch: pytest.MonkeyPatch, clients: list[Any], action: Callable[[], object], *, after: int = 0
) -> None:
    """`action` runs once, right before the first TransactWriteItems of these clients (or the
    one after `after` others): a concurrent request between a request's reads and its write."""
    pending = [action]
    passed = [0]
    for client in clients:
        original = client.transact_write_items

        def transact(original: Any = original, **request: Any) -> Any:
            if pending and passed[0] == after:
                pending.pop()()
            passed[0] += 1
            return original(**request)

        monkeypatch.setattr(client, "transact_write_items", transact)


def parent_chain(functions: Functions, sid: str) -> list[str]:
    """The sids from `sid` up to its root, following parentSid (fails on a cycle)."""
    chain = [sid]
    while True:
        parent = functions.get(chain[-1]).body.get("parentSid")
        if parent is None or functions.get(parent).status == 404:
            return chain
        assert parent not in chain, f"cycle: {[*chain, parent]}"
        chain.append(parent)


def test_a_child_cannot_roll_its_parent(functions: Functions) -> None:
    grand = functions.create(scopes=WRITER).body
    child = child_of(functions, grand)
    refused = roll(functions, grand["sid"], principal=as_token(child["sid"]))
    assert refused.status == 403, refused.body
    assert refused.body["error"]["code"] == "forbidden"
    after = functions.get(grand["sid"]).body
    assert (after["isActive"], after["rolledTo"], after["expiresAt"]) == (True, None, None)
    assert parent_chain(functions, child["sid"]) == [child["sid"], grand["sid"]]
    # And a leak report of the grandparent still reaches the child.
    public_call(functions, REVOKE, json.dumps({"tokens": [grand["token"]]}).encode())
    assert not functions.token_accepted(child["token"])


def test_a_grandchild_cannot_roll_its_grandparent(functions: Functions) -> None:
    root = functions.create(scopes=WRITER).body
    grandchild = child_of(functions, child_of(functions, root))
    refused = roll(functions, root["sid"], principal=as_token(grandchild["sid"]))
    assert refused.status == 403, refused.body
    assert functions.get(root["sid"]).body["rolledTo"] is None


def test_an_ancestor_made_in_the_race_is_refused_in_the_transaction(
    functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P rolls T while T, between the roll's reads and its write, becomes P's ancestor (P's
    parent R is rolled by a token under T, and R's children move under R's successor): the roll's
    conditions on P's ancestor chain refuse it, and no cycle forms."""
    t = functions.create(scopes=WRITER).body
    under_t = child_of(functions, t)
    r = functions.create(scopes=WRITER).body
    p = child_of(functions, r)

    def move_p_under_t() -> None:
        moved = roll(functions, r["sid"], principal=as_token(under_t["sid"]))
        assert moved.status == 201, moved.body

    before_first_transaction(monkeypatch, functions.clients("POST", ROLL), move_p_under_t)
    answer = roll(functions, t["sid"], principal=as_token(p["sid"]))
    assert answer.status == 409, answer.body
    assert functions.get(t["sid"]).body["rolledTo"] is None
    for token in (t, under_t, r, p):
        parent_chain(functions, token["sid"])
    # Revoking T reaches P (now below it).
    assert functions.delete(t["sid"]).status == 200
    assert not functions.token_accepted(p["token"])


def test_a_move_that_would_make_a_cycle_leaves_that_child_in_place(
    functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P rolls T (not its ancestor then); between the roll's transaction and the move of T's
    children, P moves below T's child U (P's parent R is rolled by U). Moving U under the new
    token, now below U, would close a cycle: U stays under T, and T still reaches everything."""
    t = functions.create(scopes=WRITER).body
    u = child_of(functions, t)
    r = functions.create(scopes=WRITER).body
    p = child_of(functions, r)

    def move_p_under_u() -> None:
        assert roll(functions, r["sid"], principal=as_token(u["sid"])).status == 201

    before_first_transaction(monkeypatch, functions.clients("POST", ROLL), move_p_under_u, after=1)
    rolled = roll(functions, t["sid"], principal=as_token(p["sid"]))
    assert rolled.status == 201, rolled.body
    assert functions.get(u["sid"]).body["parentSid"] == t["sid"]
    assert parent_chain(functions, rolled.body["sid"])[-1] == t["sid"]
    assert functions.delete(t["sid"]).status == 200
    for token in (u, p, rolled.body):
        assert not functions.token_accepted(token["token"])


@pytest.mark.parametrize("rolled", ["self", "sibling", "child"])
def test_rolls_that_keep_the_forest_are_allowed(functions: Functions, rolled: str) -> None:
    root = functions.create(scopes=WRITER).body
    roller = child_of(functions, root)
    target = {
        "self": roller,
        "sibling": child_of(functions, root),
        "child": child_of(functions, roller),
    }[rolled]
    grandchild = child_of(functions, target)
    answer = roll(functions, target["sid"], principal=as_token(roller["sid"]))
    assert answer.status == 201, answer.body
    for token in (root, roller, target, grandchild, answer.body):
        assert parent_chain(functions, token["sid"])[-1] == root["sid"]
    assert functions.delete(root["sid"]).status == 200
    for token in (roller, target, grandchild, answer.body):
        assert not functions.token_accepted(token["token"])
