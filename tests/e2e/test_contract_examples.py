"""The API contract's curl examples, replayed against the local server with their bodies and headers
(the development JWT for "your-jwt-token", a future expiresAt for 2024-12-31, the created sid for
the example sids), and the responses compared with the contract's field by field: the same keys in the
same order, the same types, and the values the request determines."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.harness import ACCOUNT, LocalServer

pytestmark = pytest.mark.e2e

# The contract's examples, verbatim but for what the note above says.
BASE = "/accounts/acc_abc123def456ghi789jkl012/apiTokens"
CONTRACT_TOKEN_SID = "tok_abc123def456ghi789jkl012"
CONTRACT_CREATE_BODY = """{
    "name": "Analytics Token",
    "description": "Token for analytics dashboard integration",
    "scopes": ["metrics:read", "buckets:read"],
    "expiresAt": "2024-12-31T23:59:59.000Z"
  }"""
CONTRACT_UPDATE_BODY = """{
    "name": "Updated Production Token",
    "description": "Updated description for production monitoring",
    "isActive": false
  }"""
CONTRACT_TOKEN = {
    "sid": "tok_abc123def456ghi789jkl012",
    "accountSid": "acc_abc123def456ghi789jkl012",
    "name": "Production API Token",
    "description": "Token for production monitoring integration",
    "scopes": ["buckets:read", "requests:read", "metrics:read"],
    "lastUsedAt": "2023-12-01T14:30:00.000Z",
    "expiresAt": "2024-12-01T00:00:00.000Z",
    "isActive": True,
    "createdAt": "2023-12-01T10:30:00.000Z",
}
CONTRACT_LIST = {"hasMore": False, "records": [CONTRACT_TOKEN]}
CONTRACT_CREATED = {
    "sid": "tok_new789uvw012rst345def",
    "token": "at_live_1234567890abcdef...",
    "accountSid": "acc_abc123def456ghi789jkl012",
    "name": "Analytics Token",
    "description": "Token for analytics dashboard integration",
    "scopes": ["metrics:read", "buckets:read"],
    "expiresAt": "2024-12-31T23:59:59.000Z",
    "isActive": True,
    "createdAt": "2023-12-01T15:45:00.000Z",
}
CONTRACT_UPDATED = {
    "sid": "tok_abc123def456ghi789jkl012",
    "accountSid": "acc_abc123def456ghi789jkl012",
    "name": "Updated Production Token",
    "description": "Updated description for production monitoring",
    "scopes": ["buckets:read", "requests:read", "metrics:read"],
    "lastUsedAt": "2023-12-01T14:30:00.000Z",
    "expiresAt": "2024-12-01T00:00:00.000Z",
    "isActive": False,
    "createdAt": "2023-12-01T10:30:00.000Z",
}
CONTRACT_DELETED = {"sid": "tok_abc123def456ghi789jkl012", "deleted": True}

FUTURE_EXPIRY = f"{datetime.now(UTC).year + 2}-12-31T23:59:59.000Z"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
NULLABLE = {"description", "lastUsedAt", "expiresAt"}
# Fields added by later features, after the contract's own (the contract's shapes only ever gain fields).
ADDED = ["createdBy", "parentSid", "revokedReason", "revokedAt", "rolledTo"]


def assert_same_shape(actual: Any, expected: Any, path: str = "$") -> None:
    """The contract's keys in the contract's order, each value of the contract's JSON type (null allowed where
    the contract itself shows null for that field), recursively."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        keys = [key for key in actual if not (key in ADDED and key not in expected)]
        assert keys == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key, value in expected.items():
            if actual[key] is None and key in NULLABLE:
                continue
            assert_same_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: {actual!r}"
        for index, item in enumerate(actual):
            assert_same_shape(item, expected[0], f"{path}[{index}]")
    elif isinstance(expected, str) and TIMESTAMP.fullmatch(expected):
        assert isinstance(actual, str), f"{path}: {actual!r}"
        assert TIMESTAMP.fullmatch(actual), f"{path}: {actual!r}"
    else:
        assert type(actual) is type(expected), f"{path}: {actual!r} is not like {expected!r}"


