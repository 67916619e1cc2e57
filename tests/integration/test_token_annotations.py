"""redactedToken and metadata through the functions on moto: stored at creation, returned on
every token object, written to every lookup copy, handed to the backend by the authorizer, and
refused (400, nothing written) when malformed."""

from __future__ import annotations

import json
from typing import Any

from apitokens.domain.tokens import redact
from apitokens.settings import get_settings
from tests.harness import Functions, authorizer_event, scan_table
from tests.integration.test_lookup_copies import assert_copies_agree, lookup_copies

METADATA = {"team": "billing", "tier": "gold \U0001f947"}


def test_every_token_object_carries_the_redacted_hint_and_the_metadata(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(metadata=METADATA)
    assert created.status == 201, created.text
    secret, sid = created.body["token"], created.body["sid"]
    hint = redact(secret, get_settings().token_prefix)
    assert created.body["redactedToken"] == hint
    assert created.body["metadata"] == METADATA
    listed = functions.list().body["records"]
    for body in (functions.get(sid).body, listed[0]):
        assert (body["redactedToken"], body["metadata"]) == (hint, METADATA)
    # The hint is stored, not computed from a value the table never holds.
    token_items = [item for item in scan_table(dynamodb) if item.get("sid", {}).get("S") == sid]
    assert token_items[0]["redactedToken"] == {"S": hint}


def test_the_authorizer_hands_the_metadata_on_as_a_json_string(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(metadata=METADATA)
    secret = created.body["token"]
    assert_copies_agree(
        dynamodb, secret, metadata={"S": json.dumps(METADATA, separators=(",", ":"), ensure_ascii=False)}
    )
    decision = functions.authorize(authorizer_event(f"Bearer {secret}"))
    assert json.loads(decision["context"]["metadata"]) == METADATA
    plain = functions.create().body["token"]
    assert "metadata" not in functions.authorize(authorizer_event(f"Bearer {plain}"))["context"]


def test_update_replaces_keeps_and_clears_the_metadata_on_the_token_and_every_copy(
    functions: Functions, dynamodb: Any
) -> None:
    created = functions.create(metadata=METADATA)
    secret, sid = created.body["token"], created.body["sid"]
    replaced = functions.update(sid, {"name": "n", "isActive": True, "metadata": {"team": "ops"}})
    assert replaced.status == 200, replaced.text
    assert replaced.body["metadata"] == {"team": "ops"}
    assert_copies_agree(dynamodb, secret, metadata={"S": '{"team":"ops"}'})
    kept = functions.update(sid, {"name": "renamed", "isActive": True})
    assert kept.body["metadata"] == {"team": "ops"}
    assert functions.get(sid).body["metadata"] == {"team": "ops"}
    cleared = functions.update(sid, {"name": "renamed", "isActive": True, "metadata": None})
    assert cleared.body["metadata"] is None
    assert functions.get(sid).body["metadata"] is None
    assert all("metadata" not in item for item in lookup_copies(dynamodb, secret))
    assert "metadata" not in functions.authorize(authorizer_event(f"Bearer {secret}"))["context"]


def test_malformed_metadata_is_a_400_naming_the_field_and_writes_nothing(functions: Functions, dynamodb: Any) -> None:
    before = scan_table(dynamodb)
    for metadata in ({"bad key": "v"}, {"k": 1}, {f"k{index}": "v" for index in range(21)}, {"k": "v" * 1001}):
        reply = functions.create(metadata=metadata)
        assert reply.status == 400, reply.text
        assert reply.body["error"]["details"][0]["field"].startswith("metadata")
    assert scan_table(dynamodb) == before
    sid = functions.create(metadata=METADATA).body["sid"]
    before = scan_table(dynamodb)
    reply = functions.update(sid, {"name": "n", "isActive": True, "metadata": {"k": ["v"]}})
    assert reply.status == 400
    assert reply.body["error"]["details"][0]["field"] == "metadata.k"
    assert scan_table(dynamodb) == before
    assert functions.get(sid).body["metadata"] == METADATA
