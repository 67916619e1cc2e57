"""A roll moves the old token's children to the new one: each child's parentSid changes, so each
gets its token.updated event (parentSid from the old token to the new) in the same transaction
as its move (every change to a token has its event)."""

from __future__ import annotations

from apitokens.store import lineage
from tests.harness import Functions
from tests.integration.test_audit_events import events
from tests.integration.test_lineage_and_roll import child_of, family, roll


def test_each_moved_child_gets_a_parent_sid_event(functions: Functions) -> None:
    tree = family(functions)
    old = tree["child"]
    second = child_of(functions, old)  # the old token has two children: the grandchild and this one
    rolled = roll(functions, old["sid"])
    assert rolled.status == 201, rolled.body
    new_sid = rolled.body["sid"]
    for child in (tree["grandchild"], second):
        assert functions.get(child["sid"]).body["parentSid"] == new_sid
        updated = events(functions, apiTokenSid=child["sid"], type="token.updated").body["records"]
        assert [event["changes"] for event in updated] == [{"parentSid": {"from": old["sid"], "to": new_sid}}]
        assert updated[0]["actor"] == {"type": "user", "id": "user_1"}
    # The new token, the old token's own child, is not moved (it is the new parent).
    assert events(functions, apiTokenSid=new_sid, type="token.updated").body["records"] == []


def test_a_move_transaction_stays_within_dynamodbs_100_items() -> None:
    # The new parent's update, then four writes per child (two edges, parentSid, its event).
    assert 1 + 4 * lineage.MOVE_BATCH <= 100
