"""The project's own algorithm pinning, before PyJWT's: a disallowed `alg` is refused without
any JWKS request, and a key published for another algorithm than the header's is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from apitokens.auth.jwt_auth import JwksVerifier
from apitokens.domain.errors import Unauthenticated
from apitokens.settings import Settings
from tests.harness import TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, claims, ec_key, jwks, rsa_key


def _settings() -> Settings:
    return Settings.from_env(TEST_ENVIRONMENT)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _with_header(header: dict[str, Any]) -> str:
    """A JWT whose header is `header` (its signature is never looked at)."""
    return f"{_b64(header)}.{_b64(claims())}.c2lnbmF0dXJl"


DISALLOWED = [
    jwt.encode(claims(), "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": "rsa-1"}),
    jwt.encode(claims(), rsa_key(), algorithm="RS384", headers={"kid": "rsa-1"}),
    jwt.encode(claims(), rsa_key(), algorithm="PS256", headers={"kid": "rsa-1"}),
    jwt.encode(claims(), ec.generate_private_key(ec.SECP384R1()), algorithm="ES384", headers={"kid": "ec-1"}),
    _with_header({"alg": "none", "kid": "rsa-1"}),
    _with_header({"alg": "rs256", "kid": "rsa-1"}),
    _with_header({"kid": "rsa-1"}),
]


@pytest.mark.parametrize("token", DISALLOWED, ids=["HS256", "RS384", "PS256", "ES384", "none", "rs256", "no-alg"])
def test_a_disallowed_alg_is_refused_before_any_jwks_request(token: str) -> None:
    client = StaticJwksClient()
    with pytest.raises(Unauthenticated) as refused:
        JwksVerifier(_settings(), client).principal(token)
    assert refused.value.reason == "jwt_algorithm"
    assert client.fetches == 0


def test_a_disallowed_alg_opens_no_url_with_the_default_jwks_client(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Any] = []

    def urlopen(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        raise AssertionError("the JWKS URL was requested")

    monkeypatch.setattr("jwt.jwks_client.urllib.request.urlopen", urlopen)
    verifier = JwksVerifier(_settings())
    for token in DISALLOWED:
        with pytest.raises(Unauthenticated):
            verifier.principal(token)
    assert opened == []


def test_a_header_without_a_string_kid_is_refused_before_any_jwks_request() -> None:
    client = StaticJwksClient()
    with pytest.raises(Unauthenticated) as refused:
        JwksVerifier(_settings(), client).principal(_with_header({"alg": "RS256"}))
    assert refused.value.reason == "jwt_algorithm"
    with pytest.raises(Unauthenticated):  # PyJWT itself refuses a kid that is no string
        JwksVerifier(_settings(), client).principal(_with_header({"alg": "RS256", "kid": 7}))
    assert client.fetches == 0


def test_an_allowed_alg_does_fetch_the_key_set() -> None:
    client = StaticJwksClient()
    principal = JwksVerifier(_settings(), client).principal(
        jwt.encode(claims(scope="tokens:read"), rsa_key(), algorithm="RS256", headers={"kid": "rsa-1"})
    )
    assert principal.scopes == {"tokens:read"}
    assert client.fetches == 1


def test_a_jwk_published_for_another_algorithm_than_the_header_is_refused() -> None:
    # The EC key is published as ES256; a header claiming RS256 with its kid names the wrong kind.
    token = jwt.encode(claims(), rsa_key(), algorithm="RS256", headers={"kid": "ec-1"})
    with pytest.raises(Unauthenticated) as refused:
        JwksVerifier(_settings(), StaticJwksClient()).principal(token)
    assert refused.value.reason == "jwt_algorithm"


def test_an_rsa_jwk_published_as_rs512_does_not_verify_an_rs256_header() -> None:
    keys = jwks()
    keys["keys"][0]["alg"] = "RS512"
    token = jwt.encode(claims(), rsa_key(), algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthenticated) as refused:
        JwksVerifier(_settings(), StaticJwksClient(keys)).principal(token)
    assert refused.value.reason == "jwt_algorithm"


def test_an_ec_jwk_of_another_curve_than_es256_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(other.public_key()))
    public.update(kid="ec-384", alg="ES384", use="sig")
    token = jwt.encode(claims(), ec_key(), algorithm="ES256", headers={"kid": "ec-384"})
    with pytest.raises(Unauthenticated) as refused:
        JwksVerifier(_settings(), StaticJwksClient({"keys": [public]})).principal(token)
    assert refused.value.reason == "jwt_algorithm"
