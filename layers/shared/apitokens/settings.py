"""Configuration, read once from the environment.

A frozen dataclass rather than a pydantic-settings model on purpose: the authorizer runs on
every API request, and its API-token path must not pay pydantic's import time at cold start
(docs/performance.md). Every environment variable the code reads is named here and nowhere else.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from apitokens.domain import adopted, token_api
from apitokens.domain.scopes import SCOPE_NAME

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


# The scopes the token API's own routes need: BaseScopes must include them.
TOKEN_API_SCOPES = tuple(dict.fromkeys(operation.scope for operation in token_api.OPERATIONS if operation.scope))
# A token prefix: tokens are PREFIX_live_... / PREFIX_test_...; never `ey` (a JWT starts eyJ).
TOKEN_PREFIX_NAME = re.compile(r"(?!ey$)[a-z][a-z0-9]{1,19}")
# What an account id may hold: it is a path segment, a DynamoDB key part and a JWT claim value.
ACCOUNT_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:|")
MAX_ACCOUNT_ID_LENGTH = 64


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
class Deployment:
    """What makes one adopter's deployment its own (template.yaml's TokenPrefix, AccountIdPattern,
    BaseScopes, JwtScopePrefix), read by code that recognises a token, an account id or a scope.
    Unlike Settings it needs no TABLE_NAME: the development tools read it too."""

    # Tokens are `<token_prefix>_live_...` / `<token_prefix>_test_...`.
    token_prefix: str = adopted.DEFAULT_TOKEN_PREFIX
    # The regular expression an account id full-matches (compiled: account_id_regex).
    account_id_pattern: str = adopted.DEFAULT_ACCOUNT_ID_PATTERN
    # The token stack's scope catalog; None: the product's own (apitokens.domain.scopes.SCOPES).
    base_scopes: tuple[str, ...] | None = None
    # Stripped from a user JWT's scopes before they count; when set, a scope without it counts
    # for nothing (Cognito resource-server scopes: https://api.example.com/tokens:read).
    jwt_scope_prefix: str = ""
    # account_id_pattern compiled (and checked: a bad pattern is a SettingsError).
    account_id_regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _token_prefix(_DEPLOYMENT_LABELS["token_prefix"], self.token_prefix)
        if self.base_scopes is not None:
            _base_scopes(_DEPLOYMENT_LABELS["base_scopes"], ",".join(self.base_scopes))
        label = _DEPLOYMENT_LABELS["account_id_pattern"]
        object.__setattr__(self, "account_id_regex", _account_id_pattern(label, self.account_id_pattern))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Deployment:
        """The deployment the environment gives; unset or blank variables keep the defaults above."""
        values: dict[str, Any] = {}
        for field_name, (name, read) in _DEPLOYMENT_VARIABLES.items():
            text = env.get(name, "").strip()
            if text:
                values[field_name] = read(_DEPLOYMENT_LABELS[field_name], text)
        return cls(**values)


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
    deployment: Deployment = field(default_factory=Deployment)

    @property
    def token_prefix(self) -> str:
        """What this deployment's tokens start with: at_live_ by default."""
        return f"{self.deployment.token_prefix}_{self.token_environment}_"

    @property
    def jwt_audiences(self) -> tuple[str, ...]:
        """JWT_AUDIENCE's comma-separated audiences (web, mobile and machine clients of one pool)."""
        return tuple(name for name in (part.strip() for part in (self.jwt_audience or "").split(",")) if name)

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
        return cls(table_name=table_name, deployment=Deployment.from_env(env), **values)


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


def _token_prefix(label: str, text: str) -> str:
    if TOKEN_PREFIX_NAME.fullmatch(text) is None:
        raise SettingsError(f"{label} must be 2-20 lowercase letters and digits starting with a letter, got {text!r}")
    return text


