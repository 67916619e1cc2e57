from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from apitokens.domain.records import TokenRecord
from apitokens.domain.timeutil import format_timestamp
from apitokens.settings import Deployment, Settings, SettingsError
from apitokens.wire.models import ApiToken, CreateTokenRequest, UpdateTokenRequest
from tests.contract_shapes import TOKEN_FIELDS


def test_settings_read_every_variable() -> None:
    settings = Settings.from_env(
        {
            "TABLE_NAME": "t",
            "TOKEN_ENVIRONMENT": "test",
            "MAX_TOKENS_PER_ACCOUNT": "7",
            "JWT_ACCOUNTS_CLAIM": "https://example.com/accounts",
            "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000",
        }
    )
    assert settings.token_prefix == "at_test_"
    assert settings.max_tokens_per_account == 7
    assert settings.jwt_accounts_claim == "https://example.com/accounts"
    assert settings.dynamodb_endpoint_url == "http://127.0.0.1:8000"
    assert Settings.from_env({"TABLE_NAME": "t"}).token_prefix == "at_live_"


# Every variable Settings reads, each with a value that differs from its field's default.
EVERY_VARIABLE = {
    "TOKEN_ENVIRONMENT": "test",
    "MAX_TOKENS_PER_ACCOUNT": "7",
    "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000",
    "AWS_REGION": "eu-west-1",
    "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8001",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:8002",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
    "AWS_USE_FIPS_ENDPOINT": "TRUE",
    "AWS_USE_DUALSTACK_ENDPOINT": "true",
    "AWS_CA_BUNDLE": "/etc/ssl/bundle.pem",
    "LAST_USED_INTERVAL_SECONDS": "30",
    "LOOKUP_COPIES": "4",
    "LOOKUP_READ_COPIES": "2",
    "JWT_ISSUER": "https://issuer.example.com/",
    "JWT_AUDIENCE": "apitokens",
    "JWKS_URL": "https://issuer.example.com/jwks.json",
    "JWT_ACCOUNTS_CLAIM": "https://example.com/accounts",
    "JWT_SCOPE_CLAIM": "scp",
    "JWT_ABSENT_SCOPE_CLAIM": "ALL",
    "JWT_AUDIENCE_CLAIM": "client_id",
    "JWT_LEEWAY_SECONDS": "5",
    "GITHUB_KEYS_URL": "https://keys.example.com/",
    "AUDIT_RETENTION_DAYS": "30",
    "ENABLE_TRACING": "True",
    "POWERTOOLS_SERVICE_NAME": "tokens",
    "POWERTOOLS_LOG_LEVEL": "debug",
    "POWERTOOLS_METRICS_NAMESPACE": "Tokens",
    "CORS_ALLOW_ORIGIN": "https://app.example.com",
    # The deployment's own (Settings.deployment).
    "TOKEN_PREFIX": "acme",
    "ACCOUNT_ID_PATTERN": "org_[A-Za-z0-9]{16}",
    "BASE_SCOPES": "tokens:read,tokens:write,tokens:delete,invoices:read",
    "JWT_SCOPE_PREFIX": "https://api.acme.example/",
}


