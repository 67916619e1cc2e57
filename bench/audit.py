"""Audit figures: what each change's audit event costs, the audit page and the expiry sweep
at scale. Rows of bench/scale.py (ROWS), on its moto table and metered client.

- Per change (create, update, deactivate, re-activate, roll, delete): the audit item's bytes and
  the transaction's write units with it, next to the same transaction without it (the write
  units the change would cost without an audit trail; the token items' few audit attributes are
  counted in both).
- A page of an account's audit events at 10 vs 100,000 events: a key condition, so equal.
- The expiry sweep at 100 vs 100,000 tokens with the same tokens expiring: the expiry index
  holds only tokens with an expiresAt, by day, so the items read are equal.
Data at scale goes straight into moto's table, as Fixture.copies does.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import TABLE_NAME
from dynamo import item_size, read_units
from scale import MOTO_ACCOUNT, Fixture, ScaleRow, _write_units, measured

EXPIRING = 10
PAGE = 20


def _user(account_sid: str) -> Any:
    from apitokens.domain.principal import Principal
    from apitokens.domain.scopes import ALL_SCOPES

    return Principal(type="user", id="user_bench", account_sids=frozenset({account_sid}), scopes=ALL_SCOPES)


def _is_event(entry: dict[str, Any]) -> bool:
    put = entry.get("Put")
    return put is not None and put["Item"]["SK"]["S"].startswith("EVENT#")


def change_costs(fixture: Fixture) -> list[dict[str, Any]]:
    """Each change made once through apitokens.rules.service; per change its transactions' write
    units with and without the audit items, and the audit items' bytes."""
    from apitokens.rules import service
    from apitokens.wire.models import RollTokenRequest, UpdateTokenRequest

    account = "acc_" + "c" * 24
    principal = _user(account)
    recorded: list[dict[str, float]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        events = [entry for entry in params["TransactItems"] if _is_event(entry)]
        without = {**params, "TransactItems": [entry for entry in params["TransactItems"] if not _is_event(entry)]}
        recorded.append(
            {
                "after": _write_units(params),
                "before": _write_units(without),
                "event_bytes": sum(item_size(entry["Put"]["Item"]) for entry in events),
                "events": len(events),
            }
        )

    client = fixture.client
    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", record, unique_id="bench-audit")
    rows: list[dict[str, Any]] = []

    def change(name: str, action: Any) -> Any:
        recorded.clear()
        result = action()
        rows.append(
            {
                "change": name,
                "write_units_before": sum(entry["before"] for entry in recorded),
                "write_units_after": sum(entry["after"] for entry in recorded),
                "event_bytes": sum(entry["event_bytes"] for entry in recorded),
                "events": sum(entry["events"] for entry in recorded),
            }
        )
        return result

    def update(sid: str, *, active: bool, name: str) -> Any:
        request = UpdateTokenRequest.model_validate({"name": name, "isActive": active})
        return service.update_token(fixture.repository, principal, account, sid, request.command())

    try:
        from apitokens.wire.models import CreateTokenRequest

        body = {"name": "Analytics Token", "scopes": ["metrics:read"], "expiresAt": "2031-12-31T23:59:59Z"}
        request = CreateTokenRequest.model_validate_json(json.dumps(body))
        created = change(
            "create",
            lambda: service.create_token(fixture.repository, fixture.settings, principal, account, request.command()),
        )
        sid = created.record.sid
        change("update (name)", lambda: update(sid, active=True, name="Analytics Token v2"))
        change("deactivate", lambda: update(sid, active=False, name="Analytics Token v2"))
        change("re-activate", lambda: update(sid, active=True, name="Analytics Token v2"))
        rolled = change(
            "roll",
            lambda: service.roll_token(
                fixture.repository, fixture.settings, principal, account, sid, request=RollTokenRequest().command()
            ),
        )
        change("delete", lambda: service.delete_token(fixture.repository, account, rolled.record.sid))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="bench-audit")
    return rows


def _copy_events(fixture: Fixture, account_sid: str, count: int) -> None:
    """`count` more audit events in the account like its newest one, by moto's own put."""
    from apitokens.domain import audit
    from apitokens.store import keys

    started = time.perf_counter()
    newest = _newest_event(fixture, account_sid)
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[MOTO_ACCOUNT]["us-east-1"]
    for _ in range(count):
        sid = audit.new_event_sid()
        event = {**newest["event"], "M": {**newest["event"]["M"], "sid": {"S": sid}}}
        sk = {"S": keys.event_sk(sid)}
        backend.put_item(TABLE_NAME, {**newest, "SK": sk, keys.BY_TOKEN_SK: sk, keys.BY_TYPE_SK: sk, "event": event})
    fixture.seconds_seeding += time.perf_counter() - started


