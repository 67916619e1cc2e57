"""A token creates only while it may (active, not rolled, living at least as long as the child,
decided on its item at the write), and deletes only what it may deactivate. Handlers on moto."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.scopes import TOKENS
from tests.harness import Functions, scan_table
from tests.integration.test_lineage_and_roll import WRITER, as_token, roll
from tests.integration.test_lineage_forest import before_first_transaction

LATER = "2099-01-01T00:00:00.000Z"


def children_of(dynamodb: Any, sid: str) -> list[str]:
    return [
        item["sid"]["S"]
        for item in scan_table(dynamodb)
        if item.get("type", {}).get("S") == "token" and item.get("parentSid", {}).get("S") == sid
    ]


@pytest.mark.parametrize("grace", [0, 3600])
def test_a_create_racing_its_creators_roll_makes_no_child(
    functions: Functions, dynamodb: Any, monkeypatch: pytest.MonkeyPatch, grace: int
) -> None:
    """The create by P passed the authorizer and read nothing stale on purpose: P is rolled by
    its owner between the request's checks and its write. The creator guard, on P's item as it
    is at the write, refuses the child."""
    creator = functions.create(scopes=WRITER).body

    def roll_creator() -> None:
        assert roll(functions, creator["sid"], {"gracePeriodSeconds": grace}).status == 201

    before_first_transaction(monkeypatch, functions.clients("POST", TOKENS), roll_creator)
    refused = functions.create(principal=as_token(creator["sid"]), scopes=WRITER)
    assert refused.status == 403, refused.body
    assert refused.body["error"]["code"] == "forbidden"
    assert children_of(dynamodb, creator["sid"]) == []


def test_a_rolled_token_in_its_grace_creates_nothing(functions: Functions, dynamodb: Any) -> None:
    creator = functions.create(scopes=WRITER).body
    assert roll(functions, creator["sid"], {"gracePeriodSeconds": 3600}).status == 201
    assert functions.token_accepted(creator["token"])  # still works during its grace...
    refused = functions.create(principal=as_token(creator["sid"]), scopes=WRITER)
    assert refused.status == 403, refused.body  # ...but mints nothing
    assert children_of(dynamodb, creator["sid"]) == []


@pytest.mark.parametrize(
    ("child_expiry", "allowed"), [(None, False), ("2100-01-01T00:00:00.000Z", False), (LATER, True)]
)
def test_the_childs_expiry_is_bounded_by_the_creators_item(
    functions: Functions, dynamodb: Any, child_expiry: str | None, allowed: bool
) -> None:
    """The bound comes from the creator's item, not from what the request's principal says of
    it (here a principal that does not know the creator expires)."""
    creator = functions.create(scopes=WRITER, expiresAt=LATER).body
    body: dict[str, Any] = {"expiresAt": child_expiry} if child_expiry else {}
    answer = functions.create(principal=as_token(creator["sid"]), scopes=WRITER, **body)
    assert answer.status == (201 if allowed else 403), answer.body
    assert len(children_of(dynamodb, creator["sid"])) == (1 if allowed else 0)


@pytest.mark.parametrize(
    ("narrow_scopes", "narrow_expiry"),
    [
        (["tokens:read", "tokens:delete"], LATER),  # fewer scopes, and an expiry
        (WRITER, LATER),  # the same scopes, but an expiry (the broader token has none)
        (["tokens:read", "tokens:delete"], None),  # fewer scopes
    ],
)
def test_a_token_deletes_only_what_it_may_deactivate(
    functions: Functions, narrow_scopes: list[str], narrow_expiry: str | None
) -> None:
    broad = functions.create(scopes=WRITER).body
    principal = as_token("tok_" + "n" * 24, narrow_scopes, expires_at=narrow_expiry)
    deactivated = functions.update(broad["sid"], {"name": "x", "isActive": False}, principal=principal)
    deleted = functions.delete(broad["sid"], principal=principal)
    assert (deactivated.status, deleted.status) == (403, 403), (deactivated.body, deleted.body)
    assert deleted.body["error"]["code"] == "insufficient_scope"
    assert functions.get(broad["sid"]).body["isActive"] is True
    assert functions.token_accepted(broad["token"])


def test_a_token_deletes_a_token_within_its_grants(functions: Functions) -> None:
    narrow = functions.create(scopes=["tokens:read"], expiresAt="2098-01-01T00:00:00.000Z").body
    principal = as_token("tok_" + "n" * 24, WRITER, expires_at=LATER)
    assert functions.delete(narrow["sid"], principal=principal).status == 200
    assert functions.get(narrow["sid"]).status == 404
