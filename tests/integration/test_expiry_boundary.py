"""The exact expiry boundary, on the authorizer's public clock: expiresAt is the first refused instant."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.errors import Unauthenticated
from tests.harness import ACCOUNT, Functions, authorizer_event, user

EXPIRES_AT = "2033-05-18T03:33:20.000Z"  # epoch 2_000_000_000
EXPIRY_EPOCH = 2_000_000_000.0


def _token_expiring_at(functions: Functions, expires_at: str) -> dict[str, Any]:
    response = functions.create(ACCOUNT, scopes=["tokens:read"], principal=user(), expiresAt=expires_at)
    assert response.status == 201, response.body
    assert response.body["expiresAt"] == expires_at
    created: dict[str, Any] = response.body
    return created


def _authorize_at(functions: Functions, token: str, now: float) -> dict[str, Any]:
    functions.authorizer_instance.clock = lambda: now
    return functions.authorize(authorizer_event(f"Bearer {token}"))


def test_a_token_is_accepted_one_millisecond_before_it_expires(functions: Functions) -> None:
    created = _token_expiring_at(functions, EXPIRES_AT)
    decision = _authorize_at(functions, created["token"], EXPIRY_EPOCH - 0.001)
    assert decision["principalId"] == created["sid"]
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("after", [0.0, 0.001, 86_400.0])
def test_a_token_is_refused_from_the_millisecond_it_expires(functions: Functions, after: float) -> None:
    created = _token_expiring_at(functions, EXPIRES_AT)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize_at(functions, created["token"], EXPIRY_EPOCH + after)


def test_the_refusal_names_the_expiry_as_its_reason(functions: Functions) -> None:
    created = _token_expiring_at(functions, EXPIRES_AT)
    authorizer = functions.authorizer_instance
    authorizer.clock = lambda: EXPIRY_EPOCH
    with pytest.raises(Unauthenticated) as refused:
        authorizer.token_principal(created["token"])
    assert refused.value.reason == "expired_token"
    authorizer.clock = lambda: EXPIRY_EPOCH - 0.001
    assert authorizer.token_principal(created["token"]).expires_at == EXPIRES_AT