@pytest.fixture(scope="module")
def curl(server: LocalServer) -> Any:
    """Sends one example of the API contract: its method, URL path, headers and body."""
    jwt = server.jwt("--account", ACCOUNT)

    def send(method: str, path: str, body: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {jwt}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        reply = server.request(method, path, raw_body=None if body is None else body.encode(), headers=headers)
        assert reply.headers["content-type"] == "application/json"
        return reply

    return send


@pytest.fixture(scope="module")
def created(curl: Any, server: LocalServer) -> dict[str, Any]:
    reply = curl("POST", BASE, CONTRACT_CREATE_BODY.replace("2024-12-31T23:59:59.000Z", FUTURE_EXPIRY))
    assert reply.status == 201, reply.text
    body: dict[str, Any] = reply.body
    server.secrets.append(body["token"])
    return body


def test_create(created: dict[str, Any]) -> None:
    assert_same_shape(created, CONTRACT_CREATED)
    request = json.loads(CONTRACT_CREATE_BODY)
    assert created["name"] == request["name"]
    assert created["description"] == request["description"]
    assert created["scopes"] == request["scopes"]
    assert created["expiresAt"] == FUTURE_EXPIRY
    assert created["accountSid"] == ACCOUNT
    assert created["isActive"] is True
    assert re.fullmatch(r"tok_[A-Za-z0-9]{24}", created["sid"])
    assert re.fullmatch(r"at_test_[A-Za-z0-9]{36}", created["token"])


def test_list(curl: Any, created: dict[str, Any]) -> None:
    reply = curl("GET", BASE)
    assert reply.status == 200, reply.text
    assert_same_shape(reply.body, CONTRACT_LIST)
    assert reply.body["hasMore"] is False
    assert [record["sid"] for record in reply.body["records"]] == [created["sid"]]
    record = reply.body["records"][0]
    for key in ("accountSid", "scopes", "expiresAt", "createdAt"):
        assert record[key] == created[key], key
    assert created["token"] not in reply.text


def test_get(curl: Any, created: dict[str, Any]) -> None:
    reply = curl("GET", f"{BASE}/{created['sid']}")
    assert reply.status == 200, reply.text
    assert_same_shape(reply.body, CONTRACT_TOKEN)
    assert reply.body["sid"] == created["sid"]
    assert reply.body["lastUsedAt"] is None  # used by nobody yet (the contract's example was)
    assert created["token"] not in reply.text


def test_update(curl: Any, created: dict[str, Any]) -> None:
    reply = curl("PUT", f"{BASE}/{created['sid']}", CONTRACT_UPDATE_BODY)
    assert reply.status == 200, reply.text
    assert_same_shape(reply.body, CONTRACT_UPDATED)
    request = json.loads(CONTRACT_UPDATE_BODY)
    assert reply.body["name"] == request["name"]
    assert reply.body["description"] == request["description"]
    assert reply.body["isActive"] is False
    assert reply.body["scopes"] == created["scopes"]
    assert created["token"] not in reply.text


def test_delete(curl: Any, created: dict[str, Any]) -> None:
    reply = curl("DELETE", f"{BASE}/{created['sid']}")
    assert reply.status == 200, reply.text
    assert_same_shape(reply.body, CONTRACT_DELETED)
    assert reply.body == {"sid": created["sid"], "deleted": True}


@pytest.mark.parametrize("sid", [CONTRACT_TOKEN_SID, "tok_xyz789uvw012rst345abc", "tok_new789uvw012rst345def"])
def test_contract_sids_are_accepted_as_identifiers(curl: Any, sid: str) -> None:
    # The contract's own example sids (21 to 24 characters) are well-formed: unknown (404), not invalid (400).
    reply = curl("GET", f"{BASE}/{sid}")
    assert reply.status == 404, reply.text
    assert reply.body["error"]["code"] == "not_found"
