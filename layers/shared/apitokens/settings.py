"""Configuration, read once from the environment.

A frozen dataclass rather than a pydantic-settings model on purpose: the authorizer runs on
every API request, and its API-token path must not pay pydantic's import time at cold start
(docs/performance.md). Every environment variable the code reads is named here and nowhere else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TokenEnvironment = Literal["live", "test"]
# What a user JWT without the scope claim holds: no scope (the default), or every scope on the
# user's accounts (only for identity providers configured to leave the claim out on purpose).
AbsentScopeClaim = Literal["none", "all"]


# JWT_SCOPE_CLAIM's value meaning "users hold every scope on their accounts".
EVERY_SCOPE = "*"


# A roll writes both tokens' copies in one transaction of at most 100 items (with the count, the
# rolled slot, lineage and audit records): 2 x 40 + 20 leaves room for all of them.
MAX_LOOKUP_COPIES = 40
# MAX_TOKENS_PER_ACCOUNT's range (template.yaml's MaxTokensPerAccount: MinValue 1, MaxValue 10000).
MAX_TOKENS_PER_ACCOUNT_RANGE = (1, 10_000)


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with."""


# How one variable's text (stripped, never empty) becomes its field's value: (name, text) -> value.
_Read = Callable[[str, str], Any]


def _as_is(name: str, text: str) -> str:
    return text


def _upper(name: str, text: str) -> str:
    return text.upper()


def _is_true(name: str, text: str) -> bool:
    return text.lower() == "true"


def _whole_number(low: int, high: int, *, zero_means_default: bool = False) -> _Read:
    def read(name: str, text: str) -> int | None:
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
        return None if zero_means_default and value == 0 else value

    return read


def _one_of(*allowed: str, any_case: bool = False) -> _Read:
    def read(name: str, text: str) -> str:
        value = text.lower() if any_case else text
        if value not in allowed:
            raise SettingsError(f"{name} must be {' or '.join(map(repr, allowed))}, got {value!r}")
        return value

    return read


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    token_environment: TokenEnvironment = "live"
    max_tokens_per_account: int = 100
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # The SDK's own endpoint settings, which boto3 reads itself; the authorizer's client
    # (store/endpoint.py) follows them the same way.
    aws_endpoint_url_dynamodb: str | None = None
    aws_endpoint_url: str | None = None
    aws_ignore_configured_endpoint_urls: bool = False
    aws_use_fips_endpoint: bool = False
    aws_use_dualstack_endpoint: bool = False
    aws_ca_bundle: str | None = None
    # lastUsedAt is written at most once per this many seconds per token.
    last_used_interval_seconds: int = 60
    # Copies of each token's lookup item (docs/data-model.md: "Hot tokens"): a token sustains about
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
        """The settings the environment gives; a variable unset or blank leaves its field at the
        default above (the one place each default is stated)."""
        table_name = env.get("TABLE_NAME", "").strip()
        if not table_name:
            raise SettingsError("TABLE_NAME must be set")
        values: dict[str, Any] = {}
        for field_name, names, read in _VARIABLES:
            text = next((text for name in names if (text := env.get(name, "").strip())), None)
            if text is not None:
                values[field_name] = read(names[0], text)
        return cls(table_name=table_name, **values)


# Each field's environment variable (the first that is set, when there are several) and how its
# text is read.
_VARIABLES: tuple[tuple[str, tuple[str, ...], _Read], ...] = (
    ("token_environment", ("TOKEN_ENVIRONMENT",), _one_of("live", "test")),
    ("max_tokens_per_account", ("MAX_TOKENS_PER_ACCOUNT",), _whole_number(*MAX_TOKENS_PER_ACCOUNT_RANGE)),
    ("dynamodb_endpoint_url", ("DYNAMODB_ENDPOINT_URL",), _as_is),
    ("aws_region", ("AWS_REGION", "AWS_DEFAULT_REGION"), _as_is),
    ("aws_endpoint_url_dynamodb", ("AWS_ENDPOINT_URL_DYNAMODB",), _as_is),
    ("aws_endpoint_url", ("AWS_ENDPOINT_URL",), _as_is),
    ("aws_ignore_configured_endpoint_urls", ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",), _is_true),
    ("aws_use_fips_endpoint", ("AWS_USE_FIPS_ENDPOINT",), _is_true),
    ("aws_use_dualstack_endpoint", ("AWS_USE_DUALSTACK_ENDPOINT",), _is_true),
    ("aws_ca_bundle", ("AWS_CA_BUNDLE",), _as_is),
    ("last_used_interval_seconds", ("LAST_USED_INTERVAL_SECONDS",), _whole_number(1, 86_400)),
    ("lookup_copies", ("LOOKUP_COPIES",), _whole_number(1, MAX_LOOKUP_COPIES)),
    # 0, like unset, means "as many as lookup_copies".
    ("lookup_read_copies", ("LOOKUP_READ_COPIES",), _whole_number(0, MAX_LOOKUP_COPIES, zero_means_default=True)),
    ("jwt_issuer", ("JWT_ISSUER",), _as_is),
    ("jwt_audience", ("JWT_AUDIENCE",), _as_is),
    ("jwks_url", ("JWKS_URL",), _as_is),
    ("jwt_accounts_claim", ("JWT_ACCOUNTS_CLAIM",), _as_is),
    ("jwt_scope_claim", ("JWT_SCOPE_CLAIM",), _as_is),
    ("jwt_absent_scope_claim", ("JWT_ABSENT_SCOPE_CLAIM",), _one_of("none", "all", any_case=True)),
    ("jwt_audience_claim", ("JWT_AUDIENCE_CLAIM",), _as_is),
    ("jwt_leeway_seconds", ("JWT_LEEWAY_SECONDS",), _whole_number(0, 300)),
    ("github_keys_url", ("GITHUB_KEYS_URL",), _as_is),
    ("audit_retention_days", ("AUDIT_RETENTION_DAYS",), _whole_number(1, 36_500)),
    ("enable_tracing", ("ENABLE_TRACING",), _is_true),
    ("service_name", ("POWERTOOLS_SERVICE_NAME",), _as_is),
    ("log_level", ("POWERTOOLS_LOG_LEVEL",), _upper),
    ("metrics_namespace", ("POWERTOOLS_METRICS_NAMESPACE",), _as_is),
    ("cors_allow_origin", ("CORS_ALLOW_ORIGIN",), _as_is),
)


@dataclass(frozen=True)
class Credentials:
    """AWS credentials; the secret parts never in a repr."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def aws_credentials(env: Mapping[str, str] | None = None) -> Credentials:
    """The function's AWS credentials, which Lambda puts in its environment (the session token
    included); read when the authorizer's DynamoDB client is built, never kept in Settings."""
    env = os.environ if env is None else env
    access_key = env.get("AWS_ACCESS_KEY_ID", "").strip()
    secret_key = env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not access_key or not secret_key:
        raise SettingsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
    return Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN", "").strip() or None)


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env(os.environ)
