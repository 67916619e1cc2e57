"""The authorizer's decision on a repository in memory (no moto): the header it accepts, the
events it reads, each refusal and its reason, the clock, and lastUsedAt's bookkeeping."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from apitokens.auth.authorizer import Authorizer, bearer_credential, is_http_api_event, request_of
from apitokens.domain.errors import ConcurrentModification, Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.records import Credential
from apitokens.domain.tokens import digest, generate
from apitokens.settings import Settings
from tests.harness import ACCOUNT, TEST_ENVIRONMENT, TOKEN_SID
from tests.jwt_keys import claims, jwks, sign

NOW = 2_000_000_000.0  # 2033-05-18T03:33:20.000Z
NOW_TEXT = "2033-05-18T03:33:20.000Z"


class Repository:
    """find_credential and touch_last_used, as the authorizer calls them, recorded."""

    def __init__(self, credential: Credential | None, touch_error: Exception | None = None) -> None:
        self.credential = credential
        self.touch_error = touch_error
        self.found: list[str] = []
        self.touched: list[tuple[Credential, str, str, str]] = []

    def find_credential(self, secret_digest: str) -> Credential | None:
        self.found.append(secret_digest)
        return self.credential

    def touch_last_used(self, credential: Credential, secret_digest: str, now: str, cutoff: str) -> None:
        self.touched.append((credential, secret_digest, now, cutoff))
        if self.touch_error is not None:
            raise self.touch_error


class Logger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, message: str, **fields: Any) -> None:
        self.lines.append((message, fields))


def credential(**changes: Any) -> Credential:
    fields: dict[str, Any] = {
        "account_sid": ACCOUNT,
        "token_sid": TOKEN_SID,
        "scopes": ("tokens:read",),
        "expires_at": None,
        "is_active": True,
        "last_used_at": None,
    }
    fields.update(changes)
    return Credential(**fields)


def authorizer(repository: Repository, logger: Logger | None = None) -> Authorizer:
    return Authorizer(
        Settings.from_env(TEST_ENVIRONMENT),
        repository,  # type: ignore[arg-type]
        clock=lambda: NOW,
        logger=logger,  # type: ignore[arg-type]
    )


def refusal_reason(call: Any) -> str:
    with pytest.raises(Unauthenticated) as refused:
        call()
    return refused.value.reason


TOKEN = generate("at_live_")


def test_a_live_token_gives_its_principal_after_one_read() -> None:
    repository = Repository(credential(scopes=("tokens:read", "tokens:write"), expires_at="2040-01-01T00:00:00.000Z"))
    principal = authorizer(repository).token_principal(TOKEN)
    assert principal == Principal(
        type="token",
        id=TOKEN_SID,
        account_sids=frozenset({ACCOUNT}),
        scopes=frozenset({"tokens:read", "tokens:write"}),
        token_sid=TOKEN_SID,
        expires_at="2040-01-01T00:00:00.000Z",
    )
    assert repository.found == [digest(TOKEN)]


@pytest.mark.parametrize(
    ("repository", "token", "reason"),
    [
        (Repository(credential()), generate("at_test_"), "malformed_token"),
        (Repository(credential()), TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B"), "malformed_token"),
        (Repository(None), TOKEN, "unknown_token"),
        (Repository(credential(is_active=False)), TOKEN, "inactive_token"),
        (Repository(credential(expires_at=NOW_TEXT)), TOKEN, "expired_token"),
        (Repository(credential(expires_at="2033-05-18T03:33:19.999Z", is_active=False)), TOKEN, "inactive_token"),
    ],
)
def test_each_refusal_has_its_reason(repository: Repository, token: str, reason: str) -> None:
    assert refusal_reason(lambda: authorizer(repository).token_principal(token)) == reason
    assert repository.touched == []


def test_a_malformed_token_costs_no_read() -> None:
    repository = Repository(credential())
    refusal_reason(lambda: authorizer(repository).token_principal(generate("at_test_")))
    assert repository.found == []


def test_a_token_expiring_one_millisecond_later_is_accepted() -> None:
    repository = Repository(credential(expires_at="2033-05-18T03:33:20.001Z"))
    assert authorizer(repository).token_principal(TOKEN).token_sid == TOKEN_SID


def test_last_used_at_is_touched_when_never_used_or_older_than_the_interval() -> None:
    for last_used_at in (None, "2033-05-18T03:32:19.999Z"):
        repository = Repository(credential(last_used_at=last_used_at))
        authorizer(repository).token_principal(TOKEN)
        assert len(repository.touched) == 1
        touched_credential, secret_digest, now, cutoff = repository.touched[0]
        assert touched_credential == repository.credential
        assert secret_digest == digest(TOKEN)
        assert now == NOW_TEXT
        assert cutoff == "2033-05-18T03:32:20.000Z"  # one interval (60 s) before now


@pytest.mark.parametrize("last_used_at", ["2033-05-18T03:32:20.000Z", "2033-05-18T03:33:00.000Z", NOW_TEXT])
def test_last_used_at_is_not_touched_within_the_interval(last_used_at: str) -> None:
    repository = Repository(credential(last_used_at=last_used_at))
    authorizer(repository).token_principal(TOKEN)
    assert repository.touched == []


def test_a_failed_touch_is_logged_and_never_fails_the_request() -> None:
    logger = Logger()
    repository = Repository(credential(), touch_error=ConcurrentModification("changed by another request"))
    assert authorizer(repository, logger).token_principal(TOKEN).token_sid == TOKEN_SID
    assert logger.lines == [("lastUsedAt not written", {"reason": "conflict"})]
    # Without a logger, the same failure is swallowed too.
    assert (
        authorizer(Repository(credential(), touch_error=ConcurrentModification("x"))).token_principal(TOKEN).id
        == TOKEN_SID
    )


def test_an_error_other_than_a_domain_error_propagates_the_authorizer_fails_closed() -> None:
    with pytest.raises(RuntimeError):
        authorizer(Repository(credential(), touch_error=RuntimeError("boom"))).token_principal(TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"AUTHORIZATION": f"  BEARER   {TOKEN}  "},
    ],
)
def test_the_bearer_credential_is_read_whatever_the_header_case(headers: dict[str, str]) -> None:
    assert bearer_credential({"headers": headers}) == TOKEN


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "missing_credentials"),
        ({"headers": None}, "missing_credentials"),
        ({"headers": {"X-Other": "Bearer x"}}, "missing_credentials"),
        ({"headers": {"Authorization": "Basic abc"}}, "malformed_header"),
        ({"headers": {"Authorization": "Bearer"}}, "malformed_header"),
        ({"headers": {"Authorization": "Bearer "}}, "malformed_header"),
        ({"headers": {"Authorization": "Bearer a b"}}, "malformed_header"),
        ({"headers": {"Authorization": "Bearer " + "a" * 8193}}, "malformed_header"),
        ({"headers": {"Authorization": 7}}, "malformed_header"),
        ({"headers": {"Authorization": "Bearer a", "authorization": "Bearer b"}}, "malformed_header"),
        (
            {
                "headers": {"Authorization": "Bearer a"},
                "multiValueHeaders": {"Authorization": ["Bearer a", "Bearer b"]},
            },
            "malformed_header",
        ),
    ],
)
def test_a_missing_or_malformed_header_is_refused_with_its_reason(event: dict[str, Any], reason: str) -> None:
    assert refusal_reason(lambda: bearer_credential(event)) == reason


def test_the_longest_credential_accepted_is_8192_characters_and_one_repeat_is_not_ambiguous() -> None:
    assert bearer_credential({"headers": {"Authorization": "Bearer " + "a" * 8192}}) == "a" * 8192
    event = {"headers": {"Authorization": "Bearer a"}, "multiValueHeaders": {"Authorization": ["Bearer a"]}}
    assert bearer_credential(event) == "a"


def test_request_of_rest_and_http_api_events() -> None:
    rest = {"httpMethod": "GET", "resource": "/accounts/{accountSid}/apiTokens", "methodArn": "arn:rest"}
    http = {"version": "2.0", "routeKey": "POST /accounts/{accountSid}/apiTokens", "routeArn": "arn:http"}
    assert request_of(rest) == ("GET", "/accounts/{accountSid}/apiTokens", "arn:rest")
    assert request_of(http) == ("POST", "/accounts/{accountSid}/apiTokens", "arn:http")
    assert request_of({}) == ("", "", "")
    assert request_of({"version": "2.0"}) == ("", "", "")
    assert is_http_api_event(http)
    assert not is_http_api_event(rest)
    assert not is_http_api_event({"version": "1.0"})


def test_refusal_is_none_for_rest_and_a_deny_for_http_api() -> None:
    subject = authorizer(Repository(None))
    assert subject.refusal({"httpMethod": "GET", "methodArn": "arn:rest"}) is None
    answer = subject.refusal({"version": "2.0", "routeKey": "GET /x", "routeArn": "arn:aws:execute-api:r:1:a/v1/GET/x"})
    assert answer is not None
    assert answer["isAuthorized"] is False


def test_a_jwt_goes_to_the_jwt_verifier_built_once() -> None:
    built: list[int] = []
    seen: list[str] = []

    class Verifier:
        def principal(self, token: str) -> Principal:
            seen.append(token)
            return Principal(type="user", id="user_1", account_sids=frozenset({ACCOUNT}), scopes=frozenset())

    def factory() -> Verifier:
        built.append(1)
        return Verifier()

    subject = Authorizer(Settings.from_env(TEST_ENVIRONMENT), Repository(None), jwt_verifier=factory)  # type: ignore[arg-type]
    event = {
        "headers": {"Authorization": "Bearer eyJ.x.y"},
        "httpMethod": "GET",
        "resource": "/x",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/GET/x",
    }
    for _ in range(2):
        decision = subject.decide(event)
        assert decision["principalId"] == "user_1"
    assert built == [1]
    assert seen == ["eyJ.x.y", "eyJ.x.y"]


HTTP_API_EVENT = {
    "version": "2.0",
    "headers": {"authorization": "Bearer eyJ.x.y"},
    "routeKey": "GET /accounts/{accountSid}/apiTokens",
    "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/GET/accounts/{ACCOUNT}/apiTokens",
}


class TokensReader:
    def principal(self, token: str) -> Principal:
        assert token == "eyJ.x.y"
        return Principal(type="user", id="user_1", account_sids=frozenset({ACCOUNT}), scopes=frozenset({"tokens:read"}))


def test_a_rest_decision_is_an_iam_policy_and_an_http_api_one_also_says_is_authorized() -> None:
    subject = Authorizer(Settings.from_env(TEST_ENVIRONMENT), Repository(None), jwt_verifier=TokensReader)  # type: ignore[arg-type]
    rest = subject.decide(
        {
            "headers": {"Authorization": "Bearer eyJ.x.y"},
            "httpMethod": "GET",
            "resource": "/accounts/{accountSid}/apiTokens",
            "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/GET/accounts/{ACCOUNT}/apiTokens",
        }
    )
    assert "isAuthorized" not in rest
    assert rest["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    http = subject.decide(HTTP_API_EVENT)
    assert http["isAuthorized"] is True
    assert http["principalId"] == "user_1"


def test_an_api_token_goes_to_the_repository_never_to_the_jwt_verifier() -> None:
    def no_verifier() -> TokensReader:
        raise AssertionError("the JWT verifier was built for an API token")

    repository = Repository(credential())
    subject = Authorizer(Settings.from_env(TEST_ENVIRONMENT), repository, jwt_verifier=no_verifier, clock=lambda: NOW)  # type: ignore[arg-type]
    event = {**HTTP_API_EVENT, "headers": {"authorization": f"Bearer {TOKEN}"}}
    assert subject.decide(event)["principalId"] == TOKEN_SID
    assert repository.found == [digest(TOKEN)]


def test_without_a_verifier_given_jwts_go_to_the_jwks_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = jwks()
    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", lambda _self: keys)
    subject = Authorizer(Settings.from_env(TEST_ENVIRONMENT), Repository(None))  # type: ignore[arg-type]
    event = {**HTTP_API_EVENT, "headers": {"authorization": f"Bearer {sign(claims(scope='tokens:read'))}"}}
    decision = subject.decide(event)
    assert decision["principalId"] == "user_42"
    assert decision["isAuthorized"] is True
