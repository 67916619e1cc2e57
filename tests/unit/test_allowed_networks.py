"""allowedIps without DynamoDB: the CIDR rules of the wire, the authorizer's refusal by source
IP (REST and HTTP API events), and inheritance and no-escalation on the in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from apitokens.auth.authorizer import Authorizer
from apitokens.auth.verify import verify
from apitokens.domain import networks, tokens
from apitokens.domain.commands import CreateToken, RollToken, UpdateToken
from apitokens.domain.errors import InsufficientScope, Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.rules import service
from apitokens.settings import Settings
from apitokens.wire.models import CreateTokenRequest, UpdateTokenRequest
from apitokens_dev.authcache import identity_values
from apitokens_dev.template import TEMPLATE_PATH, api_definition
from tests.harness.memory import MemoryStore

ACCOUNT = "acc_" + "a" * 24
NOW = datetime(2030, 1, 1, tzinfo=UTC)
USER = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)
SETTINGS = Settings(table_name="tokens")
WRITER = ("tokens:read", "tokens:write", "tokens:delete")


def create_body(allowed: Any) -> str:
    return json.dumps({"name": "n", "scopes": ["tokens:read"], "allowedIps": allowed})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["203.0.113.7"], ["203.0.113.7/32"]),
        (["2001:db8::1"], ["2001:db8::1/128"]),
        (["10.0.0.0/8", "2001:db8::/32"], ["10.0.0.0/8", "2001:db8::/32"]),
        ([f"10.0.{index}.0/24" for index in range(20)], [f"10.0.{index}.0/24" for index in range(20)]),
    ],
)
def test_cidr_blocks_are_taken_in_their_canonical_form(given: list[str], stored: list[str]) -> None:
    assert CreateTokenRequest.model_validate_json(create_body(given)).allowed_ips == stored


@pytest.mark.parametrize(
    "allowed",
    [
        [],
        [f"10.0.{index}.0/24" for index in range(21)],
        ["10.0.0.1/8"],
        ["10.0.0.0/33"],
        ["not an ip"],
        ["10.0.0.0/8", "10.0.0.0/8"],
        ["10.0.0.1", "10.0.0.1/32"],
        [1],
        "10.0.0.0/8",
        ["2001:db8::1/32"],
        ["fe80::1%eth0"],
        [" 10.0.0.1"],
    ],
)
def test_malformed_or_repeated_blocks_are_refused_naming_allowed_ips(allowed: Any) -> None:
    for model, body in (
        (CreateTokenRequest, create_body(allowed)),
        (UpdateTokenRequest, json.dumps({"name": "n", "isActive": True, "allowedIps": allowed})),
    ):
        with pytest.raises(ValidationError) as raised:
            model.model_validate_json(body)
        assert raised.value.errors()[0]["loc"][0] == "allowedIps"


def test_host_bits_are_a_refusal_that_names_the_block_meant() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/8"):
        networks.parse_network("10.0.0.1/8")


def test_containment_by_address_family_and_prefix() -> None:
    blocks = ("10.0.0.0/8", "2001:db8::/32")
    assert networks.contains_ip(blocks, "10.255.0.1")
    assert networks.contains_ip(blocks, "2001:db8::5")
    assert not networks.contains_ip(blocks, "11.0.0.1")
    assert not networks.contains_ip(blocks, "::ffff:10.0.0.1")
    assert not networks.contains_ip(blocks, None)
    assert not networks.contains_ip(blocks, "bogus")
    assert networks.is_subset(["10.1.0.0/16"], ["10.0.0.0/8"])
    assert not networks.is_subset(["10.0.0.0/7"], ["10.0.0.0/8"])
    assert not networks.is_subset(["::/0"], ["10.0.0.0/8"])
    assert networks.is_subset(["::/0"], None)


# -- the authorizer ------------------------------------------------------------------------------


def rest_event(secret: str, ip: str) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/v1/GET/accounts/{ACCOUNT}/apiTokens",
        "resource": "/accounts/{accountSid}/apiTokens",
        "httpMethod": "GET",
        "headers": {"Authorization": f"Bearer {secret}", "X-Forwarded-For": "10.0.0.1"},
        "requestContext": {"identity": {"sourceIp": ip}},
    }


def http_event(secret: str, ip: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/$default/GET/accounts/{ACCOUNT}/apiTokens",
        "routeKey": "GET /accounts/{accountSid}/apiTokens",
        "headers": {"authorization": f"Bearer {secret}", "x-forwarded-for": "10.0.0.1"},
        "requestContext": {"http": {"sourceIp": ip, "method": "GET"}},
    }


def restricted(store: MemoryStore, allowed: tuple[str, ...] | None) -> service.CreatedToken:
    command = CreateToken("t", ("tokens:read",), allowed_ips=allowed)
    return service.create_token(store, SETTINGS, USER, ACCOUNT, command, now=NOW)


@pytest.mark.parametrize("event_of", [rest_event, http_event])
def test_the_authorizer_refuses_a_source_ip_outside_the_tokens_networks(event_of: Any) -> None:
    store = MemoryStore()
    authorizer = Authorizer(SETTINGS, store, clock=NOW.timestamp)
    secret = restricted(store, ("10.0.0.0/8", "2001:db8::/32")).secret
    assert authorizer.decide(event_of(secret, "10.1.2.3"))["principalId"]
    assert authorizer.decide(event_of(secret, "2001:db8::7"))["principalId"]
    # X-Forwarded-For says 10.0.0.1: a header never counts, only API Gateway's source IP.
    for ip in ("192.0.2.1", "::1", ""):
        with pytest.raises(Unauthenticated) as refused:
            authorizer.decide(event_of(secret, ip))
        assert refused.value.reason == "ip_not_allowed"
    anywhere = restricted(store, None).secret
    assert authorizer.decide(event_of(anywhere, "192.0.2.1"))["principalId"]


def test_the_principal_carries_the_networks_in_its_context() -> None:
    store = MemoryStore()
    authorizer = Authorizer(SETTINGS, store, clock=NOW.timestamp)
    created = restricted(store, ("10.0.0.0/8",))
    principal = authorizer.token_principal(created.secret, rest_event(created.secret, "10.0.0.9"))
    assert principal.allowed_ips == ("10.0.0.0/8",)
    context = principal.to_context()
    assert context["allowedIps"] == "10.0.0.0/8"
    assert Principal.from_context(context).allowed_ips == ("10.0.0.0/8",)
    assert "allowedIps" not in USER.to_context()
    assert Principal.from_context(USER.to_context()).allowed_ips is None


# -- inheritance and no escalation ---------------------------------------------------------------


def as_token(created: service.CreatedToken) -> Principal:
    record = created.record
    return Principal(
        "token",
        record.sid,
        frozenset({ACCOUNT}),
        frozenset(WRITER),
        token_sid=record.sid,
        allowed_ips=record.allowed_ips,
    )


def writer(store: MemoryStore, allowed: tuple[str, ...] | None) -> service.CreatedToken:
    command = CreateToken("w", WRITER, allowed_ips=allowed)
    return service.create_token(store, SETTINGS, USER, ACCOUNT, command, now=NOW)


def test_a_child_inherits_its_parents_networks_or_narrows_them_never_widens() -> None:
    store = MemoryStore()
    parent = as_token(writer(store, ("10.0.0.0/8",)))
    inherited = service.create_token(store, SETTINGS, parent, ACCOUNT, CreateToken("c", ("tokens:read",)), now=NOW)
    assert inherited.record.allowed_ips == ("10.0.0.0/8",)
    narrower = CreateToken("c", ("tokens:read",), allowed_ips=("10.1.0.0/16",))
    assert service.create_token(store, SETTINGS, parent, ACCOUNT, narrower, now=NOW).record.allowed_ips == (
        "10.1.0.0/16",
    )
    for wider in (("10.0.0.0/7",), ("10.1.0.0/16", "192.0.2.0/24"), ("::/0",)):
        with pytest.raises(InsufficientScope, match="allowedIps"):
            service.create_token(
                store, SETTINGS, parent, ACCOUNT, CreateToken("c", ("tokens:read",), allowed_ips=wider), now=NOW
            )


def test_a_token_may_narrow_but_never_widen_networks_and_a_user_may() -> None:
    store = MemoryStore()
    actor = as_token(writer(store, ("10.0.0.0/8",)))
    target = writer(store, ("10.0.0.0/8",)).record
    narrow = UpdateToken("t", True, allowed_ips=("10.2.0.0/16",), replace_allowed_ips=True)
    assert service.update_token(store, actor, ACCOUNT, target.sid, narrow, now=NOW).allowed_ips == ("10.2.0.0/16",)
    # Back to the actor's own networks is still wider than the target's now: refused.
    back = UpdateToken("t", True, allowed_ips=("10.0.0.0/8",), replace_allowed_ips=True)
    anywhere = UpdateToken("t", True, allowed_ips=None, replace_allowed_ips=True)
    for change in (back, anywhere):
        with pytest.raises(InsufficientScope, match="allowedIps"):
            service.update_token(store, actor, ACCOUNT, target.sid, change, now=NOW)
    assert store.get(ACCOUNT, target.sid).allowed_ips == ("10.2.0.0/16",)
    assert service.update_token(store, USER, ACCOUNT, target.sid, anywhere, now=NOW).allowed_ips is None


def test_a_restricted_token_cannot_change_roll_or_delete_a_token_of_wider_networks() -> None:
    store = MemoryStore()
    actor = as_token(writer(store, ("10.0.0.0/8",)))
    unrestricted = writer(store, None).record
    with pytest.raises(InsufficientScope, match="allowedIps"):
        service.update_token(store, actor, ACCOUNT, unrestricted.sid, UpdateToken("w", True), now=NOW)
    with pytest.raises(InsufficientScope, match="allowedIps"):
        service.roll_token(store, SETTINGS, actor, ACCOUNT, unrestricted.sid, request=RollToken(), now=NOW)
    with pytest.raises(InsufficientScope, match="allowedIps"):
        service.delete_token(store, ACCOUNT, unrestricted.sid, principal=actor, now=NOW)
    assert store.get(ACCOUNT, unrestricted.sid).is_active
    # Within its networks, it may.
    inside = writer(store, ("10.1.0.0/16",)).record
    service.delete_token(store, ACCOUNT, inside.sid, principal=actor, now=NOW)
    assert (ACCOUNT, inside.sid) not in store.tokens


def test_a_roll_keeps_the_networks_and_a_restricted_token_may_roll_itself() -> None:
    store = MemoryStore()
    created = writer(store, ("10.0.0.0/8",))
    rolled = service.roll_token(
        store, SETTINGS, as_token(created), ACCOUNT, created.record.sid, request=RollToken(), now=NOW
    )
    assert rolled.record.allowed_ips == ("10.0.0.0/8",)
    assert rolled.record.redacted_token == tokens.redact(rolled.secret, SETTINGS.token_prefix)


def test_the_networks_are_recorded_on_creation_and_change() -> None:
    store = MemoryStore()
    created = writer(store, ("10.0.0.0/8",))
    assert store.events[-1]["changes"]["allowedIps"] == {"from": None, "to": ["10.0.0.0/8"]}
    change = UpdateToken("w", True, allowed_ips=("10.0.0.0/16",), replace_allowed_ips=True)
    service.update_token(store, USER, ACCOUNT, created.record.sid, change, now=NOW)
    assert store.events[-1]["changes"] == {"allowedIps": {"from": ["10.0.0.0/8"], "to": ["10.0.0.0/16"]}}


def test_the_local_gateways_cache_key_differs_by_source_ip() -> None:
    # What the templates' identity sources make API Gateway (and `apitokens serve`) key by.
    sources = api_definition(TEMPLATE_PATH, {"AuthorizerCacheTtl": "300"}).identity
    headers = {"Authorization": "Bearer x"}
    context = {"httpMethod": "GET", "path": "/v1/accounts/a/apiTokens"}
    one = identity_values(sources, headers, {}, {**context, "identity.sourceIp": "10.0.0.1"})
    other = identity_values(sources, headers, {}, {**context, "identity.sourceIp": "10.0.0.2"})
    assert one is not None
    assert other is not None
    assert one != other


def test_the_verify_route_has_no_callers_ip_so_a_restricted_token_is_not_active_there() -> None:
    store = MemoryStore()
    authorizer = Authorizer(SETTINGS, store, clock=NOW.timestamp)
    assert verify(authorizer, restricted(store, ("10.0.0.0/8",)).secret).principal is None
    assert verify(authorizer, restricted(store, None).secret).principal is not None
