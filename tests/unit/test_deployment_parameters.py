"""A team's own deployment: TokenPrefix, AccountIdPattern, BaseScopes, JwtScopePrefix and a list of
JwtAudience values, each refused by name when unusable, and every place that recognises a token,
an account id or a scope following them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from apitokens.auth.jwt_auth import JwksVerifier
from apitokens.domain import ids, scopes, tokens
from apitokens.domain.errors import InvalidRequest
from apitokens.settings import Deployment, Settings, SettingsError, get_deployment
from apitokens.wire.models import CreateTokenRequest
from apitokens_dev import devkeys, parameters
from apitokens_dev.openapi import build_openapi
from apitokens_dev.template import load_template
from tests.harness import TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, claims, sign

TEAM = {
    "TOKEN_PREFIX": "acme",
    "ACCOUNT_ID_PATTERN": "org_[A-Za-z0-9]{16}",
    "BASE_SCOPES": "tokens:read,tokens:write,tokens:delete,invoices:read,invoices:write",
    "JWT_SCOPE_PREFIX": "https://api.acme.example/",
}
TEAM_ACCOUNT = "org_0123456789abcdef"


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The process runs as the team's deployment inside, as the default one after."""
    for name, value in TEAM.items():
        monkeypatch.setenv(name, value)
    get_deployment.cache_clear()
    try:
        yield get_deployment()
    finally:
        monkeypatch.undo()
        get_deployment.cache_clear()
        get_deployment()  # the domain adopts the service's own values again


