"""Lineage, cascading revocation and roll, handlers invoked on moto: what the transactions and
conditions hold. The rules themselves (who may re-activate, escalation, slots) run on the
in-memory ports (tests/unit/test_rules.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ROLL
from apitokens.settings import Settings
from apitokens.store.lineage import cascade_batch_size
from apitokens_dev.template import dynamodb_clients
from tests.harness import ACCOUNT, Functions, Reply, proxy_event, scan_table

TOKENS = "/accounts/{accountSid}/apiTokens"
WRITER = ["tokens:read", "tokens:write", "tokens:delete"]


def as_token(sid: str, scopes: list[str] = WRITER, expires_at: str | None = None) -> Principal:
    return Principal("token", sid, frozenset({ACCOUNT}), frozenset(scopes), token_sid=sid, expires_at=expires_at)


def child_of(functions: Functions, parent: dict[str, Any], **body: Any) -> dict[str, Any]:
    created = functions.create(principal=as_token(parent["sid"]), scopes=WRITER, **body)
    assert created.status == 201, created.body
    return dict(created.body)


def roll(
    functions: Functions,
    sid: str,
    body: Any = None,
    principal: Principal | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    event = proxy_event("POST", TOKENS, body=body, principal=principal, headers=headers)
    if body is None:
        event["body"] = None
    event["resource"] = ROLL
    event["path"] = f"/accounts/{ACCOUNT}/apiTokens/{sid}/roll"
    event["pathParameters"] = {"accountSid": ACCOUNT, "apiTokenSid": sid}
    return functions.invoke(event)


def family(functions: Functions) -> dict[str, dict[str, Any]]:
    """root -> child -> grandchild, plus a sibling of the root made by a user."""
    root = functions.create(scopes=WRITER).body
    child = child_of(functions, root)
    grandchild = child_of(functions, child)
    other = functions.create(scopes=WRITER).body
    return {"root": root, "child": child, "grandchild": grandchild, "other": other}


@pytest.mark.parametrize("revoke", ["delete", "deactivate"])
def test_revoking_a_token_revokes_every_descendant(functions: Functions, revoke: str) -> None:
    tree = family(functions)
    root = tree["root"]["sid"]
    if revoke == "delete":
        assert functions.delete(root).status == 200
        assert functions.get(root).status == 404
    else:
        updated = functions.update(root, {"name": "off", "isActive": False})
        assert updated.status == 200
        assert (updated.body["revokedReason"], updated.body["isActive"]) == ("revoked", False)
    for name in ("child", "grandchild"):
        got = functions.get(tree[name]["sid"]).body
        assert (got["isActive"], got["revokedReason"]) == (False, "parent_revoked"), name
        assert got["revokedAt"] is not None
        assert not functions.token_accepted(tree[name]["token"])
    assert functions.token_accepted(tree["other"]["token"])
    assert functions.get(tree["other"]["sid"]).body["isActive"] is True


def test_a_revoked_token_creates_no_more_children(functions: Functions) -> None:
    tree = family(functions)
    assert functions.update(tree["root"]["sid"], {"name": "off", "isActive": False}).status == 200
    # A request authorized just before the revocation, arriving just after it.
    late = functions.create(principal=as_token(tree["root"]["sid"]), scopes=WRITER)
    assert late.status == 403
    assert late.body["error"]["code"] == "forbidden"
    assert len(functions.list(query={"limit": "100"}).body["records"]) == 4


# The functions run with the default settings: each token has this many lookup copies.
COPIES = Settings(table_name="tokens").lookup_copies
CASCADE_BATCH = cascade_batch_size(COPIES)


def chain_and_fan(functions: Functions, fan: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    root = functions.create(scopes=WRITER).body
    descendants = [child_of(functions, root) for _ in range(fan)]
    descendants.append(child_of(functions, descendants[0]))
    return root, descendants


def test_a_cascade_larger_than_one_transaction(functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    fan = CASCADE_BATCH * 2 + 15  # more writes than one TransactWriteItems holds (100)
    root, descendants = chain_and_fan(functions, fan)
    (client,) = dynamodb_clients(vars(_module(functions, "DELETE")))
    sizes: list[int] = []
    original = client.transact_write_items

    def counting(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["TransactItems"]))
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", counting)
    assert functions.delete(root["sid"]).status == 200
    # The token item, every lookup copy and one audit event per descendant.
    assert max(sizes) <= (2 + COPIES) * CASCADE_BATCH <= 100
    assert sum(sizes) - sizes[0] - sizes[-1] == (2 + COPIES) * len(descendants)
    assert all(not functions.get(token["sid"]).body["isActive"] for token in descendants)


def _module(functions: Functions, method: str) -> Any:
    """A loaded function's module."""
    return functions.modules[(method, "/accounts/{accountSid}/apiTokens/{apiTokenSid}")]


