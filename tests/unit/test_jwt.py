"""The JWT attack matrix against apitokens.auth.jwt_auth (no network: the JWKS fetch is answered in memory)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from apitokens.auth.jwt_auth import JwksVerifier, JwtConfigurationError
from apitokens.domain.errors import Unauthenticated
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.settings import Settings
from tests.harness import ACCOUNT, OTHER_ACCOUNT, TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, attacker_key, claims, rsa_public_pem, sign


@pytest.fixture
def verifier() -> JwksVerifier:
    return JwksVerifier(Settings.from_env(TEST_ENVIRONMENT), StaticJwksClient())


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_valid_jwt_gives_a_user_with_every_scope_on_its_accounts(verifier: JwksVerifier, algorithm: str) -> None:
    every_scope = " ".join(sorted(ALL_SCOPES))
    principal = verifier.principal(sign(claims(accounts=[ACCOUNT, OTHER_ACCOUNT], scope=every_scope), algorithm))
    assert principal.type == "user"
    assert principal.id == "user_42"
    assert principal.account_sids == {ACCOUNT, OTHER_ACCOUNT}
    assert principal.scopes == ALL_SCOPES


def test_accounts_claim_may_be_one_string_and_malformed_accounts_are_dropped(verifier: JwksVerifier) -> None:
    assert verifier.principal(sign(claims(accounts=ACCOUNT))).account_sids == {ACCOUNT}
    assert verifier.principal(sign(claims(accounts=[ACCOUNT, "acc_x", 7]))).account_sids == {ACCOUNT}


def test_scope_claim_narrows_and_unknown_scopes_are_ignored(verifier: JwksVerifier) -> None:
    assert verifier.principal(sign(claims(scope="tokens:read buckets:fly"))).scopes == {"tokens:read"}
    assert verifier.principal(sign(claims(scope=["tokens:read", "tokens:write"]))).scopes == {
        "tokens:read",
        "tokens:write",
    }
    assert verifier.principal(sign(claims(scope=""))).scopes == frozenset()


def test_the_accounts_claim_name_is_configurable() -> None:
    settings = Settings.from_env({**TEST_ENVIRONMENT, "JWT_ACCOUNTS_CLAIM": "https://example.com/accounts"})
    verifier = JwksVerifier(settings, StaticJwksClient())
    token = sign(claims(accounts=None, **{"https://example.com/accounts": [OTHER_ACCOUNT]}))
    assert verifier.principal(token).account_sids == {OTHER_ACCOUNT}


def _unsigned(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(payload)}."


def _tampered() -> str:
    header, payload, signature = sign().split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["accounts"] = [OTHER_ACCOUNT]
    encoded = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def _hs256_with_public_key() -> str:
    # The classic RS/HS confusion: an HMAC "signed" with the RSA public key as the secret.
    import hashlib
    import hmac

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(claims())}"
    mac = hmac.new(rsa_public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


ATTACKS = {
    "alg none": lambda: _unsigned(claims()),
    "HS256 signed with the public key": _hs256_with_public_key,
    "wrong issuer": lambda: sign(claims(iss="https://evil.test/")),
    "wrong audience": lambda: sign(claims(aud="someone-else")),
    "missing exp": lambda: sign(claims(exp=None)),
    "expired": lambda: sign(claims(exp=int(time.time()) - 3600)),
    "not yet valid": lambda: sign(claims(nbf=int(time.time()) + 3600)),
    "missing sub": lambda: sign(claims(sub=None)),
    "unknown kid": lambda: sign(kid="nobody"),
    "no kid": lambda: jwt.encode(claims(), attacker_key(), algorithm="RS256"),
    "signed by another key": lambda: jwt.encode(claims(), attacker_key(), algorithm="RS256", headers={"kid": "rsa-1"}),
    "ES256 header on the RSA key": lambda: sign(algorithm="ES256", kid="rsa-1"),
    "tampered payload": _tampered,
    "embedded jwk header": lambda: jwt.encode(
        claims(),
        attacker_key(),
        algorithm="RS256",
        headers={"kid": "attacker", "jwk": json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker_key().public_key()))},
    ),
    "jku header": lambda: jwt.encode(
        claims(), attacker_key(), algorithm="RS256", headers={"kid": "x", "jku": "https://evil.test/jwks.json"}
    ),
    "garbage": lambda: "not.a.jwt",
    "empty segments": lambda: "..",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_jwt_attacks_are_refused(verifier: JwksVerifier, attack: str) -> None:
    with pytest.raises(Unauthenticated):
        verifier.principal(ATTACKS[attack]())


def test_small_leeway_accepts_a_just_expired_token(verifier: JwksVerifier) -> None:
    assert verifier.principal(sign(claims(exp=int(time.time()) - 5))).id == "user_42"


def test_jwks_keys_are_cached_between_requests() -> None:
    client = StaticJwksClient()
    verifier = JwksVerifier(Settings.from_env(TEST_ENVIRONMENT), client)
    for _ in range(5):
        verifier.principal(sign())
    assert client.fetches == 1


def test_missing_jwt_settings_are_a_configuration_error() -> None:
    with pytest.raises(JwtConfigurationError):
        JwksVerifier(Settings.from_env({"TABLE_NAME": "t"}))