@pytest.mark.parametrize(
    ("pattern", "fault"),
    [
        ("", "matches an empty string"),
        ("x{0,5}", "matches an empty string"),
        ("acc_[a-z]{4}|", "matches an empty string"),
        ("acc/[a-z]{4}", "matches '/'"),
        ("acc_[a-z/]{4}", "matches '/'"),
        ("acc [a-z]{4}", "matches ' '"),
        ("acc_[a-z]{4}#", "matches '#'"),
        ("acc_.{4}", "uses any"),
        (r"acc_\w{4}", "a character class may hold only"),
        (r"acc_\s{4}", "a character class may hold only"),
        ("acc_[^x]{4}", "uses not_literal"),
        ("acc_[a-z]+", "longer than 64 characters"),
        ("(?i)acc_[a-z]{4}", "inline flags"),
        ("acc_[", "is not a regular expression"),
    ],
)
def test_an_account_id_pattern_that_can_match_what_an_id_must_not_is_refused_by_name(pattern: str, fault: str) -> None:
    with pytest.raises(SettingsError, match=r"^AccountIdPattern \(ACCOUNT_ID_PATTERN\)") as refused:
        Deployment.from_env({"ACCOUNT_ID_PATTERN": pattern}) if pattern else Deployment(account_id_pattern=pattern)
    assert fault in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "pattern",
    [
        "org_[A-Za-z0-9]{16}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        r"auth0\|[0-9]{1,24}",
        "tenant:[a-z]{1,20}(?:\\.[a-z]{1,20})?",
    ],
)
def test_account_id_patterns_of_uuids_org_ids_and_namespaces_are_accepted(pattern: str) -> None:
    assert Deployment(account_id_pattern=pattern).account_id_regex.pattern == pattern


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TOKEN_PREFIX": "A"}, "TokenPrefix (TOKEN_PREFIX) must be 2-20 lowercase"),
        ({"TOKEN_PREFIX": "ac_me"}, "TokenPrefix (TOKEN_PREFIX) must be 2-20 lowercase"),
        ({"TOKEN_PREFIX": "ey"}, "TokenPrefix (TOKEN_PREFIX) must be 2-20 lowercase"),
        ({"BASE_SCOPES": "tokens:read,tokens:write"}, "BaseScopes (BASE_SCOPES) must include tokens:delete"),
        ({"BASE_SCOPES": "tokens:read,tokens:write,tokens:delete,Invoices"}, "BaseScopes (BASE_SCOPES): 'Invoices'"),
        ({"BASE_SCOPES": "tokens:read,tokens:write,tokens:delete,tokens:read"}, "lists 'tokens:read' twice"),
        ({"JWT_SCOPE_PREFIX": "https://a example/"}, "JwtScopePrefix (JWT_SCOPE_PREFIX) must not contain whitespace"),
    ],
)
def test_each_parameter_is_refused_in_one_line_naming_it(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env({**TEST_ENVIRONMENT, **env})


def test_the_templates_allowed_patterns_accept_what_the_functions_accept() -> None:
    parameters = load_template()["Parameters"]

    def allowed(name: str, value: str) -> bool:
        return re.fullmatch(parameters[name]["AllowedPattern"], value) is not None

    assert allowed("TokenPrefix", "")
    assert allowed("TokenPrefix", "acme")
    assert not allowed("TokenPrefix", "ey")
    assert not allowed("TokenPrefix", "Acme")
    assert not allowed("TokenPrefix", "a")
    assert allowed("BaseScopes", "")
    assert allowed("BaseScopes", TEAM["BASE_SCOPES"])
    assert not allowed("BaseScopes", "tokens:read tokens:write")
    assert not allowed("BaseScopes", "tokens")
    assert allowed("AccountIdPattern", "")
    assert allowed("AccountIdPattern", TEAM["ACCOUNT_ID_PATTERN"])
    assert not allowed("AccountIdPattern", "acc/[a-z]{4}")
    assert not allowed("AccountIdPattern", "a b")
    assert allowed("JwtScopePrefix", TEAM["JWT_SCOPE_PREFIX"])
    assert not allowed("JwtScopePrefix", "a b")


def test_the_defaults_are_the_services_own() -> None:
    deployment = Deployment()
    assert tokens.prefixes(deployment.token_prefix) == ("at_live_", "at_test_") == tokens.PREFIXES
    assert ids.is_account_sid("acc_abc123def456ghi789jkl012")
    assert scopes.known_scopes() == scopes.ALL_SCOPES
    assert len(scopes.ALL_SCOPES) == 19
    assert scopes.routes() == scopes.ROUTES


def test_tokens_follow_the_token_prefix(team: Deployment) -> None:
    value = tokens.generate("acme_live_")
    assert value.startswith("acme_live_")
    assert len(value) == len("acme_live_") + 36
    assert tokens.looks_like_token(value, team.token_prefix)
    assert tokens.is_well_formed(value, "acme_live_")
    assert not tokens.is_well_formed("at" + value[4:], "at_live_")
    with pytest.raises(ValueError, match="unknown token prefix 'at_live_'"):
        tokens.generate("at_live_")
    assert Settings.from_env({**TEST_ENVIRONMENT, **TEAM}).token_prefix == "acme_live_"


def test_account_ids_follow_the_account_id_pattern(team: Deployment) -> None:
    assert ids.is_account_sid(TEAM_ACCOUNT)
    assert not ids.is_account_sid("acc_abc123def456ghi789jkl012")
    with pytest.raises(InvalidRequest, match=re.escape("accountSid must match org_[A-Za-z0-9]{16}.")):
        ids.require_account_sid("acc_abc123def456ghi789jkl012")


def test_token_creation_accepts_exactly_the_base_scopes(team: Deployment) -> None:
    request = CreateTokenRequest.model_validate({"name": "ci", "scopes": ["invoices:read", "tokens:read"]})
    assert request.scopes == ["invoices:read", "tokens:read"]
    with pytest.raises(ValueError, match=r"unknown scope.*'buckets:read'"):
        CreateTokenRequest.model_validate({"name": "ci", "scopes": ["buckets:read"]})


def test_routes_whose_scope_the_deployment_does_not_know_are_not_served(team: Deployment) -> None:
    assert scopes.route_for("GET", "/accounts/{accountSid}/metrics") is None
    assert scopes.route_for("GET", "/accounts/{accountSid}/apiTokens") is not None
    assert all(route.scope in scopes.known_scopes() for route in scopes.routes())


def test_jwt_scopes_count_only_with_the_scope_prefix_which_is_stripped(team: Deployment) -> None:
    settings = Settings.from_env({**TEST_ENVIRONMENT, **TEAM})
    verifier = JwksVerifier(settings, StaticJwksClient())
    prefix = TEAM["JWT_SCOPE_PREFIX"]
    scope = f"{prefix}invoices:read {prefix}tokens:read tokens:write {prefix}buckets:read openid"
    principal = verifier.principal(sign(claims(accounts=[TEAM_ACCOUNT, "acc_abc123def456ghi789jkl012"], scope=scope)))
    assert principal.scopes == {"invoices:read", "tokens:read"}
    assert principal.account_sids == {TEAM_ACCOUNT}


def test_a_jwt_audience_list_accepts_any_of_its_audiences() -> None:
    audience = TEST_ENVIRONMENT["JWT_AUDIENCE"]
    settings = Settings.from_env({**TEST_ENVIRONMENT, "JWT_AUDIENCE": f"web-client, {audience} ,machine"})
    assert settings.jwt_audiences == ("web-client", audience, "machine")
    verifier = JwksVerifier(settings, StaticJwksClient())
    for each in settings.jwt_audiences:
        assert verifier.principal(sign(claims(aud=each, scope="tokens:read"))).scopes == {"tokens:read"}
    by_client_id = Settings.from_env(
        {**TEST_ENVIRONMENT, "JWT_AUDIENCE": "web-client,machine", "JWT_AUDIENCE_CLAIM": "client_id"}
    )
    token = sign(claims(aud=None, client_id="machine", scope="tokens:read"))
    assert JwksVerifier(by_client_id, StaticJwksClient()).principal(token).scopes == {"tokens:read"}


def test_the_openapi_document_follows_the_deployment(team: Deployment) -> None:
    document = build_openapi()
    account = document["components"]["parameters"]["accountSid"]["schema"]["pattern"]
    assert re.fullmatch(account, TEAM_ACCOUNT)
    assert not re.fullmatch(account, "acc_abc123def456ghi789jkl012")
    schemas = document["components"]["schemas"]
    scope_list = schemas["CreateTokenRequest"]["properties"]["scopes"]
    assert scope_list["items"]["enum"] == sorted(TEAM["BASE_SCOPES"].split(","))
    assert scope_list["maxItems"] == 5
    assert "- `invoices:read`" in document["info"]["description"]
    assert "acme_live_" in document["components"]["securitySchemes"]["bearerAuth"]["description"]


def test_parameter_overrides_are_read_as_sam_deploy_reads_them() -> None:
    assert parameters.parse(["TokenPrefix=acme", "ParameterKey=JwtScopePrefix,ParameterValue=https://x/a=b"]) == {
        "TokenPrefix": "acme",
        "JwtScopePrefix": "https://x/a=b",
    }
    assert parameters.overridden_environment({"TokenPrefix": "acme", "JwtScopePrefix": "p/"}) == {
        "TOKEN_PREFIX": "acme",
        "JWT_SCOPE_PREFIX": "p/",
    }


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("TokenPrefix", "expected KEY=VALUE, got 'TokenPrefix'"),
        ("=acme", "expected KEY=VALUE"),
        ("Nope=1", "template.yaml declares no parameter 'Nope'"),
        ("TokenEnvironment=prod", "TokenEnvironment must be one of live, test, got 'prod'"),
        ("MaxTokensPerAccount=0", "MaxTokensPerAccount must be from 1 to 10000, got 0"),
        ("MaxTokensPerAccount=many", "MaxTokensPerAccount must be a number, got 'many'"),
        ("BaseScopes=tokens read", "BaseScopes must be comma-separated scopes"),
    ],
)
def test_a_parameter_override_cloudformation_would_refuse_is_refused_by_name(item: str, message: str) -> None:
    with pytest.raises(parameters.ParameterError, match=re.escape(message)):
        parameters.parse([item])


def test_the_local_server_names_an_example_account_of_the_pattern(team: Deployment) -> None:
    account = devkeys.example_account()
    assert ids.is_account_sid(account)


def test_the_local_request_log_redacts_the_team_prefix_and_the_services_own(team: Deployment) -> None:
    from apitokens_dev.local_http import redact

    assert redact("/v1/accounts/acme_live_abcDEF123/x") == "/v1/accounts/acme_live_[redacted]/x"
    assert redact("/v1/ACME%5Ftest%5Fabc") == "/v1/ACME_test_[redacted]"
    assert redact("/v1/at_test_abc") == "/v1/at_test_[redacted]"
