"""A token changes only tokens it could have created: a subset of its scopes, living no longer
than it does. That bounds a rename and a deactivation as much as a re-activation: a narrow
token (fewer scopes, or an expiry) that may write tokens gets 403 renaming or deactivating a
broader one, which stays as it was. Handlers on moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Functions, scan_table
from tests.integration.test_lineage_and_roll import WRITER, as_token

EXPIRY = "2031-01-01T00:00:00.000Z"
BROAD = [*WRITER, "buckets:read"]
# What the caller is told, whole: which scopes it lacks, or the expiry that bounds it.
REFUSALS = {
    "scopes": "These credentials cannot grant scopes they do not hold: buckets:read, tokens:delete.",
    "expiry": f"A token that expires at {EXPIRY} can only create tokens that expire no later.",
}


def narrow_and_broad(functions: Functions, narrowed_by: str) -> tuple[Any, dict[str, Any]]:
    broad = functions.create(scopes=BROAD).body
    if narrowed_by == "scopes":
        narrow = functions.create(scopes=["tokens:read", "tokens:write"]).body
        return as_token(narrow["sid"], ["tokens:read", "tokens:write"]), broad
    narrow = functions.create(scopes=BROAD, expiresAt=EXPIRY).body
    return as_token(narrow["sid"], BROAD, expires_at=EXPIRY), broad


@pytest.mark.parametrize("narrowed_by", ["scopes", "expiry"])
@pytest.mark.parametrize(
    "change", [{"name": "renamed", "isActive": True}, {"name": "CI token", "isActive": False}], ids=["rename", "off"]
)
def test_a_narrow_token_cannot_rename_or_deactivate_a_broader_one(
    functions: Functions, dynamodb: Any, narrowed_by: str, change: dict[str, Any]
) -> None:
    narrow, broad = narrow_and_broad(functions, narrowed_by)
    before = scan_table(dynamodb)
    refused = functions.update(broad["sid"], change, principal=narrow)
    assert refused.status == 403, refused.body
    assert refused.body["error"] == {"code": "insufficient_scope", "message": REFUSALS[narrowed_by]}
    assert scan_table(dynamodb) == before
    after = functions.get(broad["sid"]).body
    assert (after["name"], after["isActive"]) == ("CI token", True)
    assert functions.token_accepted(broad["token"])


def test_a_token_may_rename_and_deactivate_what_it_could_have_created(functions: Functions) -> None:
    caller = functions.create(scopes=WRITER, expiresAt=EXPIRY).body
    target = functions.create(scopes=["tokens:read"], expiresAt=EXPIRY).body
    principal = as_token(caller["sid"], WRITER, expires_at=EXPIRY)
    renamed = functions.update(target["sid"], {"name": "renamed", "isActive": True}, principal=principal)
    assert renamed.status == 200, renamed.body
    off = functions.update(target["sid"], {"name": "renamed", "isActive": False}, principal=principal)
    assert off.status == 200, off.body
    assert not functions.token_accepted(target["token"])