def test_each_variable_sets_its_own_field_and_blank_ones_keep_the_defaults() -> None:
    defaults = Settings(table_name="t")
    given = Settings.from_env({"TABLE_NAME": "t", **EVERY_VARIABLE})
    changed = {field.name for field in fields(Settings) if getattr(given, field.name) != getattr(defaults, field.name)}
    assert changed == {field.name for field in fields(Settings)} - {"table_name"}
    assert (given.jwt_absent_scope_claim, given.log_level, given.enable_tracing) == ("all", "DEBUG", True)
    changed_deployment = {
        field.name
        for field in fields(Deployment)
        if field.init and getattr(given.deployment, field.name) != getattr(defaults.deployment, field.name)
    }
    assert changed_deployment == {field.name for field in fields(Deployment) if field.init}
    blank = Settings.from_env({"TABLE_NAME": "t", **dict.fromkeys(EVERY_VARIABLE, "  ")})
    assert blank == defaults
    assert Settings.from_env({"TABLE_NAME": "t", "AWS_DEFAULT_REGION": "eu-north-1"}).aws_region == "eu-north-1"
    assert Settings.from_env({"TABLE_NAME": "t", "LOOKUP_READ_COPIES": "0"}).lookup_read_copies is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TABLE_NAME"),
        ({"TABLE_NAME": "t", "TOKEN_ENVIRONMENT": "prod"}, "TOKEN_ENVIRONMENT"),
        ({"TABLE_NAME": "t", "MAX_TOKENS_PER_ACCOUNT": "lots"}, "MAX_TOKENS_PER_ACCOUNT"),
        ({"TABLE_NAME": "t", "MAX_TOKENS_PER_ACCOUNT": "0"}, "between"),
    ],
)
def test_bad_settings_fail_loudly(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_timestamps_have_milliseconds_and_z() -> None:
    moment = datetime(2023, 12, 1, 14, 30, 0, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2023-12-01T14:30:00.123Z"


def test_request_models_forbid_unknown_fields_and_are_strict() -> None:
    with pytest.raises(ValidationError, match="extra"):
        CreateTokenRequest.model_validate_json('{"name": "n", "scopes": ["tokens:read"], "admin": true}')
    with pytest.raises(ValidationError):
        UpdateTokenRequest.model_validate_json('{"name": "n", "isActive": 1}')
    with pytest.raises(ValidationError):
        CreateTokenRequest.model_validate_json('{"name": "n", "scopes": ["tokens:read"], "expires_at": null}')


def test_request_models_read_camel_case() -> None:
    request = CreateTokenRequest.model_validate_json(
        '{"name": "n", "scopes": ["tokens:read"], "expiresAt": "2031-01-01T00:00:00.000+02:00"}'
    )
    assert request.expires_at is not None
    assert format_timestamp(request.expires_at) == "2030-12-31T22:00:00.000Z"


def test_token_model_writes_camel_case_in_seed_order() -> None:
    record = TokenRecord("tok_1", "acc_1", "n", None, ("tokens:read",), None, True, "2023-12-01T10:30:00.000Z")
    assert ApiToken.from_record(record).model_dump_json() == (
        '{"sid":"tok_1","accountSid":"acc_1","name":"n","description":null,"scopes":["tokens:read"],'
        '"lastUsedAt":null,"expiresAt":null,"isActive":true,"createdAt":"2023-12-01T10:30:00.000Z",'
        '"createdBy":{"type":"user","id":""},"parentSid":null,"revokedReason":null,"revokedAt":null,"rolledTo":null,'
        '"redactedToken":"","metadata":null,"allowedIps":null}'
    )


@pytest.mark.parametrize(
    "name",
    ["Production API Token", "Déploiement 🚀", "名前", "a", "x" * 100, "नमस्ते", "e\u0301clair ❤\ufe0f 👍🏽"],
)
def test_names_in_any_script_are_accepted(name: str) -> None:
    assert CreateTokenRequest(name=name, scopes=["tokens:read"]).name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "\t\n",
        "a\x00b",
        "bell\x07",
        "c1\x85",
        "evil\u202egnp.exe",
        "zero\u200bwidth",
        "\ufeffbom",
        # Private use and unassigned code points render as nothing or a box: refused.
        "private use \ue000",
        "unassigned \U000cb528",
    ],
)
def test_blank_control_and_invisible_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest(name=name, scopes=["tokens:read"])


def test_descriptions_may_have_tabs_and_newlines_but_not_other_controls() -> None:
    assert CreateTokenRequest(name="n", description="line 1\r\n\tline 2", scopes=["tokens:read"]).description
    with pytest.raises(ValidationError, match="invisible"):
        CreateTokenRequest(name="n", description="bidi \u2066 isolate", scopes=["tokens:read"])


def test_the_published_schema_carries_the_validators_rules() -> None:
    schema = CreateTokenRequest.model_json_schema(by_alias=True)
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert properties["scopes"]["uniqueItems"] is True
    assert len(properties["scopes"]["items"]["enum"]) == 19
    assert "\\p{C}" in properties["name"]["pattern"]
    assert ApiToken.model_json_schema(mode="serialization")["required"] == TOKEN_FIELDS


@pytest.mark.parametrize("seconds", [0.0, 1_795_913_235.123, 2_000_000_000.999, 1_700_000_000.5])
def test_epoch_timestamps_match_the_wire_format(seconds: float) -> None:
    from apitokens.domain.timeutil import timestamp_from_epoch

    assert timestamp_from_epoch(seconds) == format_timestamp(datetime.fromtimestamp(seconds, UTC))
