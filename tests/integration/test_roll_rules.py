"""Roll's rules that its answers alone do not show (handlers on moto): the grace period is in
seconds; the old token's audit trail records that it was rolled, and to which token; an
Idempotency-Key of a roll is scoped to the token rolled; and an API token deactivating a token
that rolled itself revokes the successor with it (only a user's deactivation ends the grace
and keeps the successor)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from apitokens.domain.timeutil import format_timestamp
from tests.harness import Functions
from tests.integration.test_audit_events import events
from tests.integration.test_lineage_and_roll import WRITER, as_token, roll


def parsed(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


@pytest.mark.parametrize("grace", [1, 90, 3600])
def test_the_grace_period_is_in_seconds(functions: Functions, grace: int) -> None:
    old = functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": grace})
    assert rolled.status == 201, rolled.body
    started = parsed(rolled.body["createdAt"])
    assert functions.get(old["sid"]).body["expiresAt"] == format_timestamp(started + timedelta(seconds=grace))


def test_the_old_token_records_that_it_was_rolled(functions: Functions) -> None:
    old = functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 600})
    assert rolled.status == 201, rolled.body
    new = rolled.body
    records = events(functions, apiTokenSid=old["sid"], type="token.rolled").body["records"]
    assert len(records) == 1
    (event,) = records
    assert event["apiTokenSid"] == old["sid"]
    assert event["changes"]["rolledTo"] == {"from": None, "to": new["sid"]}
    grace_end = format_timestamp(parsed(new["createdAt"]) + timedelta(seconds=600))
    assert event["changes"]["expiresAt"] == {"from": None, "to": grace_end}
    # The successor's own trail starts with its creation, naming the token it replaced.
    created = events(functions, apiTokenSid=new["sid"], type="token.created").body["records"]
    assert len(created) == 1


def test_an_idempotency_key_of_a_roll_is_scoped_to_the_rolled_token(functions: Functions) -> None:
    first, second = (functions.create(scopes=WRITER).body for _ in range(2))
    headers = {"Idempotency-Key": "roll-same-key"}
    rolled_first = roll(functions, first["sid"], {"gracePeriodSeconds": 0}, headers=headers)
    assert rolled_first.status == 201, rolled_first.body
    rolled_second = roll(functions, second["sid"], {"gracePeriodSeconds": 0}, headers=headers)
    assert rolled_second.status == 201, rolled_second.body
    assert rolled_second.body["rolledFrom"] == second["sid"]
    assert rolled_second.body["sid"] != rolled_first.body["sid"]
    assert functions.token_accepted(rolled_second.body["token"])
    assert not functions.token_accepted(second["token"])


def test_an_api_token_deactivating_a_self_rolled_token_revokes_its_successor(functions: Functions) -> None:
    old = functions.create(scopes=WRITER).body
    rolled = roll(functions, old["sid"], {"gracePeriodSeconds": 3600}, principal=as_token(old["sid"]))
    assert rolled.status == 201, rolled.body
    new = rolled.body
    caller = functions.create(scopes=WRITER).body
    off = functions.update(old["sid"], {"name": old["name"], "isActive": False}, principal=as_token(caller["sid"]))
    assert off.status == 200, off.body
    assert not functions.token_accepted(old["token"])
    assert not functions.token_accepted(new["token"])
    after = functions.get(new["sid"]).body
    assert (after["isActive"], after["revokedReason"], after["parentSid"]) == (False, "parent_revoked", old["sid"])
