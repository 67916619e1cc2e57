"""allowedIps through the functions on moto: stored on the token and every lookup copy, the
authorizer's refusal by source IP on the REST and the HTTP API from the item it already reads,
a narrower network immediate, children inheriting, and malformed blocks refused."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.errors import Unauthenticated
from apitokens.domain.principal import Principal
from tests.harness import ACCOUNT, CallRecorder, Functions, authorizer_event, scan_table
from tests.integration.test_http_api_authorizer import http_event
from tests.integration.test_lookup_copies import assert_copies_agree

WRITER = frozenset({"tokens:read", "tokens:write", "tokens:delete", "metrics:read"})


def rest_from(secret: str, ip: str) -> dict[str, Any]:
    event = authorizer_event(f"Bearer {secret}")
    event["requestContext"]["identity"]["sourceIp"] = ip
    # A header the client sets never counts.
    event["headers"]["X-Forwarded-For"] = "10.9.9.9"
    return event


def http_from(secret: str, ip: str) -> dict[str, Any]:
    event = http_event(f"Bearer {secret}")
    event["requestContext"]["http"]["sourceIp"] = ip
    event["headers"]["x-forwarded-for"] = "10.9.9.9"
    return event


def refused(functions: Functions, event: dict[str, Any]) -> bool:
    try:
        answer = functions.authorize(event)
    except Exception as error:
        if str(error) != "Unauthorized":
            raise
        return True
    return answer.get("isAuthorized") is False


def test_the_authorizer_refuses_other_networks_on_both_apis_with_one_read(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(scopes=["tokens:read", "metrics:read"], allowedIps=["10.0.0.0/8", "2001:db8::1"])
    assert created.status == 201, created.text
    secret = created.body["token"]
    assert created.body["allowedIps"] == ["10.0.0.0/8", "2001:db8::1/128"]
    assert_copies_agree(dynamodb, secret, allowedIps={"L": [{"S": "10.0.0.0/8"}, {"S": "2001:db8::1/128"}]})
    recorder = CallRecorder(functions.clients(None))
    outcomes = [
        refused(functions, event_from(secret, ip))
        for event_from in (rest_from, http_from)
        for ip in ("10.20.30.40", "2001:db8::1", "192.0.2.10", "2001:db8::2")
    ]
    recorder.clear()
    assert outcomes == [False, False, True, True] * 2
    # No extra read: one GetItem per request, refused or not (beside the once-a-minute usage write).
    assert recorder.operations.count("GetItem") == 8
    with pytest.raises(Unauthenticated) as refusal:
        functions.authorizer_instance.token_principal(secret, rest_from(secret, "192.0.2.10"))
    assert refusal.value.reason == "ip_not_allowed"


def test_a_narrower_network_is_immediate_and_null_means_anywhere(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(allowedIps=["10.0.0.0/8"])
    secret, sid = created.body["token"], created.body["sid"]
    assert not refused(functions, rest_from(secret, "10.1.1.1"))
    narrowed = functions.update(sid, {"name": "n", "isActive": True, "allowedIps": ["10.2.0.0/16"]})
    assert narrowed.status == 200, narrowed.text
    assert narrowed.body["allowedIps"] == ["10.2.0.0/16"]
    assert_copies_agree(dynamodb, secret, allowedIps={"L": [{"S": "10.2.0.0/16"}]})
    assert refused(functions, rest_from(secret, "10.1.1.1"))
    assert not refused(functions, rest_from(secret, "10.2.1.1"))
    kept = functions.update(sid, {"name": "renamed", "isActive": True})
    assert kept.body["allowedIps"] == ["10.2.0.0/16"]
    anywhere = functions.update(sid, {"name": "renamed", "isActive": True, "allowedIps": None})
    assert anywhere.body["allowedIps"] is None
    assert not refused(functions, rest_from(secret, "192.0.2.1"))


def token_principal(body: dict[str, Any]) -> Principal:
    return Principal(
        "token",
        body["sid"],
        frozenset({ACCOUNT}),
        WRITER,
        token_sid=body["sid"],
        allowed_ips=None if body["allowedIps"] is None else tuple(body["allowedIps"]),
    )


def test_children_inherit_or_narrow_their_parents_networks_and_never_widen(functions: Functions) -> None:
    parent = functions.create(scopes=sorted(WRITER), allowedIps=["10.0.0.0/8"]).body
    principal = token_principal(parent)
    inherited = functions.create(principal=principal)
    assert inherited.status == 201, inherited.text
    assert inherited.body["allowedIps"] == ["10.0.0.0/8"]
    narrower = functions.create(principal=principal, allowedIps=["10.3.0.0/16"])
    assert narrower.body["allowedIps"] == ["10.3.0.0/16"]
    wider = functions.create(principal=principal, allowedIps=["0.0.0.0/0"])
    assert wider.status == 403, wider.text
    assert "allowedIps" in wider.body["error"]["message"]
    widened = functions.update(
        inherited.body["sid"], {"name": "n", "isActive": True, "allowedIps": None}, principal=principal
    )
    assert widened.status == 403
    assert functions.get(inherited.body["sid"]).body["allowedIps"] == ["10.0.0.0/8"]
    # A user may widen them.
    by_user = functions.update(inherited.body["sid"], {"name": "n", "isActive": True, "allowedIps": None})
    assert by_user.status == 200
    assert by_user.body["allowedIps"] is None


def test_malformed_networks_are_a_400_naming_allowed_ips_and_write_nothing(functions: Functions, dynamodb: Any) -> None:
    before = scan_table(dynamodb)
    for allowed in ([], ["10.0.0.1/8"], ["nope"], ["10.0.0.0/8", "10.0.0.0/8"], [f"10.{i}.0.0/16" for i in range(21)]):
        reply = functions.create(allowedIps=allowed)
        assert reply.status == 400, reply.text
        assert reply.body["error"]["details"][0]["field"].startswith("allowedIps")
    assert scan_table(dynamodb) == before
