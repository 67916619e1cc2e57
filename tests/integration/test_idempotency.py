"""Idempotent create: retries with an Idempotency-Key create nothing new."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.rules import service
from tests.contract_shapes import TOKEN_FIELDS
from tests.harness import (
    ACCOUNT,
    IDEMPOTENCY_HEADER,
    OTHER_ACCOUNT,
    TOKENS,
    Functions,
    Reply,
    scan_table,
    token_items,
    user,
)

BODY = {"name": "Deploy", "scopes": ["tokens:read"]}


def create(functions: Functions, key: str | None, body: dict[str, Any] = BODY, **kwargs: Any) -> Reply:
    headers = {IDEMPOTENCY_HEADER: key} if key is not None else None
    account = kwargs.pop("account", ACCOUNT)
    return functions.call("POST", TOKENS, account, body=body, headers=headers, **kwargs)


def test_a_retry_with_the_same_key_and_body_replays_without_the_secret(functions: Functions, dynamodb: Any) -> None:
    first = create(functions, "deploy-42")
    assert first.status == 201
    again = create(functions, "deploy-42")
    assert again.status == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.body["sid"] == first.body["sid"]
    assert "token" not in again.body
    assert list(again.body) == TOKEN_FIELDS
    assert len(token_items(scan_table(dynamodb))) == 1
    dump = str(scan_table(dynamodb))
    assert first.body["token"] not in dump
    assert "IDEMPOTENCY" in dump  # the record lives in the same table


def test_the_same_key_with_another_body_is_422(functions: Functions, dynamodb: Any) -> None:
    assert create(functions, "k1").status == 201
    response = create(functions, "k1", {**BODY, "name": "Other"})
    assert response.status == 422
    assert response.body["error"]["code"] == "idempotency_key_reused"
    assert len(token_items(scan_table(dynamodb))) == 1


def test_keys_are_scoped_to_principal_and_account(functions: Functions, dynamodb: Any) -> None:
    both = user(accounts=(ACCOUNT, OTHER_ACCOUNT))
    other_user = Principal("user", "user_2", frozenset({ACCOUNT}), ALL_SCOPES)
    sids = {
        create(functions, "shared", principal=both).body["sid"],
        create(functions, "shared", principal=both, account=OTHER_ACCOUNT).body["sid"],
        create(functions, "shared", principal=other_user).body["sid"],
    }
    assert len(sids) == 3
    assert len(token_items(scan_table(dynamodb))) == 3


def test_without_a_key_every_post_creates(functions: Functions, dynamodb: Any) -> None:
    assert create(functions, None).status == 201
    assert create(functions, None).status == 201
    assert len(token_items(scan_table(dynamodb))) == 2


def test_a_duplicate_in_flight_is_409_with_retry_after(
    functions: Functions, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = service.create_token
    inner: list[Reply] = []

    def create_while_a_retry_arrives(*args: Any, **kwargs: Any) -> Any:
        inner.append(create(functions, "slow"))  # the retry arrives while the first is running
        return real_create(*args, **kwargs)

    monkeypatch.setattr(service, "create_token", create_while_a_retry_arrives)
    first = create(functions, "slow")
    assert first.status == 201
    assert inner[0].status == 409
    assert inner[0].body["error"]["code"] == "request_in_progress"
    assert inner[0].headers["retry-after"] == "1"
    assert len(token_items(scan_table(dynamodb))) == 1


def test_a_failed_create_can_be_retried_with_the_same_key(
    functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apitokens.domain.errors import StoreUnavailable

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable()

    with monkeypatch.context() as patch:
        patch.setattr(service, "create_token", unavailable)
        assert create(functions, "retry-me").status == 503
    assert create(functions, "retry-me").status == 201


@pytest.mark.parametrize("key", ["has space", "x" * 256, "tab\there", "ünïcode"])
def test_malformed_keys_are_400(functions: Functions, dynamodb: Any, key: str) -> None:
    response = create(functions, key)
    assert response.status == 400
    assert "Idempotency-Key" in response.body["error"]["message"]
    assert token_items(scan_table(dynamodb)) == []


def test_scopes_of_different_callers_cannot_be_made_equal(functions: Functions, dynamodb: Any) -> None:
    # Joined with ":", subject "x:ACCOUNT" on OTHER_ACCOUNT with key "k" and subject "x" on
    # ACCOUNT with key "OTHER_ACCOUNT:k" would read the same.
    first = Principal("user", f"x:{ACCOUNT}", frozenset({OTHER_ACCOUNT}), ALL_SCOPES)
    second = Principal("user", "x", frozenset({ACCOUNT}), ALL_SCOPES)
    assert create(functions, "k", principal=first, account=OTHER_ACCOUNT).status == 201
    response = create(functions, f"{OTHER_ACCOUNT}:k", principal=second)
    assert response.status == 201
    assert response.body["accountSid"] == ACCOUNT
