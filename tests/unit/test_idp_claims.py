"""User JWTs shaped as identity providers issue them (Cognito ID and access tokens, Auth0, a
generic OIDC provider), the scope and audience settings, and the two review fixes."""

from __future__ import annotations

import pytest

from apitokens.auth.jwt_auth import JwksVerifier
from apitokens.domain.errors import Unauthenticated
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.settings import Settings
from tests.harness import ACCOUNT, JWT_AUDIENCE, OTHER_ACCOUNT, TEST_ENVIRONMENT
from tests.jwt_keys import StaticJwksClient, claims, sign


def verifier(**environment: str) -> JwksVerifier:
    return JwksVerifier(Settings.from_env({**TEST_ENVIRONMENT, **environment}), StaticJwksClient())


def test_cognito_id_token_with_an_accounts_claim_from_a_pre_token_generation_trigger() -> None:
    token = sign(
        claims(
            sub="2f7c-uuid",
            token_use="id",
            email="ana@example.org",
            **{"cognito:username": "ana", "custom:accounts": f"{ACCOUNT}"},
            accounts=[ACCOUNT, OTHER_ACCOUNT],
        )
    )
    # An ID token carries no scope claim: every scope only where the deployment says so.
    principal = verifier(JWT_ABSENT_SCOPE_CLAIM="all").principal(token)
    assert principal.account_sids == {ACCOUNT, OTHER_ACCOUNT}
    assert principal.scopes == ALL_SCOPES
    assert verifier().principal(token).scopes == frozenset()


def test_cognito_access_token_is_checked_by_client_id_and_may_hold_every_scope() -> None:
    access = claims(aud=None, client_id=JWT_AUDIENCE, token_use="access", scope="aws.cognito.signin.user.admin")
    cognito = verifier(JWT_AUDIENCE_CLAIM="client_id", JWT_SCOPE_CLAIM="*")
    principal = cognito.principal(sign(access))
    assert principal.account_sids == {ACCOUNT}
    assert principal.scopes == ALL_SCOPES
    # Checked by aud (the default), the same token is refused: it has no aud.
    with pytest.raises(Unauthenticated):
        verifier().principal(sign(access))
    # Another app client's token, or one without client_id, is refused.
    for other in ({**access, "client_id": "another-client"}, {k: v for k, v in access.items() if k != "client_id"}):
        with pytest.raises(Unauthenticated):
            cognito.principal(sign(other))


def test_cognito_access_token_scopes_narrow_with_the_scope_claim() -> None:
    access = claims(aud=None, client_id=JWT_AUDIENCE, scope="openid tokens:read metrics:read")
    principal = verifier(JWT_AUDIENCE_CLAIM="client_id").principal(sign(access))
    assert principal.scopes == {"tokens:read", "metrics:read"}


def test_auth0_access_token_with_permissions_and_a_namespaced_accounts_claim() -> None:
    namespace = "https://api.acme.test/accounts"
    token = sign(
        claims(
            sub="auth0|64f0",
            aud=[JWT_AUDIENCE, "https://acme.eu.auth0.com/userinfo"],
            scope="openid profile email",
            permissions=["tokens:read", "buckets:read", "not:a-scope"],
            accounts=None,
            **{namespace: [ACCOUNT]},
        )
    )
    principal = verifier(JWT_SCOPE_CLAIM="permissions", JWT_ACCOUNTS_CLAIM=namespace).principal(token)
    assert principal.id == "auth0|64f0"
    assert principal.account_sids == {ACCOUNT}
    assert principal.scopes == {"tokens:read", "buckets:read"}


def test_okta_and_entra_scp_list() -> None:
    token = sign(claims(scp=["metrics:read", "requests:delete"]))
    assert verifier(JWT_SCOPE_CLAIM="scp").principal(token).scopes == {"metrics:read", "requests:delete"}


def test_generic_oidc_access_token_with_only_oidc_scopes_holds_no_product_scope() -> None:
    token = sign(claims(scope="openid profile email"))
    assert verifier().principal(token).scopes == frozenset()
    # Unless the deployment says users hold every scope on their accounts.
    assert verifier(JWT_SCOPE_CLAIM="*").principal(token).scopes == ALL_SCOPES


@pytest.mark.parametrize("value", [None, "", 7, {"tokens:read": True}, [7, None], True])
def test_a_present_but_unusable_scope_claim_grants_no_scope(value: object) -> None:
    # Only an absent claim can mean "every scope" (when configured): "scope": null grants none.
    token = sign({**claims(), "scope": value})
    assert verifier().principal(token).scopes == frozenset()


def test_an_absent_scope_claim_grants_no_scope_unless_configured_to_grant_every_scope() -> None:
    assert verifier().principal(sign(claims())).scopes == frozenset()
    assert verifier(JWT_ABSENT_SCOPE_CLAIM="none").principal(sign(claims())).scopes == frozenset()
    assert verifier(JWT_ABSENT_SCOPE_CLAIM="all").principal(sign(claims())).scopes == ALL_SCOPES


def test_a_string_accounts_claim_is_one_account_never_split() -> None:
    # A string is one account sid: "acc_A acc_B" is no account, not two.
    assert verifier().principal(sign(claims(accounts=f"{ACCOUNT} {OTHER_ACCOUNT}"))).account_sids == frozenset()
    assert verifier().principal(sign(claims(accounts=ACCOUNT))).account_sids == {ACCOUNT}
