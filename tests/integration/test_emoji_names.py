"""Create and update keep every emoji sequence of a name and description byte for byte, and
refuse a joiner, selector or tag that joins no emoji, changing nothing (moto)."""

from __future__ import annotations

from typing import Any

from tests.emoji_samples import DESCRIPTION, MISPLACED, NAME, OTHER_NAME
from tests.harness import Functions, scan_table


def test_create_and_update_keep_emoji_sequences(functions: Functions) -> None:
    created = functions.create(name=NAME, description=DESCRIPTION)
    assert created.status == 201, created.text
    assert (created.body["name"], created.body["description"]) == (NAME, DESCRIPTION)
    sid = created.body["sid"]
    assert functions.get(sid).body["name"] == NAME

    updated = functions.update(sid, {"name": OTHER_NAME, "description": NAME, "isActive": True})
    assert updated.status == 200, updated.text
    got = functions.get(sid).body
    assert (got["name"], got["description"]) == (OTHER_NAME, NAME)
    assert [token["name"] for token in functions.list().body["records"]] == [OTHER_NAME]


def test_misplaced_joiners_selectors_and_tags_are_refused_and_change_nothing(
    functions: Functions, dynamodb: Any
) -> None:
    sid = functions.create(name="kept").body["sid"]
    before = scan_table(dynamodb)
    for sequence in MISPLACED:
        for reply in (
            functions.create(name=f"x{sequence}"),
            functions.create(name="x", description=sequence),
            functions.update(sid, {"name": f"x{sequence}", "isActive": True}),
            functions.update(sid, {"name": "x", "description": sequence, "isActive": True}),
        ):
            assert reply.status == 400, (sequence, reply.text)
            assert reply.body["error"]["code"] == "invalid_request", reply.text
    assert scan_table(dynamodb) == before
