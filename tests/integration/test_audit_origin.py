"""Where an audit record says a request came from, and whose records a listing holds (handlers
on moto): the source IP is API Gateway's (`requestContext.identity.sourceIp`), never a header
the caller writes (X-Forwarded-For, X-Real-IP), in the usage trail and in change events alike;
and a listing filtered by a token of another account holds nothing of that account."""

from __future__ import annotations

import copy
from typing import Any

from tests.harness import OTHER_ACCOUNT, Functions, load_event, proxy_event
from tests.integration.test_audit_events import events, usage

GATEWAY_IP = "198.51.100.23"
SPOOFED_IP = "203.0.113.66"
SPOOFING_HEADERS = {"X-Forwarded-For": f"{SPOOFED_IP}, 10.0.0.1", "X-Real-IP": SPOOFED_IP}


def authorize_with_spoofed_headers(functions: Functions, secret: str) -> None:
    event = copy.deepcopy(load_event("authorizer_api_token"))
    headers = {**event["headers"], "Authorization": f"Bearer {secret}", **SPOOFING_HEADERS}
    event["headers"] = headers
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    event["requestContext"]["identity"]["sourceIp"] = GATEWAY_IP
    functions.authorize(event)


def test_usage_records_api_gateways_source_ip_not_a_forwarded_header(functions: Functions) -> None:
    created = functions.create().body
    authorize_with_spoofed_headers(functions, created["token"])
    clients = usage(functions, created["sid"]).body["recentClients"]
    assert [client["ip"] for client in clients] == [GATEWAY_IP]
    (new_ip,) = events(functions, apiTokenSid=created["sid"], type="token.used_from_new_ip").body["records"]
    assert new_ip["sourceIp"] == GATEWAY_IP
    assert new_ip["changes"]["recentClients"] == {"from": None, "to": GATEWAY_IP}


def test_a_change_event_records_api_gateways_source_ip(functions: Functions) -> None:
    event = proxy_event("POST", "/accounts/{accountSid}/apiTokens", body={"name": "ci", "scopes": ["tokens:read"]})
    event["headers"].update(SPOOFING_HEADERS)
    event["multiValueHeaders"].update({name: [value] for name, value in SPOOFING_HEADERS.items()})
    event["requestContext"]["identity"]["sourceIp"] = GATEWAY_IP
    created = functions.invoke(event)
    assert created.status == 201, created.body
    (record,) = events(functions, apiTokenSid=created.body["sid"], type="token.created").body["records"]
    assert record["sourceIp"] == GATEWAY_IP


def test_a_tokens_listing_holds_no_event_of_another_account(functions: Functions) -> None:
    elsewhere: dict[str, Any] = functions.create(account=OTHER_ACCOUNT).body
    assert functions.update(elsewhere["sid"], {"name": "x", "isActive": False}, account=OTHER_ACCOUNT).status == 200
    own = events(functions, OTHER_ACCOUNT, apiTokenSid=elsewhere["sid"]).body["records"]
    assert [record["type"] for record in own] == ["token.deactivated", "token.created"]
    listed = events(functions, apiTokenSid=elsewhere["sid"])
    assert listed.status == 200
    assert listed.body["records"] == []
    by_type = events(functions, type="token.created").body["records"]
    assert all(record["accountSid"] != OTHER_ACCOUNT for record in by_type)
