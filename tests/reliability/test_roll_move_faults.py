"""A roll that fails while moving the old token's children: nothing escapes the new
token's revocation meanwhile, and a retry finishes the move. Faults injected with
tests/harness/faults.py on the roll function's own client, on moto."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.scopes import ROLL
from apitokens.store.lineage import MOVE_BATCH
from tests.harness import Functions, scan_table
from tests.harness.faults import Error, Wiring
from tests.integration.test_lineage_and_roll import WRITER, child_of, roll

# The roll's own transaction, then the first batch of the move: the second batch fails.
FAILING = Error("internal_server_error", "InternalServerError", status=500)
CHILDREN = MOVE_BATCH + 3


def half_rolled(functions: Functions, wiring: Wiring) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """A token with CHILDREN children, rolled with an Idempotency-Key while the move's second
    transaction fails: returns the old token, its children and the roll's answer."""
    old = functions.create(scopes=WRITER).body
    children = [child_of(functions, old) for _ in range(CHILDREN)]
    fault = wiring.fail(functions.clients("POST", ROLL), "TransactWriteItems", FAILING, after=2)
    rolled = roll(functions, old["sid"], headers={"Idempotency-Key": "half-1"})
    assert fault.calls == 3  # the roll, the first batch, the failed second batch
    wiring.clear()
    return old, children, rolled


def parents(functions: Functions, children: list[dict[str, Any]]) -> list[str]:
    return [functions.get(child["sid"]).body["parentSid"] for child in children]


def moving_edges(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in scan_table(dynamodb) if "movingFrom" in item]


def test_a_half_moved_roll_answers_with_its_secret_and_lets_nothing_escape(
    functions: Functions, wiring: Wiring, dynamodb: Any
) -> None:
    old, children, rolled = half_rolled(functions, wiring)
    # The new token exists and its value is shown once: an error now would lose it for good.
    assert rolled.status == 201, rolled.body
    new = rolled.body
    assert functions.token_accepted(new["token"])
    assert parents(functions, children).count(new["sid"]) == MOVE_BATCH
    assert parents(functions, children).count(old["sid"]) == CHILDREN - MOVE_BATCH
    assert len(moving_edges(dynamodb)) == 1
    # Revoking the new token reaches every child, the unmoved ones through the roll's edge.
    assert functions.update(new["sid"], {"name": "off", "isActive": False}).status == 200
    assert not any(functions.token_accepted(child["token"]) for child in children)
    reasons = {functions.get(child["sid"]).body["revokedReason"] for child in children}
    assert reasons == {"parent_revoked"}
    # The old token was not revoked by it: it is the predecessor, not a descendant.
    assert functions.get(old["sid"]).body["revokedReason"] is None


@pytest.mark.parametrize("finish", ["same Idempotency-Key", "repeated roll", "user deletes the old token"])
def test_a_half_moved_roll_is_finished_by_a_retry(
    functions: Functions, wiring: Wiring, dynamodb: Any, finish: str
) -> None:
    old, children, rolled = half_rolled(functions, wiring)
    new = rolled.body
    if finish == "same Idempotency-Key":
        replay = roll(functions, old["sid"], headers={"Idempotency-Key": "half-1"})
        assert (replay.status, replay.body["sid"]) == (200, new["sid"])
    elif finish == "repeated roll":
        again = roll(functions, old["sid"])
        assert again.status == 409
        assert again.body["error"]["code"] == "invalid_token_state"
    else:
        assert functions.delete(old["sid"]).status == 200
    assert parents(functions, children) == [new["sid"]] * CHILDREN
    assert moving_edges(dynamodb) == []
    assert all(functions.token_accepted(child["token"]) for child in children)
    # Now under the new token only: revoking it reaches them all.
    assert functions.delete(new["sid"]).status == 200
    assert not any(functions.token_accepted(child["token"]) for child in children)


def test_a_roll_whose_move_fails_at_once_still_contains_every_child(
    functions: Functions, wiring: Wiring, dynamodb: Any
) -> None:
    old = functions.create(scopes=WRITER).body
    children = [child_of(functions, old) for _ in range(3)]
    wiring.fail(functions.clients("POST", ROLL), "TransactWriteItems", FAILING, after=1)
    rolled = roll(functions, old["sid"])
    wiring.clear()
    assert rolled.status == 201, rolled.body
    assert parents(functions, children) == [old["sid"]] * 3
    # Deleting the new token reaches the unmoved children too.
    assert functions.delete(rolled.body["sid"]).status == 200
    assert not any(functions.token_accepted(child["token"]) for child in children)
