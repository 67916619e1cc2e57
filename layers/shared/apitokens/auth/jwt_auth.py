"""User-session JWTs: signature by a key from the identity provider's JWKS, algorithms pinned.

Only RS256 and ES256 are accepted (no `none`, no HMAC, so no RS/HS key confusion); the key is
chosen by `kid` from the configured JWKS URL alone (`jku`, `jwk` and `x5u` headers are never
followed); `iss`, the audience claim (`aud`, or Cognito access tokens' `client_id`), `exp` and
`sub` are required, `nbf` honoured, with a small leeway.

Claims as identity providers issue them: scopes as a space-separated string (`scope`, OAuth) or
a list (`scp` of Okta and Entra, `permissions` of Auth0), any claim name (namespaced ones such as
Auth0's `https://example.com/accounts` too), and JWT_SCOPE_CLAIM=* for providers whose tokens
carry no product scopes: users then hold every scope on their accounts. A token without the
scope claim holds no scope, unless JWT_ABSENT_SCOPE_CLAIM=all (then every scope).
"""

from __future__ import annotations

import hmac
from typing import Any

import jwt

from apitokens.domain import ids
from apitokens.domain.errors import CREDENTIALS_REFUSED, Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import is_known_scope, known_scopes
from apitokens.settings import EVERY_SCOPE, Settings

ALGORITHMS = ("RS256", "ES256")


class JwtConfigurationError(RuntimeError):
    """The JWT settings are incomplete: every JWT is refused as an authorizer failure."""


def _scopes(claim: Any, prefix: str = "") -> frozenset[str]:
    """A space-separated string or a list of scope names, each counting once `prefix` (the
    deployment's JwtScopePrefix) is stripped from it; one without the prefix, and any other
    value, grants none."""
    if isinstance(claim, str):
        names: list[str] = claim.split()
    elif isinstance(claim, list):
        names = [item for item in claim if isinstance(item, str)]
    else:
        return frozenset()
    if prefix:
        names = [name[len(prefix) :] for name in names if name.startswith(prefix)]
    return frozenset(name for name in names if is_known_scope(name))


def _accounts(claim: Any) -> frozenset[str]:
    """One account (a string, never split) or a list of them; malformed ones are dropped."""
    values = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    return frozenset(value for value in values if isinstance(value, str) and ids.is_account_sid(value))


def _names(claim: Any, audiences: tuple[str, ...]) -> bool:
    """Whether an audience-like claim (a string or a list of strings) names one of `audiences`."""
    if isinstance(claim, str):
        return any(hmac.compare_digest(claim, audience) for audience in audiences)
    return isinstance(claim, list) and any(isinstance(item, str) and item in audiences for item in claim)


class JwksVerifier:
    def __init__(self, settings: Settings, jwks_client: jwt.PyJWKClient | None = None) -> None:
        if not (settings.jwks_url and settings.jwt_issuer and settings.jwt_audiences):
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
            audience_claim = self._settings.jwt_audience_claim
            by_aud = audience_claim == "aud"
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=[algorithm],
                audience=list(self._settings.jwt_audiences) if by_aud else None,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={
                    "require": ["exp", "iss", "sub", audience_claim],
                    "verify_signature": True,
                    "verify_aud": by_aud,
                },
            )
            if not by_aud and not _names(claims.get(audience_claim), self._settings.jwt_audiences):
                raise Unauthenticated(CREDENTIALS_REFUSED, reason="jwt_invalid")
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
        accounts = _accounts(claims.get(self._settings.jwt_accounts_claim))
        scope_claim = self._settings.jwt_scope_claim
        if scope_claim == EVERY_SCOPE:
            scopes = known_scopes()
        elif scope_claim not in claims:
            # An absent claim grants nothing unless JWT_ABSENT_SCOPE_CLAIM=all says this identity
            # provider leaves it out on purpose. Any present value that is no scope list (null
            # included) grants none.
            scopes = known_scopes() if self._settings.jwt_absent_scope_claim == "all" else frozenset()
        else:
            scopes = _scopes(claims[scope_claim], self._settings.deployment.jwt_scope_prefix)
        return Principal(type="user", id=subject, account_sids=accounts, scopes=scopes)
