"""Signing keys and a JWKS for JWT tests, made fresh per test session (nothing checked in)."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.harness import ACCOUNT, JWKS_URL, JWT_AUDIENCE, JWT_ISSUER


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key().public_key()))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(ec_key().public_key()))
    rsa_jwk.update(kid="rsa-1", alg="RS256", use="sig")
    ec_jwk.update(kid="ec-1", alg="ES256", use="sig")
    return {"keys": [rsa_jwk, ec_jwk]}


def rsa_public_pem() -> bytes:
    return (
        rsa_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user_42",
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "accounts": [ACCOUNT],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def sign(
    payload: dict[str, Any] | None = None, algorithm: str = "RS256", kid: str | None = None, **headers: Any
) -> str:
    key: Any = rsa_key() if algorithm == "RS256" else ec_key()
    kid = kid or ("rsa-1" if algorithm == "RS256" else "ec-1")
    return jwt.encode(payload or claims(), key, algorithm=algorithm, headers={"kid": kid, **headers})


class StaticJwksClient(jwt.PyJWKClient):
    """PyJWKClient with its HTTP fetch answered from memory; counts fetches."""

    def __init__(self, keys: dict[str, Any] | None = None) -> None:
        super().__init__(JWKS_URL)
        self.keys = keys or jwks()
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return self.keys
