"""Configuration, read once from the environment.

A frozen dataclass rather than a pydantic-settings model on purpose: the authorizer runs on
every API request, and its API-token path must not pay pydantic's import time at cold start
(docs/performance.md). Every environment variable the code reads is named here and nowhere else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

TokenEnvironment = Literal["live", "test"]
# What a user JWT without the scope claim holds: no scope (the default), or every scope on the
# user's accounts (only for identity providers configured to leave the claim out on purpose).
AbsentScopeClaim = Literal["none", "all"]


# JWT_SCOPE_CLAIM's value meaning "users hold every scope on their accounts".
EVERY_SCOPE = "*"


# A roll writes both tokens' copies in one transaction of at most 100 items (with the count, the
# rolled slot, lineage and audit records): 2 x 40 + 20 leaves room for all of them.
MAX_LOOKUP_COPIES = 40


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    token_environment: TokenEnvironment = "live"
    max_tokens_per_account: int = 100
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # lastUsedAt is written at most once per this many seconds per token.
    last_used_interval_seconds: int = 60
    # Copies of each token's lookup item (README: "Hot tokens"): a token sustains about
    # lookup_copies x 3,000 strongly consistent authorizations a second. Written for new tokens.
    lookup_copies: int = 8
    # How many copies the authorizer chooses among; at most lookup_copies. Raising the count is
    # two steps (write more copies, backfill, then read more); None means lookup_copies.
    lookup_read_copies: int | None = None
    # User JWTs
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_url: str | None = None
    jwt_accounts_claim: str = "accounts"
    # The claim holding a user's scopes (a space-separated string, or a list), or EVERY_SCOPE:
    # users hold every scope on their accounts, whatever scope claim their tokens carry.
    jwt_scope_claim: str = "scope"
    # JWT_ABSENT_SCOPE_CLAIM: what a JWT without the scope claim holds, "none" or "all".
    jwt_absent_scope_claim: AbsentScopeClaim = "none"
    # The claim the audience is checked against: `aud`, or `client_id` for Cognito access tokens.
    jwt_audience_claim: str = "aud"
    jwt_leeway_seconds: int = 30
    # GitHub secret scanning: where its public keys are published.
    github_keys_url: str = "https://api.github.com/meta/public_keys/secret_scanning"
    enable_tracing: bool = False
    # Audit events are deleted (TTL) this many days after they happened.
    audit_retention_days: int = 400
    # Read by Powertools itself in the CRUD handlers; by jsonlog in the authorizer.
    service_name: str = "apitokens"
    log_level: str = "INFO"
    # The authorizer's EMF metrics go where Powertools' Metrics put the handlers'.
    metrics_namespace: str = "ApiTokens"
    # CORS: the one origin allowed to call the API from a browser; None means CORS is off.
    cors_allow_origin: str | None = None

    @property
    def token_prefix(self) -> str:
        return f"at_{self.token_environment}_"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        table_name = env.get("TABLE_NAME", "").strip()
        if not table_name:
            raise SettingsError("TABLE_NAME must be set")
        environment = env.get("TOKEN_ENVIRONMENT", "live").strip() or "live"
        if environment not in ("live", "test"):
            raise SettingsError(f"TOKEN_ENVIRONMENT must be 'live' or 'test', got {environment!r}")
        absent_scope_claim = (_optional(env, "JWT_ABSENT_SCOPE_CLAIM") or "none").lower()
        if absent_scope_claim not in ("none", "all"):
            raise SettingsError(f"JWT_ABSENT_SCOPE_CLAIM must be 'none' or 'all', got {absent_scope_claim!r}")
        return cls(
            table_name=table_name,
            token_environment="live" if environment == "live" else "test",
            max_tokens_per_account=_int(env, "MAX_TOKENS_PER_ACCOUNT", 100, 1, 10_000),
            dynamodb_endpoint_url=_optional(env, "DYNAMODB_ENDPOINT_URL"),
            aws_region=_optional(env, "AWS_REGION") or _optional(env, "AWS_DEFAULT_REGION") or "us-east-1",
            last_used_interval_seconds=_int(env, "LAST_USED_INTERVAL_SECONDS", 60, 1, 86_400),
            lookup_copies=_int(env, "LOOKUP_COPIES", 8, 1, MAX_LOOKUP_COPIES),
            lookup_read_copies=_int(env, "LOOKUP_READ_COPIES", 0, 0, MAX_LOOKUP_COPIES) or None,
            jwt_issuer=_optional(env, "JWT_ISSUER"),
            jwt_audience=_optional(env, "JWT_AUDIENCE"),
            jwks_url=_optional(env, "JWKS_URL"),
            jwt_accounts_claim=_optional(env, "JWT_ACCOUNTS_CLAIM") or "accounts",
            jwt_scope_claim=_optional(env, "JWT_SCOPE_CLAIM") or "scope",
            jwt_absent_scope_claim="all" if absent_scope_claim == "all" else "none",
            jwt_audience_claim=_optional(env, "JWT_AUDIENCE_CLAIM") or "aud",
            jwt_leeway_seconds=_int(env, "JWT_LEEWAY_SECONDS", 30, 0, 300),
            github_keys_url=_optional(env, "GITHUB_KEYS_URL")
            or "https://api.github.com/meta/public_keys/secret_scanning",
            audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", 400, 1, 36_500),
            enable_tracing=env.get("ENABLE_TRACING", "").strip().lower() == "true",
            service_name=_optional(env, "POWERTOOLS_SERVICE_NAME") or "apitokens",
            log_level=(_optional(env, "POWERTOOLS_LOG_LEVEL") or "INFO").upper(),
            metrics_namespace=_optional(env, "POWERTOOLS_METRICS_NAMESPACE") or "ApiTokens",
            cors_allow_origin=_optional(env, "CORS_ALLOW_ORIGIN"),
        )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env(os.environ)
