"""The audience checked against another claim than `aud` (JWT_AUDIENCE_CLAIM=client_id): a string
equal to the audience, or a list of strings naming it; anything else is refused."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.auth.jwt_auth import JwksVerifier
from apitokens.domain.errors import Unauthenticated
from apitokens.settings import Settings
from tests.harness import JWT_AUDIENCE, TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, claims, sign


def _verifier() -> JwksVerifier:
    return JwksVerifier(Settings.from_env({**TEST_ENVIRONMENT, "JWT_AUDIENCE_CLAIM": "client_id"}), StaticJwksClient())


@pytest.mark.parametrize("client_id", [JWT_AUDIENCE, [JWT_AUDIENCE], ["another", JWT_AUDIENCE], [7, JWT_AUDIENCE]])
def test_a_claim_naming_the_audience_is_accepted(client_id: Any) -> None:
    principal = _verifier().principal(sign(claims(aud=None, client_id=client_id, scope="tokens:read")))
    assert principal.scopes == {"tokens:read"}


@pytest.mark.parametrize(
    "client_id",
    ["another", JWT_AUDIENCE + "x", [], ["another"], [7], {"id": JWT_AUDIENCE}, 7, [[JWT_AUDIENCE]]],
)
def test_a_claim_not_naming_the_audience_is_refused(client_id: Any) -> None:
    with pytest.raises(Unauthenticated) as refused:
        _verifier().principal(sign(claims(aud=None, client_id=client_id)))
    assert refused.value.reason == "jwt_invalid"
