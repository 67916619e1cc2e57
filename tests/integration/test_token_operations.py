"""The five operations, invoked with the events/ files on moto (table from template.yaml)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apitokens.domain.scopes import ALL_SCOPES
from tests.contract_shapes import CREATED_FIELDS, TIMESTAMP_PATTERN, TOKEN_FIELDS
from tests.harness import ACCOUNT, OTHER_ACCOUNT, Functions, scan_table, user


def test_create_returns_the_seed_shape_with_the_secret_once(functions: Functions) -> None:
    created = functions.create(
        name="Analytics Token",
        description="Token for analytics dashboard integration",
        scopes=["metrics:read", "buckets:read"],
        expiresAt="2030-12-31T23:59:59.000Z",
    )
    assert created.status == 201
    assert list(created.body) == CREATED_FIELDS
    assert created.body["token"].startswith("at_live_")
    assert created.body["scopes"] == ["metrics:read", "buckets:read"]
    assert created.body["expiresAt"] == "2030-12-31T23:59:59.000Z"
    assert created.body["isActive"] is True
    assert created.body["accountSid"] == ACCOUNT
    assert created.headers["cache-control"] == "no-store"
    assert re.fullmatch(TIMESTAMP_PATTERN, created.body["createdAt"])
    assert re.fullmatch(r"tok_[0-9A-Za-z]{24}", created.body["sid"])

    got = functions.get(created.body["sid"])
    assert got.status == 200
    assert list(got.body) == TOKEN_FIELDS
    assert "token" not in got.body
    assert got.body["lastUsedAt"] is None
    assert {key: got.body[key] for key in CREATED_FIELDS if key != "token"} == {
        key: created.body[key] for key in CREATED_FIELDS if key != "token"
    }


def test_get_list_and_update_never_return_the_secret_or_its_digest(functions: Functions, dynamodb: Any) -> None:
    created = functions.create()
    secret, sid = created.body["token"], created.body["sid"]
    digest_values = [item["secretDigest"]["S"] for item in scan_table(dynamodb) if "secretDigest" in item]
    assert len(digest_values) == 1
    responses = [
        functions.get(sid),
        functions.list(),
        functions.update(sid, {"name": "renamed", "isActive": True}),
    ]
    for response in responses:
        text = str(response.body)
        assert response.status == 200
        assert secret not in text
        assert digest_values[0] not in text
        assert "secretDigest" not in text


def test_the_plaintext_token_never_reaches_dynamodb(functions: Functions, dynamodb: Any) -> None:
    secrets = [functions.create(name=f"t{i}").body["token"] for i in range(3)]
    dump = str(scan_table(dynamodb))
    assert "at_live_" not in dump
    assert "at_test_" not in dump
    for secret in secrets:
        assert secret not in dump
        assert secret[8:] not in dump  # not even without its prefix


def test_list_is_newest_first_with_exact_has_more_and_pagination(functions: Functions) -> None:
    sids = [functions.create(name=f"token {i}").body["sid"] for i in range(5)]
    newest_first = list(reversed(sids))

    whole = functions.list()
    assert whole.status == 200
    assert list(whole.body) == ["hasMore", "records"]
    assert [record["sid"] for record in whole.body["records"]] == newest_first
    assert whole.body["hasMore"] is False

    first = functions.list(query={"limit": "2"})
    assert [r["sid"] for r in first.body["records"]] == newest_first[:2]
    assert first.body["hasMore"] is True
    second = functions.list(query={"limit": "2", "startingAfter": newest_first[1]})
    assert [r["sid"] for r in second.body["records"]] == newest_first[2:4]
    assert second.body["hasMore"] is True
    last = functions.list(query={"limit": "2", "startingAfter": newest_first[3]})
    assert [r["sid"] for r in last.body["records"]] == newest_first[4:]
    assert last.body["hasMore"] is False
    exact = functions.list(query={"limit": "5"})
    assert exact.body["hasMore"] is False


def test_list_continues_after_a_deleted_cursor(functions: Functions) -> None:
    sids = [functions.create(name=f"token {i}").body["sid"] for i in range(3)]
    assert functions.delete(sids[1]).status == 200
    page = functions.list(query={"startingAfter": sids[1]})
    assert [r["sid"] for r in page.body["records"]] == [sids[0]]


def test_list_of_an_account_without_tokens_is_empty(functions: Functions) -> None:
    response = functions.list()
    assert response.status == 200
    assert response.body == {"hasMore": False, "records": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"startingAfter": "tok_bad!"}, "startingAfter"),
        ({"startingAfter": "acc_abc123def456ghi789jkl012"}, "startingAfter"),
    ],
)
def test_list_rejects_bad_query_parameters(functions: Functions, query: dict[str, str], field: str) -> None:
    response = functions.list(query=query)
    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_request"
    assert field in response.body["error"]["message"]


def test_update_changes_name_description_and_active_but_never_scopes(functions: Functions) -> None:
    created = functions.create(description="first", scopes=["buckets:read", "tokens:read"]).body
    updated = functions.update(created["sid"], {"name": "Updated", "description": "second", "isActive": False})
    assert updated.status == 200
    assert list(updated.body) == TOKEN_FIELDS
    assert updated.body["name"] == "Updated"
    assert updated.body["description"] == "second"
    assert updated.body["isActive"] is False
    assert updated.body["scopes"] == ["buckets:read", "tokens:read"]
    assert functions.get(created["sid"]).body == updated.body


def test_update_without_description_keeps_it_and_null_clears_it(functions: Functions) -> None:
    sid = functions.create(description="keep me").body["sid"]
    kept = functions.update(sid, {"name": "n", "isActive": True})
    assert kept.body["description"] == "keep me"
    cleared = functions.update(sid, {"name": "n", "isActive": True, "description": None})
    assert cleared.body["description"] is None
    assert functions.get(sid).body["description"] is None


@pytest.mark.parametrize("field", ["scopes", "token", "sid", "expiresAt", "color"])
def test_update_refuses_any_other_field_by_name(functions: Functions, field: str) -> None:
    sid = functions.create().body["sid"]
    before = functions.get(sid).body
    response = functions.update(sid, {"name": "n", "isActive": True, field: ["tokens:write"]})
    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_request"
    assert field in response.body["error"]["message"]
    assert [detail["field"] for detail in response.body["error"]["details"]] == [field]
    assert functions.get(sid).body == before


def test_update_scopes_error_explains_how_to_change_scopes(functions: Functions) -> None:
    sid = functions.create().body["sid"]
    response = functions.update(sid, {"name": "n", "isActive": True, "scopes": ["tokens:read"]})
    assert "create a new token" in response.body["error"]["details"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"isActive": True},
        {"name": "n"},
        {"name": "n", "isActive": "false"},
        {"name": "", "isActive": True},
        {"name": "x" * 101, "isActive": True},
        {"name": "n", "isActive": True, "description": "d" * 501},
    ],
)
def test_update_validates_its_body(functions: Functions, body: dict[str, Any]) -> None:
    sid = functions.create().body["sid"]
    response = functions.update(sid, body)
    assert response.status == 400, response.body
    assert response.body["error"]["details"]


def test_delete_returns_sid_and_deleted_then_everything_is_404(functions: Functions, dynamodb: Any) -> None:
    sid = functions.create().body["sid"]
    deleted = functions.delete(sid)
    assert deleted.status == 200
    assert deleted.body == {"sid": sid, "deleted": True}
    for response in (
        functions.get(sid),
        functions.update(sid, {"name": "back", "isActive": True}),
        functions.delete(sid),
    ):
        assert response.status == 404
        assert response.body["error"]["code"] == "not_found"
    # Nothing of the token is left, and update did not resurrect it.
    # Only the audit trail remains.
    assert [item for item in scan_table(dynamodb) if item["SK"]["S"] != "META" and item["type"]["S"] != "audit"] == []


def test_unknown_sid_is_404_for_get_update_delete(functions: Functions) -> None:
    sid = "tok_abc123def456ghi789jkl012"
    assert functions.get(sid).status == 404
    assert functions.update(sid, {"name": "n", "isActive": True}).status == 404
    assert functions.delete(sid).status == 404


def test_tokens_of_one_account_are_invisible_from_another(functions: Functions) -> None:
    sid = functions.create().body["sid"]
    both = user(accounts=(ACCOUNT, OTHER_ACCOUNT))
    assert functions.get(sid, OTHER_ACCOUNT, principal=both).status == 404
    assert functions.list(OTHER_ACCOUNT, principal=both).body["records"] == []
    assert functions.delete(sid, OTHER_ACCOUNT, principal=both).status == 404
    assert functions.get(sid).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["tokens:read"]}, "name"),
        ({"name": "n"}, "scopes"),
        ({"name": "n", "scopes": []}, "scopes"),
        ({"name": "n", "scopes": ["tokens:admin"]}, "scopes"),
        ({"name": "n", "scopes": ["tokens:read", "tokens:read"]}, "scopes"),
        ({"name": "n", "scopes": "tokens:read"}, "scopes"),
        ({"name": "   ", "scopes": ["tokens:read"]}, "name"),
        ({"name": "a\u0000b", "scopes": ["tokens:read"]}, "name"),
        ({"name": "x" * 101, "scopes": ["tokens:read"]}, "name"),
        ({"name": "n", "description": "d" * 501, "scopes": ["tokens:read"]}, "description"),
        ({"name": "n", "scopes": ["tokens:read"], "expiresAt": "2024-12-31T23:59:59.000Z"}, "expiresAt"),
        ({"name": "n", "scopes": ["tokens:read"], "expiresAt": "tomorrow"}, "expiresAt"),
        ({"name": "n", "scopes": ["tokens:read"], "expiresAt": "2031-01-01T00:00:00"}, "expiresAt"),
        ({"name": "n", "scopes": ["tokens:read"], "isActive": False}, "isActive"),
        ({"name": "n", "scopes": ["tokens:read"], "token": "at_live_x"}, "token"),
        ({"name": 7, "scopes": ["tokens:read"]}, "name"),
    ],
)
def test_create_validates_its_body_and_changes_nothing(
    functions: Functions, dynamodb: Any, body: dict[str, Any], field: str
) -> None:
    response = functions.call("POST", "/accounts/{accountSid}/apiTokens", body=body)
    assert response.status == 400, response.body
    assert response.body["error"]["code"] == "invalid_request"
    assert field in response.body["error"]["message"] + str(response.body["error"].get("details"))
    assert scan_table(dynamodb) == []


def test_the_seeds_own_expiry_example_is_now_in_the_past(functions: Functions) -> None:
    response = functions.create(expiresAt="2024-12-31T23:59:59.000Z")
    assert response.status == 400
    assert "expiresAt must be in the future" in response.body["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    ["{", "[]", "null", '"text"', "", "{'name': 'single quotes'}", '{"name": "n", "scopes": ["tokens:read"]'],
)
def test_bodies_that_are_not_json_objects_are_400(functions: Functions, raw: str) -> None:
    response = functions.call("POST", "/accounts/{accountSid}/apiTokens", raw_body=raw)
    assert response.status == 400
    assert response.body["error"]["code"] == "invalid_request"


def test_wrong_content_type_is_415_and_oversized_body_is_413(functions: Functions, dynamodb: Any) -> None:
    plain = functions.call(
        "POST",
        "/accounts/{accountSid}/apiTokens",
        body={"name": "n", "scopes": ["tokens:read"]},
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status == 415
    assert plain.body["error"]["code"] == "unsupported_media_type"
    huge = functions.create(description="d" * 20_000)
    assert huge.status == 413
    assert huge.body["error"]["code"] == "payload_too_large"
    assert scan_table(dynamodb) == []


@pytest.mark.parametrize(
    "account", ["acc_short", "acc_abc123def456ghi789jkl01!", "ACC_abc123def456ghi789jkl012", "acc_"]
)
def test_malformed_account_sid_is_400(functions: Functions, account: str) -> None:
    response = functions.list(account, principal=user(accounts=(account,)))
    assert response.status == 400
    assert "accountSid" in response.body["error"]["message"]


@pytest.mark.parametrize(
    "sid", ["tok_short", "tok_abc123def456ghi789jkl012345", "tok_abc123def456ghi789jk#12", "TOKEN#x"]
)
def test_malformed_token_sid_is_400_never_a_database_error(functions: Functions, sid: str) -> None:
    for response in (functions.get(sid), functions.delete(sid), functions.update(sid, {"name": "n", "isActive": True})):
        assert response.status == 400
        assert "apiTokenSid" in response.body["error"]["message"]


def test_a_27_character_account_sid_is_accepted(functions: Functions) -> None:
    account = "acc_" + "a1" * 13 + "b"
    created = functions.create(account, principal=user(accounts=(account,)))
    assert created.status == 201
    assert created.body["accountSid"] == account


def test_per_account_limit_is_enforced_and_freed_by_delete(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from apitokens.settings import get_settings

    monkeypatch.setenv("MAX_TOKENS_PER_ACCOUNT", "3")
    get_settings.cache_clear()
    functions = Functions()  # settings are read once, when a function loads
    sids = [functions.create(name=f"t{i}").body["sid"] for i in range(3)]
    refused = functions.create(name="one too many")
    assert refused.status == 409
    assert refused.body["error"]["code"] == "token_limit_reached"
    assert len(functions.list().body["records"]) == 3
    # Another account has its own allowance.
    assert functions.create(OTHER_ACCOUNT, principal=user(accounts=(OTHER_ACCOUNT,))).status == 201
    functions.delete(sids[0])
    assert functions.create(name="fits again").status == 201


def test_every_scope_of_the_catalog_can_be_granted(functions: Functions) -> None:
    created = functions.create(scopes=sorted(ALL_SCOPES))
    assert created.status == 201
    assert len(created.body["scopes"]) == 19


def test_handlers_refuse_requests_without_authorizer_context(functions: Functions) -> None:
    response = functions.call("GET", "/accounts/{accountSid}/apiTokens", context={})
    assert response.status == 401
    assert response.body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:30:00+01:00"])
def test_an_expiry_outside_utcs_range_is_400(functions: Functions, dynamodb: Any, expires_at: str) -> None:
    response = functions.create(expiresAt=expires_at)
    assert response.status == 400
    assert "expiresAt" in str(response.body["error"])
    assert scan_table(dynamodb) == []
