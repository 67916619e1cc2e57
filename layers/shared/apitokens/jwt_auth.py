"""User-session JWTs: signature by a key from the identity provider's JWKS, algorithms pinned.

Only RS256 and ES256 are accepted (no `none`, no HMAC, so no RS/HS key confusion); the key is
chosen by `kid` from the configured JWKS URL alone (`jku`, `jwk` and `x5u` headers are never
followed); `iss`, `aud`, `exp` and `sub` are required, `nbf` honoured, with a small leeway.
"""

from __future__ import annotations

from typing import Any

import jwt

from apitokens import ids
from apitokens.errors import CREDENTIALS_REFUSED, Unauthenticated
from apitokens.principal import Principal
from apitokens.scopes import ALL_SCOPES
from apitokens.settings import Settings

ALGORITHMS = ("RS256", "ES256")


class JwtConfigurationError(RuntimeError):
    """The JWT settings are incomplete: every JWT is refused as an authorizer failure."""


def _strings(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list):
        return [item for item in claim if isinstance(item, str)]
    return []


class JwksVerifier:
    def __init__(self, settings: Settings, jwks_client: jwt.PyJWKClient | None = None) -> None:
        if not (settings.jwks_url and settings.jwt_issuer and settings.jwt_audience):
            raise JwtConfigurationError("JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must all be set")
        self._settings = settings
        # The key set is cached for five minutes, so a key the identity provider withdraws stops
        # working within that (no per-kid cache, which would keep it for the process's life). An
        # unknown kid refetches the set at most once per cooldown (key rotation without letting
        # random kids hammer the identity provider).
        self._jwks = jwks_client or jwt.PyJWKClient(settings.jwks_url, lifespan=300, cooldown_duration=30, timeout=3)

    def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            kid = header.get("kid")
            if algorithm not in ALGORITHMS or not isinstance(kid, str):
                raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_algorithm")
            signing_key = self._jwks.get_signing_key(kid)
            if signing_key.algorithm_name != algorithm:
                raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_algorithm")
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=[algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_signature": True},
            )
        except jwt.PyJWKClientConnectionError:
            raise  # the identity provider is unreachable: an authorizer failure, not a 401
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_expired") from None
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_invalid") from None
        return claims

    def principal(self, token: str) -> Principal:
        claims = self.claims(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_invalid")
        accounts = frozenset(
            account
            for account in _strings(claims.get(self._settings.jwt_accounts_claim))
            if ids.is_account_sid(account)
        )
        scope_claim = claims.get(self._settings.jwt_scope_claim)
        # A user has every scope on their accounts unless the token narrows it.
        scopes = ALL_SCOPES if scope_claim is None else frozenset(_strings(scope_claim)) & ALL_SCOPES
        return Principal(type="user", id=subject, account_sids=accounts, scopes=scopes)
