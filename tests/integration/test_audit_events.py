"""Audit events: written with each change, read through GET auditEvents, the usage
route, the expiry sweep and the stream-to-bus filter and transformation; handlers on moto."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.events.models import EventPattern, EventPatternParser

from apitokens.domain.scopes import AUDIT_EVENTS, USAGE
from apitokens.rules import expiry
from apitokens.settings import get_settings
from apitokens.store import audit_stream
from apitokens.store.event_repository import EventRepository
from apitokens_dev.template import dynamodb_clients, resource
from tests.harness import ACCOUNT, OTHER_ACCOUNT, Functions, Reply, load_event, proxy_event, scan_table, user

TOKENS = "/accounts/{accountSid}/apiTokens"


def events(functions: Functions, account: str = ACCOUNT, **query: str) -> Reply:
    event = proxy_event("GET", TOKENS, account, query=query or None, principal=user((ACCOUNT, OTHER_ACCOUNT)))
    event["resource"] = AUDIT_EVENTS
    event["path"] = f"/accounts/{account}/auditEvents"
    return functions.invoke(event)


def usage(functions: Functions, sid: str) -> Reply:
    event = proxy_event("GET", TOKENS)
    event["resource"] = USAGE
    event["path"] = f"/accounts/{ACCOUNT}/apiTokens/{sid}/usage"
    event["pathParameters"] = {"accountSid": ACCOUNT, "apiTokenSid": sid}
    return functions.invoke(event)


def authorize(functions: Functions, secret: str, ip: str, agent: str = "curl/8") -> None:
    event = copy.deepcopy(load_event("authorizer_api_token"))
    event["headers"]["Authorization"] = f"Bearer {secret}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {secret}"]
    event["headers"]["User-Agent"] = agent
    event["requestContext"]["identity"]["sourceIp"] = ip
    functions.authorize(event)


def test_every_change_writes_its_event_newest_first_with_no_secret(functions: Functions, dynamodb: Any) -> None:
    created = functions.create(name="ci").body
    sid = created["sid"]
    assert functions.update(sid, {"name": "ci2", "isActive": True}).status == 200
    assert functions.update(sid, {"name": "ci2", "isActive": False}).status == 200
    assert functions.update(sid, {"name": "ci2", "isActive": True}).status == 200
    assert functions.update(sid, {"name": "ci2", "isActive": True}).status == 200  # no change, no event
    assert functions.delete(sid).status == 200
    listed = events(functions)
    assert listed.status == 200
    types = [record["type"] for record in listed.body["records"]]
    assert types == ["token.deleted", "token.reactivated", "token.deactivated", "token.updated", "token.created"]
    updated = listed.body["records"][3]
    assert {name: updated[name] for name in ("changes", "actor", "apiTokenSid", "accountSid")} == {
        "changes": {"name": {"from": "ci", "to": "ci2"}},
        "actor": {"type": "user", "id": "user_1"},
        "apiTokenSid": sid,
        "accountSid": ACCOUNT,
    }
    assert updated["requestId"]
    assert updated["sourceIp"]
    text = json.dumps(scan_table(dynamodb))
    assert created["token"] not in text
    secret_digest = [item for item in scan_table(dynamodb) if item["SK"]["S"].startswith("EVENT#")]
    assert all("secretDigest" not in json.dumps(item) for item in secret_digest)
    expirations = [int(item["expiration"]["N"]) for item in secret_digest]
    assert all(400 * 86_400 - 60 < value - datetime.now(UTC).timestamp() <= 400 * 86_400 for value in expirations)


def test_a_failed_audit_write_fails_the_change(functions: Functions, dynamodb: Any, monkeypatch: Any) -> None:
    (client,) = dynamodb_clients(vars(functions.modules[("POST", TOKENS)]))
    original = client.transact_write_items

    def failing(**kwargs: Any) -> Any:
        if any(item.get("Put", {}).get("Item", {}).get("type") == {"S": "audit"} for item in kwargs["TransactItems"]):
            error = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", failing)
    assert functions.create().status == 503
    assert [item for item in scan_table(dynamodb) if item["SK"]["S"].startswith("TOKEN#")] == []


def test_filters_and_pagination(functions: Functions) -> None:
    first = functions.create(name="a").body["sid"]
    second = functions.create(name="b").body["sid"]
    functions.update(first, {"name": "a2", "isActive": True})
    functions.update(first, {"name": "a3", "isActive": True})
    by_token = events(functions, apiTokenSid=first, limit="2")
    assert [r["type"] for r in by_token.body["records"]] == ["token.updated", "token.updated"]
    assert by_token.body["hasMore"] is True
    rest = events(functions, apiTokenSid=first, startingAfter=by_token.body["records"][-1]["sid"])
    assert [r["type"] for r in rest.body["records"]] == ["token.created"]
    assert rest.body["hasMore"] is False
    created = events(functions, type="token.created")
    assert [r["apiTokenSid"] for r in created.body["records"]] == [second, first]
    both = events(functions, apiTokenSid=first, type="token.created")
    assert [r["apiTokenSid"] for r in both.body["records"]] == [first]
    page = events(functions, limit="1")
    assert page.body["hasMore"] is True
    other_token_cursor = events(functions, apiTokenSid=second).body["records"][0]["sid"]
    assert events(functions, apiTokenSid=first, startingAfter=other_token_cursor).status == 400
    assert events(functions, type="token.updated", startingAfter=other_token_cursor).status == 400


@pytest.mark.parametrize(
    "query",
    [
        {"type": "token.exploded"},
        {"startingAfter": "tok_abc"},
        {"startingAfter": "evt_" + "a" * 24},
        {"limit": "0"},
        {"limit": "101"},
        {"apiTokenSid": "nope"},
    ],
)
def test_bad_queries_are_400(functions: Functions, query: dict[str, str]) -> None:
    functions.create()
    reply = events(functions, **query)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "invalid_request"


def test_a_cursor_of_another_account_is_400(functions: Functions) -> None:
    functions.create(account=OTHER_ACCOUNT, principal=user((OTHER_ACCOUNT,)))
    cursor = events(functions, OTHER_ACCOUNT).body["records"][0]["sid"]
    assert events(functions, ACCOUNT, startingAfter=cursor).status == 400


def test_usage_keeps_the_five_latest_ips_and_records_new_ips(functions: Functions) -> None:
    created = functions.create().body
    clock = [datetime(2030, 1, 1, tzinfo=UTC).timestamp()]
    functions.authorizer_instance.clock = lambda: clock[0]
    for minute, ip in enumerate(
        ["198.51.100.1", "198.51.100.2", "198.51.100.1", *[f"198.51.100.{n}" for n in range(3, 8)]]
    ):
        clock[0] += 61
        authorize(functions, created["token"], ip, agent=f"agent/{minute}")
    clock[0] += 10  # within the minute: no write, so not recorded
    authorize(functions, created["token"], "203.0.113.99")
    body = usage(functions, created["sid"]).body
    assert [client["ip"] for client in body["recentClients"]] == [f"198.51.100.{n}" for n in (7, 6, 5, 4, 3)]
    assert body["lastUsedAt"] == body["recentClients"][0]["lastSeenAt"]
    new_ips = events(functions, apiTokenSid=created["sid"], type="token.used_from_new_ip").body["records"]
    assert len(new_ips) == 7  # .1 came back while still in the list: not new
    assert new_ips[0]["actor"] == {"type": "token", "id": created["sid"]}
    assert new_ips[0]["sourceIp"] == "198.51.100.7"
    assert new_ips[0]["userAgent"] == "agent/7"


def test_expiry_sweep_warns_once_per_threshold_and_once_expired(functions: Functions) -> None:
    now = datetime.now(UTC)
    soon = functions.create(expiresAt=(now + timedelta(days=20)).isoformat()).body["sid"]
    functions.create(expiresAt=(now + timedelta(days=300)).isoformat())
    functions.create()
    repository = EventRepository.from_settings(get_settings())
    first = expiry.sweep(repository, now)
    assert (first.expiring, first.expired, first.items_read) == (1, 0, 1)
    assert expiry.sweep(repository, now).expiring == 0
    assert expiry.sweep(repository, now + timedelta(days=14)).expiring == 1
    assert expiry.sweep(repository, now + timedelta(days=19, hours=12)).expiring == 1
    done = expiry.sweep(repository, now + timedelta(days=21))
    assert done.expired == 1
    assert expiry.sweep(repository, now + timedelta(days=22)).items_read == 0  # out of the index
    records = events(functions, apiTokenSid=soon).body["records"]
    assert [(r["type"], r.get("daysLeft")) for r in records] == [
        ("token.expired", None),
        ("token.expiring", 1),
        ("token.expiring", 6),
        ("token.expiring", 20),
        ("token.created", None),
    ]
    assert records[0]["actor"] == {"type": "system", "id": "expiry_sweep"}


def _stream_record(item: dict[str, Any], name: str = "INSERT") -> dict[str, Any]:
    """A DynamoDB Streams record (NEW_IMAGE view) as a pipe receives it."""
    return {
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1700000000,
            "Keys": {"PK": item["PK"], "SK": item["SK"]},
            "NewImage": item,
            "SequenceNumber": "111",
            "SizeBytes": 512,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000",
    }


def test_the_pipe_filter_and_transformation_on_stream_records(functions: Functions, dynamodb: Any) -> None:
    created = functions.create().body
    items = scan_table(dynamodb)
    [audit_item] = [item for item in items if item["SK"]["S"].startswith("EVENT#")]
    token_item = next(item for item in items if item["SK"]["S"].startswith("TOKEN#"))
    pipe = resource("AuditEventsPipe")["Properties"]
    raw = pipe["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"]
    assert json.loads(raw) == audit_stream.FILTER_PATTERN
    pattern = EventPattern(raw, EventPatternParser(raw).parse())
    records = [_stream_record(audit_item), _stream_record(token_item), _stream_record(audit_item, "REMOVE")]
    assert [pattern.matches_event(record) for record in records] == [True, False, False]  # type: ignore[arg-type]
    [event] = audit_stream.transform(records)
    assert event["type"] == "token.created"
    assert event["apiTokenSid"] == created["sid"]
    entry = audit_stream.bus_entry(event, "bus")
    assert (entry["Source"], entry["DetailType"]) == ("apitokens", "token.created")
    assert json.loads(entry["Detail"]) == event
    # DetailType is read from the source record itself.
    assert pipe["TargetParameters"]["EventBridgeEventBusParameters"]["DetailType"] == "$.dynamodb.NewImage.eventType.S"
    assert records[0]["dynamodb"]["NewImage"]["eventType"]["S"] == "token.created"
