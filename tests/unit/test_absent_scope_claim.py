"""JWT_ABSENT_SCOPE_CLAIM: a user JWT without the scope claim holds no scope unless the deployment
says `all`; a present claim always narrows, whatever the setting; `*` still grants every scope."""

from __future__ import annotations

import pytest

from apitokens.auth.jwt_auth import JwksVerifier
from apitokens.domain.errors import Unauthenticated
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.settings import Settings, SettingsError
from tests.harness import TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, claims, sign


def _verifier(**environment: str) -> JwksVerifier:
    return JwksVerifier(Settings.from_env({**TEST_ENVIRONMENT, **environment}), StaticJwksClient())


def test_the_default_is_none() -> None:
    assert Settings.from_env(TEST_ENVIRONMENT).jwt_absent_scope_claim == "none"
    assert Settings(table_name="t").jwt_absent_scope_claim == "none"


@pytest.mark.parametrize(("raw", "expected"), [("none", "none"), ("all", "all"), (" ALL ", "all"), ("", "none")])
def test_the_setting_is_read_from_the_environment(raw: str, expected: str) -> None:
    settings = Settings.from_env({**TEST_ENVIRONMENT, "JWT_ABSENT_SCOPE_CLAIM": raw})
    assert settings.jwt_absent_scope_claim == expected


@pytest.mark.parametrize("raw", ["*", "every", "true", "some"])
def test_any_other_value_is_a_settings_error(raw: str) -> None:
    with pytest.raises(SettingsError, match="JWT_ABSENT_SCOPE_CLAIM"):
        Settings.from_env({**TEST_ENVIRONMENT, "JWT_ABSENT_SCOPE_CLAIM": raw})


def test_none_an_absent_claim_holds_no_scope_and_the_user_is_still_authenticated() -> None:
    principal = _verifier(JWT_ABSENT_SCOPE_CLAIM="none").principal(sign(claims()))
    assert principal.type == "user"
    assert principal.id == "user_42"
    assert principal.scopes == frozenset()


def test_all_an_absent_claim_holds_every_scope() -> None:
    assert _verifier(JWT_ABSENT_SCOPE_CLAIM="all").principal(sign(claims())).scopes == ALL_SCOPES


@pytest.mark.parametrize("setting", ["none", "all"])
def test_a_present_claim_narrows_whatever_the_setting(setting: str) -> None:
    verifier = _verifier(JWT_ABSENT_SCOPE_CLAIM=setting)
    assert verifier.principal(sign(claims(scope="tokens:read"))).scopes == {"tokens:read"}
    assert verifier.principal(sign({**claims(), "scope": None})).scopes == frozenset()
    assert verifier.principal(sign(claims(scope="openid"))).scopes == frozenset()


def test_the_setting_follows_the_configured_claim_name() -> None:
    # With JWT_SCOPE_CLAIM=permissions, a `scope` claim is not the scope claim: it is absent.
    verifier = _verifier(JWT_SCOPE_CLAIM="permissions", JWT_ABSENT_SCOPE_CLAIM="all")
    assert verifier.principal(sign(claims(scope="tokens:read"))).scopes == ALL_SCOPES
    assert verifier.principal(sign(claims(permissions=["tokens:read"]))).scopes == {"tokens:read"}


def test_every_scope_setting_ignores_the_claim_whatever_the_absent_setting() -> None:
    verifier = _verifier(JWT_SCOPE_CLAIM="*", JWT_ABSENT_SCOPE_CLAIM="none")
    assert verifier.principal(sign(claims())).scopes == ALL_SCOPES
    assert verifier.principal(sign(claims(scope="tokens:read"))).scopes == ALL_SCOPES


def test_a_refused_jwt_is_refused_whatever_the_setting() -> None:
    with pytest.raises(Unauthenticated):
        _verifier(JWT_ABSENT_SCOPE_CLAIM="all").principal(sign(claims(sub=None)))
