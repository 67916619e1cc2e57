"""Lookup copies together with the audit trail, handlers on moto: every copy
carries the recent clients the touch writes, each change's event lands in the same transaction
as every copy, and no transaction passes DynamoDB's 100 items at any copy count allowed."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.domain.tokens import digest
from apitokens.rules import service
from apitokens.settings import MAX_LOOKUP_COPIES, Settings
from apitokens.store import keys
from apitokens.store.lineage import TRANSACTION_ITEMS, cascade_batch_size
from apitokens.store.repository import TokenRepository
from apitokens.wire.models import CreateTokenRequest, RollTokenRequest
from apitokens_dev.template import dynamodb_clients
from tests.harness import ACCOUNT, TABLE, Functions, scan_table
from tests.integration.test_audit_events import authorize, events, usage
from tests.integration.test_lookup_copies import COPIES, assert_copies_agree, lookup_copies

WRITER = ["tokens:read", "tokens:write", "tokens:delete"]


def test_the_touch_writes_recent_clients_to_every_copy_with_the_new_ip_event(
    functions: Functions, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = functions.create(scopes=["tokens:read"]).body
    now = [2_000_000_000.0]
    functions.authorizer_instance.clock = lambda: now[0]
    (client,) = functions.clients(None)
    transactions: list[list[dict[str, Any]]] = []
    original = client.transact_write_items  # type: ignore[attr-defined]

    def recording(**kwargs: Any) -> Any:
        transactions.append(kwargs["TransactItems"])
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", recording)
    authorize(functions, created["token"], "198.51.100.7")
    now[0] += 61
    authorize(functions, created["token"], "198.51.100.8")
    items = assert_copies_agree(dynamodb, created["token"])
    assert [entry["M"]["ip"]["S"] for entry in items[0]["recentClients"]["L"]] == ["198.51.100.8", "198.51.100.7"]
    # Each touch: every copy, the token item and the token.used_from_new_ip event, in one transaction.
    assert len(transactions) == 2
    for written in transactions:
        pks = [
            next(iter(entry.values())).get("Key", next(iter(entry.values())).get("Item"))["PK"]["S"]
            for entry in written
        ]
        assert sorted(pk for pk in pks if pk.startswith("SECRET#")) == sorted(
            keys.secret_copy_pk(digest(created["token"]), copy) for copy in range(COPIES)
        )
        assert (
            sum(1 for entry in written if "Put" in entry and entry["Put"]["Item"]["SK"]["S"].startswith("EVENT#")) == 1
        )
    listed = usage(functions, created["sid"]).body
    assert [client["ip"] for client in listed["recentClients"]] == ["198.51.100.8", "198.51.100.7"]
    types = [record["type"] for record in events(functions, apiTokenSid=created["sid"]).body["records"]]
    assert types.count("token.used_from_new_ip") == 2


def test_a_failed_event_write_leaves_every_copy_as_it_was(
    functions: Functions, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = functions.create(scopes=["tokens:read"]).body
    (client,) = dynamodb_clients(vars(functions.modules[("PUT", "/accounts/{accountSid}/apiTokens/{apiTokenSid}")]))
    original = client.transact_write_items

    def event_refused(**kwargs: Any) -> Any:
        for entry in kwargs["TransactItems"]:
            if "Put" in entry and entry["Put"]["Item"]["SK"]["S"].startswith("EVENT#"):
                entry["Put"]["ConditionExpression"] = "attribute_exists(PK)"  # a fresh event never exists
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", event_refused)
    assert functions.update(created["sid"], {"name": "off", "isActive": False}).status >= 400
    assert_copies_agree(dynamodb, created["token"], isActive={"BOOL": True})


@pytest.mark.parametrize("copies", [1, 2, 8, 13, MAX_LOOKUP_COPIES])
def test_a_cascade_batch_with_its_events_fits_one_transaction(copies: int) -> None:
    batch = cascade_batch_size(copies)
    assert batch >= 1
    assert batch * (1 + copies + 1) <= TRANSACTION_ITEMS
    assert (batch + 1) * (1 + copies + 1) > TRANSACTION_ITEMS


def test_the_largest_roll_fits_one_transaction(dynamodb: Any, environment: Any, monkeypatch: Any) -> None:
    """A token created by a token, at the most copies allowed, rolled with a grace period: both
    tokens' copies, the lineage edge and guard, the count, the rolled slot and both events."""
    settings = Settings(table_name=TABLE, lookup_copies=MAX_LOOKUP_COPIES)
    repository = TokenRepository(dynamodb, TABLE, lookup_copies=MAX_LOOKUP_COPIES)
    sizes: list[int] = []
    original = dynamodb.transact_write_items

    def counting(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["TransactItems"]))
        return original(**kwargs)

    monkeypatch.setattr(dynamodb, "transact_write_items", counting)
    user = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)
    request = CreateTokenRequest.model_validate({"name": "parent", "scopes": WRITER})
    parent = service.create_token(repository, settings, user, ACCOUNT, request.command())
    as_parent = Principal(
        "token", parent.record.sid, frozenset({ACCOUNT}), frozenset(WRITER), token_sid=parent.record.sid
    )
    child = service.create_token(
        repository,
        settings,
        as_parent,
        ACCOUNT,
        CreateTokenRequest.model_validate({"name": "child", "scopes": WRITER}).command(),
    )
    grace = RollTokenRequest.model_validate({"gracePeriodSeconds": 600})
    rolled = service.roll_token(repository, settings, as_parent, ACCOUNT, child.record.sid, request=grace.command())
    assert len(lookup_copies(dynamodb, rolled.secret)) == MAX_LOOKUP_COPIES
    assert max(sizes) <= TRANSACTION_ITEMS
    assert any(size > 2 * MAX_LOOKUP_COPIES for size in sizes)  # the roll wrote both tokens' copies
    assert all(item["PK"]["S"] for item in scan_table(dynamodb))