def test_a_cascade_that_fails_between_batches_is_finished_by_a_retry(
    functions: Functions, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, descendants = chain_and_fan(functions, CASCADE_BATCH * 2 + 5)
    (client,) = dynamodb_clients(vars(_module(functions, "DELETE")))
    original = client.transact_write_items
    calls = {"n": 0}

    def failing_third(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # deactivate root, batch 1, then this: batch 2
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "TransactWriteItems")
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", failing_third)
    failed = functions.delete(root["sid"])
    assert failed.status == 503
    # The root is still there, inactive: it can create nothing more, and the retry finds it.
    assert functions.get(root["sid"]).body["isActive"] is False
    states = [functions.get(token["sid"]).body["isActive"] for token in descendants]
    assert states.count(False) == CASCADE_BATCH
    assert states.count(True) == len(descendants) - CASCADE_BATCH
    monkeypatch.setattr(client, "transact_write_items", original)
    assert functions.delete(root["sid"]).status == 200
    assert all(not functions.get(token["sid"]).body["isActive"] for token in descendants)
    assert all(not functions.token_accepted(token["token"]) for token in descendants)
    count = next(item for item in scan_table(dynamodb) if item["SK"]["S"] == "META")["tokenCount"]["N"]
    assert int(count) == len(descendants)


def test_roll_replaces_a_token_and_moves_its_children(functions: Functions) -> None:
    tree = family(functions)
    old = tree["child"]
    rolled = roll(functions, old["sid"])
    assert rolled.status == 201, rolled.body
    new = rolled.body
    assert new["rolledFrom"] == old["sid"]
    assert (new["name"], new["scopes"], new["expiresAt"]) == (old["name"], old["scopes"], old["expiresAt"])
    assert new["token"] != old["token"]
    assert functions.token_accepted(new["token"])
    assert not functions.token_accepted(old["token"])  # no grace: the old token stops now
    assert functions.get(tree["grandchild"]["sid"]).body["parentSid"] == new["sid"]
    # The grandchild now hangs from the new token: revoking it reaches the grandchild.
    assert functions.delete(new["sid"]).status == 200
    assert not functions.token_accepted(tree["grandchild"]["token"])
    again = roll(functions, old["sid"])
    assert again.status == 409
    assert again.body["error"]["code"] == "invalid_token_state"


def test_roll_with_a_grace_period_and_an_idempotency_key(functions: Functions) -> None:
    old = functions.create(scopes=WRITER, expiresAt="2031-01-01T00:00:00.000Z").body
    headers = {"Idempotency-Key": "roll-1"}
    first = roll(functions, old["sid"], {"gracePeriodSeconds": 3600}, headers=headers)
    assert first.status == 201, first.body
    assert functions.token_accepted(old["token"])
    assert functions.token_accepted(first.body["token"])
    old_now = functions.get(old["sid"]).body
    assert old_now["expiresAt"] < "2031-01-01T00:00:00.000Z"
    assert first.body["expiresAt"] == "2031-01-01T00:00:00.000Z"
    replay = roll(functions, old["sid"], {"gracePeriodSeconds": 3600}, headers=headers)
    assert replay.status == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.body["sid"] == first.body["sid"]
    assert "token" not in replay.body
    reused = roll(functions, old["sid"], {"gracePeriodSeconds": 60}, headers=headers)
    assert reused.status == 422
    assert len(functions.list(query={"limit": "100"}).body["records"]) == 2


@pytest.mark.parametrize("body", [{"gracePeriodSeconds": -1}, {"gracePeriodSeconds": 604801}, {"grace": 1}])
def test_roll_refuses_bad_bodies(functions: Functions, dynamodb: Any, body: Any) -> None:
    old = functions.create().body
    before = scan_table(dynamodb)
    refused = roll(functions, old["sid"], body)
    assert refused.status == 400
    assert scan_table(dynamodb) == before
