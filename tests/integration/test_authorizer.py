"""The REQUEST authorizer on moto: API tokens and JWTs, scopes per route, accounts, revocation."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from apitokens.domain.errors import Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.records import TokenRecord
from apitokens.domain.scopes import ALL_SCOPES, ROUTES
from apitokens.domain.tokens import digest, generate
from apitokens.settings import get_settings
from apitokens.store.dynamodb_http import service_error
from apitokens.store.repository import TokenRepository
from apitokens_dev.iam import is_allowed
from tests.harness import ACCOUNT, OTHER_ACCOUNT, CallRecorder, Functions, authorizer_event, method_arn, user
from tests.jwt_keys import claims, jwks, sign


@pytest.fixture(autouse=True)
def jwks_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = jwks()
    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", lambda _self: keys)


@pytest.fixture
def authorizer_calls(functions: Functions) -> CallRecorder:
    (client,) = functions.clients(None)
    return CallRecorder([client])


def refused(functions: Functions, event: dict[str, Any]) -> bool:
    with pytest.raises(Exception, match=r"^Unauthorized$") as raised:
        functions.authorize(event)
    return type(raised.value) is Exception


def create_token(functions: Functions, scopes: list[str], account: str = ACCOUNT, **body: Any) -> dict[str, Any]:
    response = functions.create(account, scopes=scopes, principal=user(accounts=(account,)), **body)
    assert response.status == 201, response.body
    result: dict[str, Any] = response.body
    return result


@pytest.mark.parametrize("scope", sorted(ALL_SCOPES))
def test_each_scope_against_each_route(functions: Functions, scope: str) -> None:
    secret = create_token(functions, [scope])["token"]
    for route in ROUTES:
        decision = functions.authorize(authorizer_event(f"Bearer {secret}", route))
        for other in ROUTES:
            # The policy opens the route asked, when the scope permits it, and nothing else.
            expected = other == route and route.scope == scope
            assert is_allowed(decision["policyDocument"], method_arn(other)) is expected, (route, other)
            assert not is_allowed(decision["policyDocument"], method_arn(other, OTHER_ACCOUNT))


def test_token_context_is_flat_strings(functions: Functions) -> None:
    created = create_token(functions, ["tokens:read", "buckets:read"], expiresAt="2031-01-01T00:00:00.000Z")
    decision = functions.authorize(authorizer_event(f"Bearer {created['token']}"))
    assert decision["principalId"] == created["sid"]
    assert decision["context"] == {
        "principalType": "token",
        "principalId": created["sid"],
        "accountSids": ACCOUNT,
        "scopes": "buckets:read tokens:read",
        "tokenSid": created["sid"],
        "expiresAt": "2031-01-01T00:00:00.000Z",
    }


def test_account_isolation_both_ways(functions: Functions) -> None:
    token_a = create_token(functions, ["tokens:read"], ACCOUNT)["token"]
    token_b = create_token(functions, ["tokens:read"], OTHER_ACCOUNT)["token"]
    for secret, own, foreign in ((token_a, ACCOUNT, OTHER_ACCOUNT), (token_b, OTHER_ACCOUNT, ACCOUNT)):
        decision = functions.authorize(authorizer_event(f"Bearer {secret}", ROUTES[0], foreign))
        assert not is_allowed(decision["policyDocument"], method_arn(ROUTES[0], foreign))
        own_decision = functions.authorize(authorizer_event(f"Bearer {secret}", ROUTES[0], own))
        assert is_allowed(own_decision["policyDocument"], method_arn(ROUTES[0], own))
    # And the handlers check again, should a policy ever be wrong.
    outsider = Principal("token", "tok_b", frozenset({OTHER_ACCOUNT}), ALL_SCOPES, token_sid="tok_b")
    response = functions.list(ACCOUNT, principal=outsider)
    assert response.status == 403
    assert response.body["error"]["code"] == "forbidden"


def test_handlers_recheck_the_scope_of_the_route(functions: Functions) -> None:
    reader = Principal("token", "tok_r", frozenset({ACCOUNT}), frozenset({"tokens:read"}), token_sid="tok_r")
    response = functions.create(principal=reader)
    assert response.status == 403
    assert response.body["error"]["code"] == "insufficient_scope"
    assert "tokens:write" in response.body["error"]["message"]


def test_jwt_users_get_their_accounts_and_scopes(functions: Functions) -> None:
    token = sign(claims(accounts=[ACCOUNT], scope="tokens:read"), "ES256")
    decision = functions.authorize(authorizer_event(f"Bearer {token}"))
    assert decision["context"]["principalType"] == "user"
    assert decision["context"]["principalId"] == "user_42"
    assert "tokenSid" not in decision["context"]
    allowed = {
        route
        for route in ROUTES
        if is_allowed(
            functions.authorize(authorizer_event(f"Bearer {token}", route))["policyDocument"], method_arn(route)
        )
    }
    assert allowed == {route for route in ROUTES if route.scope == "tokens:read"}
    foreign = functions.authorize(authorizer_event(f"Bearer {token}", ROUTES[0], OTHER_ACCOUNT))
    assert not is_allowed(foreign["policyDocument"], method_arn(ROUTES[0], OTHER_ACCOUNT))


def test_revocation_by_delete_takes_effect_on_the_next_request(functions: Functions) -> None:
    created = create_token(functions, ["tokens:read"])
    event = authorizer_event(f"Bearer {created['token']}")
    assert functions.authorize(event)["principalId"] == created["sid"]
    assert functions.delete(created["sid"]).status == 200
    assert refused(functions, event)


def test_deactivation_takes_effect_on_the_next_request_and_reactivation_restores(functions: Functions) -> None:
    created = create_token(functions, ["tokens:read"])
    event = authorizer_event(f"Bearer {created['token']}")
    functions.authorize(event)
    assert functions.update(created["sid"], {"name": "off", "isActive": False}).status == 200
    assert refused(functions, event)
    assert functions.update(created["sid"], {"name": "on", "isActive": True}).status == 200
    assert functions.authorize(event)["principalId"] == created["sid"]


def test_expired_tokens_are_refused(functions: Functions) -> None:
    # Written past the service's own validation, as if time had passed since creation.
    secret = generate("at_live_")
    record = TokenRecord(
        "tok_0000000000expired00000",
        ACCOUNT,
        "old",
        None,
        ("tokens:read",),
        "2020-01-01T00:00:00.000Z",
        True,
        "2019-01-01T00:00:00.000Z",
    )
    TokenRepository.from_settings(get_settings()).create(record, digest(secret), 100)
    assert refused(functions, authorizer_event(f"Bearer {secret}"))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token at_live_x",
        "Bearer at_live_x at_live_y",
        "Bearer at_test_" + "a" * 36,
        "Bearer not-a-jwt",
    ],
)
def test_missing_or_unreadable_credentials_are_401(functions: Functions, authorization: str | None) -> None:
    assert refused(functions, authorizer_event(authorization))


def test_a_repeated_authorization_header_is_refused(functions: Functions) -> None:
    secret = create_token(functions, ["tokens:read"])["token"]
    event = authorizer_event(f"Bearer {secret}")
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {secret}", "Bearer at_live_other"]
    assert refused(functions, event)


def test_malformed_tokens_are_refused_without_a_database_call(
    functions: Functions, authorizer_calls: CallRecorder
) -> None:
    secret = create_token(functions, ["tokens:read"])["token"]
    mutated = secret[:20] + ("A" if secret[20] != "A" else "B") + secret[21:]
    for value in (mutated, secret[:-1], secret + "0", secret.replace("at_live_", "at_test_"), "at_live_" + "0" * 36):
        assert refused(functions, authorizer_event(f"Bearer {value}"))
    assert authorizer_calls.operations == []


def test_a_valid_token_costs_exactly_one_get_item(functions: Functions, authorizer_calls: CallRecorder) -> None:
    secret = create_token(functions, ["tokens:read"])["token"]
    event = authorizer_event(f"Bearer {secret}")
    functions.authorize(event)  # first use also records lastUsedAt
    assert authorizer_calls.operations == ["GetItem", "TransactWriteItems"]
    authorizer_calls.operations.clear()
    for _ in range(5):
        functions.authorize(event)
    assert authorizer_calls.operations == ["GetItem"] * 5


def test_unknown_token_costs_one_read_and_is_refused(functions: Functions, authorizer_calls: CallRecorder) -> None:
    assert refused(functions, authorizer_event(f"Bearer {generate('at_live_')}"))
    assert authorizer_calls.operations == ["GetItem"]


def test_last_used_at_is_written_at_most_once_a_minute(functions: Functions, authorizer_calls: CallRecorder) -> None:
    created = create_token(functions, ["tokens:read"])
    now = [2_000_000_000.0]
    functions.authorizer_instance.clock = lambda: now[0]
    event = authorizer_event(f"Bearer {created['token']}")
    for step in range(0, 180, 5):  # three minutes, a request every five seconds
        now[0] = 2_000_000_000.0 + step
        functions.authorize(event)
    assert authorizer_calls.operations.count("TransactWriteItems") == 3
    assert functions.get(created["sid"]).body["lastUsedAt"] == "2033-05-18T03:35:30.000Z"


def test_last_used_at_failure_never_fails_the_request(functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    created = create_token(functions, ["tokens:read"])
    (client,) = functions.clients(None)

    def throttled(**_: Any) -> Any:
        raise service_error(400, {}, b'{"__type": "x#ThrottlingException", "message": "slow down"}')

    monkeypatch.setattr(client, "transact_write_items", throttled)
    decision = functions.authorize(authorizer_event(f"Bearer {created['token']}"))
    assert decision["principalId"] == created["sid"]
    assert functions.get(created["sid"]).body["lastUsedAt"] is None


def test_last_used_at_touch_never_recreates_a_deleted_token(functions: Functions, dynamodb: Any) -> None:
    created = create_token(functions, ["tokens:read"])
    repository = TokenRepository.from_settings(get_settings())
    credential = repository.find_credential(digest(created["token"]))
    assert credential is not None
    functions.delete(created["sid"])
    with pytest.raises(Exception, match="changed by another request"):
        repository.touch_last_used(
            credential, digest(created["token"]), "2031-01-01T00:00:00.000Z", "2030-12-31T23:59:00.000Z"
        )
    # Only the audit trail (created, deleted) remains.
    items = dynamodb.scan(TableName="apitokens-test")["Items"]
    assert [item for item in items if item["SK"]["S"] != "META" and item["type"]["S"] != "audit"] == []


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "InternalServerError", "AccessDeniedException"]
)
def test_dynamodb_failure_fails_closed(functions: Functions, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    secret = create_token(functions, ["tokens:read"])["token"]

    def failing(**_: Any) -> Any:
        raise service_error(500 if code == "InternalServerError" else 400, {}, json.dumps({"__type": code}).encode())

    (client,) = functions.clients(None)
    monkeypatch.setattr(client, "get_item", failing)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any exception but "Unauthorized" is AUTHORIZER_FAILURE
        functions.authorize(authorizer_event(f"Bearer {secret}"))
    assert str(raised.value) != "Unauthorized"


def test_jwks_outage_fails_closed(functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(self: Any) -> Any:
        raise jwt.PyJWKClientConnectionError("connection refused")

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", unreachable)
    with pytest.raises(jwt.PyJWKClientConnectionError):
        functions.authorize(authorizer_event(f"Bearer {sign()}"))


def test_a_token_cannot_grant_more_scopes_than_it_holds(functions: Functions) -> None:
    # The creating token must exist and be active (its children are its lineage).
    sid = functions.create(scopes=["tokens:write", "buckets:read"]).body["sid"]
    parent = Principal("token", sid, frozenset({ACCOUNT}), frozenset({"tokens:write", "buckets:read"}), token_sid=sid)
    escalating = functions.create(scopes=["buckets:read", "buckets:write"], principal=parent)
    assert escalating.status == 403
    assert escalating.body["error"]["code"] == "insufficient_scope"
    assert "buckets:write" in escalating.body["error"]["message"]
    assert functions.create(scopes=["buckets:read"], principal=parent).status == 201


def test_a_token_cannot_create_one_that_outlives_it(functions: Functions) -> None:
    sid = functions.create(scopes=["tokens:write"], expiresAt="2031-01-01T00:00:00.000Z").body["sid"]
    parent = Principal(
        "token",
        sid,
        frozenset({ACCOUNT}),
        frozenset({"tokens:write"}),
        token_sid=sid,
        expires_at="2031-01-01T00:00:00.000Z",
    )
    for body in ({}, {"expiresAt": "2031-01-01T00:00:00.001Z"}):
        response = functions.create(scopes=["tokens:write"], principal=parent, **body)
        assert response.status == 403, body
    assert (
        functions.create(scopes=["tokens:write"], principal=parent, expiresAt="2031-01-01T00:00:00.000Z").status == 201
    )


def test_secrets_never_reach_the_logs(
    functions: Functions, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="apitokens")  # our own logs at their most verbose
    created = create_token(functions, ["tokens:read", "tokens:write", "tokens:delete"])
    secret = created["token"]
    event = authorizer_event(f"Bearer {secret}")
    decision = functions.authorize(event)
    context = decision["context"]
    functions.get(created["sid"], context=context)
    functions.update(created["sid"], {"name": "x", "isActive": True}, context=context)
    functions.delete(created["sid"], context=context)
    refused(functions, event)
    refused(functions, authorizer_event(f"Bearer {sign()}x"))
    output = capsys.readouterr()
    # Every attribute of every record (extras included), and whatever was printed (metrics).
    records = json.dumps([record.__dict__ for record in caplog.records], default=str)
    logs = records + output.out + output.err
    assert "credentials accepted" in output.out  # the authorizer's lines were captured
    assert "TokensDeleted" in output.out  # and the handlers' metrics
    authorizer_lines = [json.loads(line) for line in output.out.splitlines() if '"credentials' in line]
    assert {line["message"] for line in authorizer_lines} == {"credentials accepted", "credentials refused"}
    assert all(line["service"] == "apitokens" and line["level"] == "INFO" for line in authorizer_lines)
    assert secret not in logs
    assert secret[8:] not in logs
    assert "Authorization" not in logs
    assert "Bearer" not in logs


def test_a_token_cannot_update_or_reactivate_a_token_that_grants_more(functions: Functions) -> None:
    broad = functions.create(scopes=sorted(ALL_SCOPES)).body  # by a user: every scope, no expiry
    assert functions.update(broad["sid"], {"name": "leaked", "isActive": False}).status == 200
    narrow = Principal(
        "token",
        "tok_n",
        frozenset({ACCOUNT}),
        frozenset({"tokens:write"}),
        token_sid="tok_n",
        expires_at="2031-01-01T00:00:00.000Z",
    )
    response = functions.update(broad["sid"], {"name": "back on", "isActive": True}, principal=narrow)
    assert response.status == 403
    assert response.body["error"]["code"] == "insufficient_scope"
    after = functions.get(broad["sid"]).body
    assert (after["name"], after["isActive"]) == ("leaked", False)
    # Within its own grants a token may manage tokens: a subset of its scopes, expiring no later.
    small = functions.create(scopes=["tokens:write"], expiresAt="2030-06-01T00:00:00.000Z").body
    assert functions.update(small["sid"], {"name": "renamed", "isActive": False}, principal=narrow).status == 200


def test_a_removed_jwks_key_stops_working_when_the_key_set_is_refreshed() -> None:
    from apitokens.auth.jwt_auth import JwksVerifier
    from apitokens.settings import Settings
    from tests.harness import TEST_ENVIRONMENT
    from tests.jwt_keys import StaticJwksClient

    client = StaticJwksClient()
    verifier = JwksVerifier(Settings.from_env(TEST_ENVIRONMENT), client)
    token = sign(claims(), "ES256")
    assert verifier.principal(token).id == "user_42"
    client.keys = {"keys": [key for key in client.keys["keys"] if key["kid"] != "ec-1"]}  # the IdP withdraws it
    assert client.jwk_set_cache is not None
    client.jwk_set_cache.lifespan = 0  # as if the five-minute key-set lifespan had passed
    with pytest.raises(Unauthenticated):
        verifier.principal(token)
