"""The principal: what it may do, and its round trip through API Gateway's authorizer context
(flat strings), where anything missing or odd is no principal at all."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.errors import Unauthenticated
from apitokens.domain.principal import Principal
from tests.harness import ACCOUNT, OTHER_ACCOUNT, TOKEN_SID

TOKEN = Principal(
    type="token",
    id=TOKEN_SID,
    account_sids=frozenset({ACCOUNT}),
    scopes=frozenset({"tokens:write", "tokens:read"}),
    token_sid=TOKEN_SID,
    expires_at="2040-01-01T00:00:00.000Z",
)
USER = Principal(type="user", id="user_1", account_sids=frozenset({ACCOUNT, OTHER_ACCOUNT}), scopes=frozenset())


def test_may_needs_both_the_account_and_the_scope() -> None:
    assert TOKEN.may(ACCOUNT, "tokens:read")
    assert not TOKEN.may(OTHER_ACCOUNT, "tokens:read")
    assert not TOKEN.may(ACCOUNT, "metrics:read")
    assert not USER.may(ACCOUNT, "tokens:read")


def test_a_token_context_is_flat_sorted_strings_with_its_sid_and_expiry() -> None:
    assert TOKEN.to_context() == {
        "principalType": "token",
        "principalId": TOKEN_SID,
        "accountSids": ACCOUNT,
        "scopes": "tokens:read tokens:write",
        "tokenSid": TOKEN_SID,
        "expiresAt": "2040-01-01T00:00:00.000Z",
    }


def test_a_user_context_names_only_the_accounts_asked_and_has_no_token_fields() -> None:
    assert USER.to_context() == {
        "principalType": "user",
        "principalId": "user_1",
        "accountSids": " ".join(sorted((ACCOUNT, OTHER_ACCOUNT))),
        "scopes": "",
    }
    assert USER.to_context([OTHER_ACCOUNT, "acc_not_the_users"])["accountSids"] == OTHER_ACCOUNT
    assert USER.to_context([])["accountSids"] == ""


@pytest.mark.parametrize("principal", [TOKEN, USER])
def test_the_context_round_trips(principal: Principal) -> None:
    assert Principal.from_context(principal.to_context()) == principal


def test_empty_optional_fields_read_as_none() -> None:
    context = {**TOKEN.to_context(), "expiresAt": ""}
    assert Principal.from_context(context).expires_at is None
    user = Principal.from_context({"principalType": "user", "principalId": "u", "tokenSid": ""})
    assert user == Principal(type="user", id="u", account_sids=frozenset(), scopes=frozenset())


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"principalType": "admin", "principalId": "u"},
        {"principalId": "u"},
        {"principalType": "user"},
        {"principalType": "user", "principalId": ""},
        {"principalType": "user", "principalId": 7},
        {"principalType": "token", "principalId": TOKEN_SID},
        {"principalType": "token", "principalId": TOKEN_SID, "tokenSid": ""},
    ],
)
def test_anything_missing_or_odd_is_no_principal(context: dict[str, Any] | None) -> None:
    with pytest.raises(Unauthenticated):
        Principal.from_context(context)
