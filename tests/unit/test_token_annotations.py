"""redactedToken and metadata without DynamoDB: the wire's validation of metadata, the redacted
hint of a value, what create, update and roll do with them on the in-memory ports, and the
authorizer context that hands metadata to the backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from apitokens.domain import audit, tokens
from apitokens.domain.commands import CreateToken, RollToken, UpdateToken
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.rules import service
from apitokens.settings import Settings
from apitokens.wire.models import CreateTokenRequest, UpdateTokenRequest
from tests.harness.memory import MemoryStore

ACCOUNT = "acc_" + "a" * 24
NOW = datetime(2030, 1, 1, tzinfo=UTC)
USER = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)
SETTINGS = Settings(table_name="tokens")


def field_of(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.errors()[0]["loc"])


def create_body(**more: Any) -> dict[str, Any]:
    return {"name": "n", "scopes": ["tokens:read"], **more}


def test_the_redacted_hint_is_the_prefix_and_the_checksums_last_four_characters() -> None:
    value = tokens.generate("at_test_")
    assert tokens.redact(value, "at_test_") == "at_test_\u2026" + value[-4:]
    # The last four characters are the checksum's: the secret part is not in the hint.
    assert value[-4:] == tokens.checksum(value[: -tokens.CHECKSUM_LENGTH])[-4:]


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({f"k{index}": "v" for index in range(21)}, "metadata"),
        ({"": "v"}, "metadata"),
        ({"k" * 41: "v"}, "metadata"),
        ({"a b": "v"}, "metadata"),
        ({"ключ": "v"}, "metadata"),
        ({"k": "v" * 1001}, "metadata.k"),
        ({"k": 1}, "metadata.k"),
        ({"k": None}, "metadata.k"),
        ({"k": ["v"]}, "metadata.k"),
        ({f"k{index}": "v" * 1000 for index in range(5)}, "metadata"),
        (["k", "v"], "metadata"),
        ("k=v", "metadata"),
    ],
)
def test_metadata_of_the_wrong_shape_or_size_is_refused_naming_the_field(metadata: Any, field: str) -> None:
    for model, body in (
        (CreateTokenRequest, create_body(metadata=metadata)),
        (UpdateTokenRequest, {"name": "n", "isActive": True, "metadata": metadata}),
    ):
        with pytest.raises(ValidationError) as raised:
            model.model_validate_json(json.dumps(body))
        # A key's problem names the key under metadata; a value's, its key.
        assert field_of(raised.value).startswith(field)


def test_metadata_at_its_limits_is_taken() -> None:
    # 20 keys of 40 characters, values filling 4 KiB of compact JSON exactly.
    keys = [f"{index:02d}" + "k" * 38 for index in range(20)]
    overhead = len(json.dumps(dict.fromkeys(keys, ""), separators=(",", ":")))
    value_length = (4096 - overhead) // 20
    metadata = dict.fromkeys(keys, "v" * value_length)
    metadata[keys[0]] += "v" * ((4096 - overhead) % 20)
    assert len(json.dumps(metadata, separators=(",", ":"))) == 4096
    assert CreateTokenRequest.model_validate_json(json.dumps(create_body(metadata=metadata))).metadata == metadata
    metadata[keys[0]] += "v"
    with pytest.raises(ValidationError):
        CreateTokenRequest.model_validate_json(json.dumps(create_body(metadata=metadata)))


def test_update_keeps_metadata_when_absent_and_clears_it_with_null() -> None:
    absent = UpdateTokenRequest.model_validate_json('{"name": "n", "isActive": true}').command()
    cleared = UpdateTokenRequest.model_validate_json('{"name": "n", "isActive": true, "metadata": null}').command()
    assert (absent.replace_metadata, cleared.replace_metadata, cleared.metadata) == (False, True, None)


def test_create_stores_the_redacted_hint_and_the_metadata_and_roll_keeps_the_metadata() -> None:
    store = MemoryStore()
    created = service.create_token(
        store, SETTINGS, USER, ACCOUNT, CreateToken("t", ("tokens:read",), metadata={"team": "x"}), now=NOW
    )
    assert created.record.redacted_token == tokens.redact(created.secret, SETTINGS.token_prefix)
    assert store.get(ACCOUNT, created.record.sid).metadata == {"team": "x"}
    assert store.events[-1]["changes"]["metadata"] == audit.change(None, {"team": "x"})
    rolled = service.roll_token(store, SETTINGS, USER, ACCOUNT, created.record.sid, request=RollToken(), now=NOW)
    assert rolled.record.metadata == {"team": "x"}
    assert rolled.record.redacted_token == tokens.redact(rolled.secret, SETTINGS.token_prefix)
    assert rolled.record.redacted_token != created.record.redacted_token


def test_update_replaces_metadata_and_records_the_change() -> None:
    store = MemoryStore()
    created = service.create_token(store, SETTINGS, USER, ACCOUNT, CreateToken("t", ("tokens:read",)), now=NOW)
    sid = created.record.sid
    change = UpdateToken("t", True, metadata={"a": "1"}, replace_metadata=True)
    assert service.update_token(store, USER, ACCOUNT, sid, change, now=NOW).metadata == {"a": "1"}
    assert store.events[-1]["changes"] == {"metadata": audit.change(None, {"a": "1"})}
    kept = service.update_token(store, USER, ACCOUNT, sid, UpdateToken("renamed", True), now=NOW)
    assert kept.metadata == {"a": "1"}
    cleared = service.update_token(
        store, USER, ACCOUNT, sid, UpdateToken("renamed", True, replace_metadata=True), now=NOW
    )
    assert cleared.metadata is None
    assert store.events[-1]["changes"] == {"metadata": audit.change({"a": "1"}, None)}


def test_the_authorizer_context_carries_metadata_as_a_json_string_only_when_there_is_some() -> None:
    token = Principal("token", "tok_1", frozenset({ACCOUNT}), frozenset({"tokens:read"}), token_sid="tok_1")
    assert "metadata" not in token.to_context()
    annotated = Principal(
        "token", "tok_1", frozenset({ACCOUNT}), frozenset({"tokens:read"}), token_sid="tok_1", metadata='{"a":"1"}'
    )
    context = annotated.to_context()
    assert context["metadata"] == '{"a":"1"}'
    assert Principal.from_context(context).metadata == '{"a":"1"}'