def audit_page_rows(fixture: Fixture) -> list[ScaleRow]:
    from apitokens.rules import service
    from apitokens.store.event_repository import EventRepository
    from apitokens.wire.audit_models import AuditEventsQuery

    events = EventRepository(fixture.client, TABLE_NAME)
    costs = {}
    for label, count in (("10", 10), ("100000", 100_000)):
        account = f"acc_{'a' + label:0>24}"
        fixture.create(account)  # its token.created event
        _copy_events(fixture, account, count - 1)
        with measured(fixture.meter) as cost:
            page = service.list_audit_events(events, account, AuditEventsQuery(limit=PAGE).command())
        if len(page.records) != min(PAGE, count):
            raise RuntimeError(f"the audit page returned {len(page.records)} events of {count}")
        costs[label] = cost
    # The small account holds fewer events than a page: the bound is the page (limit + 1 items
    # read, their size in 4 KB steps), whatever the account holds.
    small, large = costs["10"], costs["100000"]
    event_bytes = _newest_event_bytes(fixture, account)
    cases = ("10 events", "100,000 events")
    name = "audit page of 20 (account)"
    return [
        ScaleRow(name, "requests", *cases, small.requests, large.requests, 1.0, detail=f"{large.operations}"),
        ScaleRow(name, "items read", *cases, small.items_read, large.items_read, PAGE + 1, absolute=True),
        ScaleRow(
            name,
            "capacity units",
            *cases,
            small.capacity_units,
            large.capacity_units,
            read_units((PAGE + 1) * event_bytes),
            absolute=True,
            detail=f"an event item is {event_bytes} B",
        ),
    ]


def _newest_event(fixture: Fixture, account_sid: str) -> dict[str, Any]:
    """The account's newest audit event item, as stored."""
    from apitokens.store import keys

    item: dict[str, Any] = fixture.client.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :event)",
        ExpressionAttributeValues={":pk": {"S": keys.account_pk(account_sid)}, ":event": {"S": "EVENT#"}},
        ScanIndexForward=False,
        Limit=1,
    )["Items"][0]
    return item


def _newest_event_bytes(fixture: Fixture, account_sid: str) -> int:
    return item_size(_newest_event(fixture, account_sid))


def expiry_rows(fixture: Fixture) -> list[ScaleRow]:
    """The sweep over the table with EXPIRING tokens expiring within its window and 100 tokens
    in all, then again with 100,000 tokens in all (the others without expiresAt): the same
    expiring tokens are read (the second sweep has no notice left to send, so only reads are
    compared)."""
    from apitokens.rules import expiry, service
    from apitokens.store.event_repository import EventRepository
    from apitokens.wire.models import CreateTokenRequest

    repository = EventRepository(fixture.client, TABLE_NAME)
    account = "acc_" + "x" * 24
    now = datetime(2030, 6, 1, tzinfo=UTC)
    for day in range(EXPIRING):
        expires = (now + timedelta(days=day * 3 + 1)).strftime("%Y-%m-%dT12:00:00Z")
        body = {"name": "expiring", "scopes": ["tokens:read"], "expiresAt": expires}
        request = CreateTokenRequest.model_validate_json(json.dumps(body))
        service.create_token(fixture.repository, fixture.settings, _user(account), account, request.command())
    others = "acc_" + "y" * 24  # Fixture.copies copies an account's first token: one without expiresAt
    fixture.create(others)
    fixture.copies(others, 100 - EXPIRING - 1)
    results = {}
    costs = {}
    with measured(fixture.meter) as costs["100"]:
        results["100"] = expiry.sweep(repository, now)
    fixture.copies(others, 100_000 - 100)
    with measured(fixture.meter) as costs["100000"]:
        results["100000"] = expiry.sweep(repository, now)
    small, large = results["100"], results["100000"]
    return [
        ScaleRow(
            "expiry sweep",
            "items read",
            "100 tokens",
            "100,000 tokens",
            small.items_read,
            large.items_read,
            1.0,
            detail=f"{EXPIRING} expiring in both; {small.queries} index queries each; "
            f"notices sent {small.expiring + small.expired} then {large.expiring + large.expired} (already sent)",
        ),
        ScaleRow(
            "expiry sweep",
            "queries",
            "100 tokens",
            "100,000 tokens",
            costs["100"].operations.count("query"),
            costs["100000"].operations.count("query"),
            1.0,
        ),
    ]


def run_change_costs() -> list[dict[str, Any]]:
    """change_costs on a table of its own."""
    from moto import mock_aws

    with mock_aws():
        return change_costs(Fixture())
