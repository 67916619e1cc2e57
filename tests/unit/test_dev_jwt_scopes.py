"""The development JWT writes its scopes into the claim: the local server keeps the default
JWT_ABSENT_SCOPE_CLAIM=none, as a deployment does, and `dev-jwt` without --scope still holds all."""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from apitokens.domain.scopes import ALL_SCOPES
from apitokens_dev import devkeys
from tests.harness import ACCOUNT


def test_a_dev_jwt_without_scope_carries_all_nineteen_scopes_in_its_claim() -> None:
    token = devkeys.mint_jwt(ec.generate_private_key(ec.SECP256R1()), [ACCOUNT])
    scope = jwt.decode(token, options={"verify_signature": False})["scope"]
    assert set(scope.split()) == ALL_SCOPES
    assert len(ALL_SCOPES) == 19


def test_a_dev_jwt_with_scope_carries_only_those() -> None:
    token = devkeys.mint_jwt(ec.generate_private_key(ec.SECP256R1()), [ACCOUNT], scope="tokens:read")
    assert jwt.decode(token, options={"verify_signature": False})["scope"] == "tokens:read"