def _base_scopes(label: str, text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    fault = _scope_list_fault(names)
    if fault:
        raise SettingsError(f"{label}{fault}")
    return names


def _scope_list_fault(names: tuple[str, ...]) -> str | None:
    """Why a BaseScopes list is refused (the text after the parameter's name), or None."""
    malformed = [name for name in names if SCOPE_NAME.fullmatch(name) is None]
    if malformed:
        return f": {malformed[0]!r} is not a scope (name:action, of a-z 0-9 _ -)"
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f" lists {repeated[0]!r} twice"
    missing = [name for name in TOKEN_API_SCOPES if name not in names]
    if missing:
        return f" must include {', '.join(missing)} (the token API's own routes need them)"
    return None


def _jwt_scope_prefix(label: str, text: str) -> str:
    if any(character.isspace() for character in text):
        raise SettingsError(f"{label} must not contain whitespace, got {text!r}")
    return text


def _account_id_pattern(label: str, text: str) -> re.Pattern[str]:
    """The pattern compiled, when every string it can match is 1 to MAX_ACCOUNT_ID_LENGTH of
    ACCOUNT_ID_CHARACTERS; otherwise a SettingsError saying why."""
    try:
        compiled = re.compile(text)
    except re.error as error:
        raise SettingsError(f"{label} is not a regular expression: {error}") from None
    fault = _account_id_fault(compiled)
    if fault:
        raise SettingsError(f"{label} {text!r} is refused: {fault}")
    return compiled


# re's own parser (what re.compile uses; no public API walks a pattern) and its opcodes, and the
# parts of a pattern nested in each opcode's argument.
_regex_parser: Any = importlib.import_module("re._parser")
_NESTED: dict[Any, Callable[[Any], list[Any]]] = {
    _regex_parser.MAX_REPEAT: lambda argument: [argument[2]],
    _regex_parser.MIN_REPEAT: lambda argument: [argument[2]],
    _regex_parser.POSSESSIVE_REPEAT: lambda argument: [argument[2]],
    _regex_parser.SUBPATTERN: lambda argument: [argument[-1]],
    _regex_parser.ATOMIC_GROUP: lambda argument: [argument],
    _regex_parser.BRANCH: lambda argument: list(argument[1]),
}


def _account_id_fault(compiled: re.Pattern[str]) -> str | None:
    if compiled.flags != re.UNICODE:
        return "inline flags such as (?i) are not supported"
    if compiled.fullmatch("") is not None:
        return "it matches an empty string"
    parsed = _regex_parser.parse(compiled.pattern)
    fault = _character_fault(parsed)
    if fault:
        return fault
    longest = parsed.getwidth()[1]
    if longest > MAX_ACCOUNT_ID_LENGTH:
        return f"it matches ids longer than {MAX_ACCOUNT_ID_LENGTH} characters (bound every repetition)"
    return None


def _character_fault(parsed: Any) -> str | None:
    """Why a parsed pattern may match a character outside ACCOUNT_ID_CHARACTERS (or None): it
    accepts literals, ranges and classes of them, groups, alternatives, repeats and anchors only
    (not `.`, `\\w`, `\\d`, `\\s` or negated classes, whose Unicode reach includes other characters)."""
    for opcode, argument in parsed:
        if opcode in _NESTED:
            fault = next(filter(None, map(_character_fault, _NESTED[opcode](argument))), None)
        elif opcode is _regex_parser.IN or opcode is _regex_parser.LITERAL:
            fault = _class_fault(argument if opcode is _regex_parser.IN else [(opcode, argument)])
        elif opcode is _regex_parser.AT:
            fault = None
        else:
            fault = f"it uses {str(opcode).lower()}, which may match characters outside letters, digits and _-.:|"
        if fault:
            return fault
    return None


def _class_fault(items: Any) -> str | None:
    """_character_fault for the members of one character class [...]."""
    constants = _regex_parser
    for opcode, argument in items:
        if opcode is constants.LITERAL:
            members = [chr(argument)]
        elif opcode is constants.RANGE:
            members = [chr(code) for code in range(argument[0], argument[1] + 1)]
        else:
            return "a character class may hold only characters and ranges of letters, digits and _-.:|"
        outside = [member for member in members if member not in ACCOUNT_ID_CHARACTERS]
        if outside:
            return f"it matches {outside[0]!r}"
    return None


# Each Deployment field's environment variable and template parameter, and how its text is read.
_DEPLOYMENT_LABELS = {
    "token_prefix": "TokenPrefix (TOKEN_PREFIX)",
    "account_id_pattern": "AccountIdPattern (ACCOUNT_ID_PATTERN)",
    "base_scopes": "BaseScopes (BASE_SCOPES)",
    "jwt_scope_prefix": "JwtScopePrefix (JWT_SCOPE_PREFIX)",
}
_DEPLOYMENT_VARIABLES: dict[str, tuple[str, _Read]] = {
    "token_prefix": ("TOKEN_PREFIX", _token_prefix),
    # Checked (and compiled) by Deployment itself.
    "account_id_pattern": ("ACCOUNT_ID_PATTERN", _as_is),
    "base_scopes": ("BASE_SCOPES", _base_scopes),
    "jwt_scope_prefix": ("JWT_SCOPE_PREFIX", _jwt_scope_prefix),
}


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
    """The process's settings, read from the environment on first use; the domain adopts its
    deployment parameters."""
    settings = Settings.from_env(os.environ)
    adopted.adopt(settings.deployment)
    return settings


@functools.cache
def get_deployment() -> Deployment:
    """The process's deployment parameters, read from the environment on first use (without
    TABLE_NAME, for the development tools); the domain adopts them."""
    deployment = Deployment.from_env(os.environ)
    adopted.adopt(deployment)
    return deployment
