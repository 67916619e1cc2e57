"""Cascade and authorizer read figures of lineage, on moto (counts, not timings).

- Cascading revocation: DynamoDB writes (TransactWriteItems items) and reads (Queries and
  BatchGetItems) per revoked descendant when a root with 1, 10 and 1,000 descendants is deleted.
  The tree is 4-ary, so depth grows too: the cost must depend on the number of descendants only.
  Its scale row: writes per descendant at 1,000 descendants / at 1 (goal 1.0).
- The authorizer's reads per request after rolls and cascades: exactly 1 GetItem for a token
  (accepted or refused), 0 for a malformed one.

Each tree is made on a table of its own: the root and its first child through the repository
(so the items are exactly what production stores), the other descendants copied from that
child straight into moto's table (token item, lookup copies, lineage edge, the parent's
hasChildren), as bench/scale.py's Fixture.copies does. What is measured, the delete of the
root and its cascade, is the repository's own code. moto runs lean (bench/lean_moto.py): its
whole-table copies per transaction item once took this case past 18 GB.

Run alone: `.venv/bin/python bench/cascade.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from common import use_moto_environment
from lean_moto import lean_moto

from apitokens.domain.commands import UpdateToken

DESCENDANTS = (1, 10, 1_000)
FAN_OUT = 4
ACCOUNT = "acc_abc123def456ghi789jkl012"
TABLE = "apitokens-bench-cascade"
MOTO_ACCOUNT = "123456789012"  # moto's default account
# The bench's lookup copies per token (the template's default LookupCopies).
COPIES = 8
# The root's own writes around its cascade: its deactivation (token item, lookup copies, event)
# and its deletion (token item, lookup copies, event, the account's count).
ROOT_WRITES = (1 + COPIES + 1) + (1 + COPIES + 1 + 1)


class Calls:
    """Counts the DynamoDB operations a client sends, and the items of its transactions."""

    def __init__(self, client: Any) -> None:
        self.operations: Counter[str] = Counter()
        self.transaction_items = 0
        client.meta.events.register("provide-client-params.dynamodb.*", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.operations[model.name] += 1
        if model.name == "TransactWriteItems":
            self.transaction_items += len(params["TransactItems"])

    def reset(self) -> None:
        self.operations.clear()
        self.transaction_items = 0


def _copy_descendants(client: Any, first_child: str, count: int) -> None:
    """Descendants 2..count of a 4-ary tree under the root, copied from `first_child` (the
    root's first child, made by the repository) straight into moto's table."""
    from moto.dynamodb.models import dynamodb_backends

    from apitokens.domain import ids, tokens
    from apitokens.store import keys

    backend = dynamodb_backends[MOTO_ACCOUNT]["us-east-1"]
    token = client.get_item(TableName=TABLE, Key=keys.token_key(ACCOUNT, first_child))["Item"]
    root = token["parentSid"]["S"]
    lookup = client.get_item(TableName=TABLE, Key=keys.secret_key(token["secretDigest"]["S"]))["Item"]
    copies = int(token["lookupCopies"]["N"])
    nodes = [root, first_child]
    for index in range(2, count + 1):
        parent, sid = nodes[(index - 1) // FAN_OUT], ids.new_token_sid()
        digest = tokens.digest(tokens.generate("at_live_"))
        nodes.append(sid)
        lineage = {"parentSid": {"S": parent}, "createdById": {"S": parent}, "secretDigest": {"S": digest}}
        backend.put_item(TABLE, {**token, **keys.token_key(ACCOUNT, sid), "sid": {"S": sid}, **lineage})
        for key in keys.secret_copy_keys(digest, copies):
            backend.put_item(TABLE, {**lookup, **key, "tokenSid": {"S": sid}})
        edge = {
            "type": {"S": "lineage"},
            "childSid": {"S": sid},
            "childDigest": {"S": digest},
            "childCopies": {"N": str(copies)},
        }
        backend.put_item(TABLE, {**keys.lineage_key(ACCOUNT, parent, sid), **edge})
        client.update_item(
            TableName=TABLE,
            Key=keys.token_key(ACCOUNT, parent),
            UpdateExpression="SET hasChildren = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )
    client.update_item(
        TableName=TABLE,
        Key=keys.account_meta_key(ACCOUNT),
        UpdateExpression="ADD tokenCount :n",
        ExpressionAttributeValues={":n": {"N": str(count - 1)}},
    )


def _settings() -> Any:
    from apitokens.settings import Settings

    use_moto_environment(TABLE)
    return Settings.from_env(os.environ)


def _create(repository: Any, settings: Any, parent: str | None) -> tuple[str, str]:
    from apitokens.domain import ids, tokens
    from apitokens.domain.records import TokenRecord

    secret = tokens.generate(settings.token_prefix)
    sid = ids.new_token_sid()
    creator = {"created_by_type": "token", "created_by_id": parent} if parent else {"created_by_id": "bench"}
    record = TokenRecord(
        sid, ACCOUNT, "bench", None, ("tokens:write",), None, True, "2030-01-01T00:00:00.000Z",
        parent_sid=parent, **creator,  # type: ignore[arg-type]
    )  # fmt: skip
    repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
    return sid, secret


def cascade_case(count: int) -> dict[str, Any]:
    """Deletes a root with `count` descendants on a fresh table; what the delete sent."""
    import boto3
    from moto import mock_aws

    from apitokens.store.repository import TokenRepository
    from apitokens_dev.template import table_create_arguments

    settings = _settings()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_arguments(TABLE))
        repository = TokenRepository(client, TABLE, lookup_copies=COPIES)
        started = time.perf_counter()
        root, _ = _create(repository, settings, None)
        first_child, _ = _create(repository, settings, root)
        _copy_descendants(client, first_child, count)
        seeded = time.perf_counter() - started
        calls = Calls(client)
        started = time.perf_counter()
        repository.delete(ACCOUNT, root, "2030-01-02T00:00:00.000Z")
        seconds = time.perf_counter() - started
        operations, transaction_items = Counter(calls.operations), calls.transaction_items
        revoked = client.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :token)",
            FilterExpression="revokedReason = :cascade",
            ExpressionAttributeValues={
                ":pk": {"S": f"ACCOUNT#{ACCOUNT}"},
                ":token": {"S": "TOKEN#"},
                ":cascade": {"S": "parent_revoked"},
            },
            Select="COUNT",
        )["Count"]
    writes = transaction_items - ROOT_WRITES
    # The root's own Query of its children (and its GetItem) are not per descendant.
    reads = operations["Query"] - 1 + operations["BatchGetItem"]
    return {
        "descendants": count,
        "revoked": revoked,
        "transactions": operations["TransactWriteItems"] - 2,
        "writes": writes,
        "writes_per_descendant": writes / count,
        "queries": operations["Query"],
        "queries_per_descendant": (operations["Query"] - 1) / count,
        "batch_gets": operations["BatchGetItem"],
        "reads_per_descendant": reads / count,
        "seconds_seeding": seeded,
        "seconds_cascade": seconds,
    }


def authorizer_reads() -> dict[str, int]:
    """The authorizer's DynamoDB reads per request for tokens in each state a roll or a cascade
    leaves behind."""
    import boto3
    from moto import mock_aws

    from apitokens.auth.authorizer import Authorizer
    from apitokens.domain import tokens
    from apitokens.domain.errors import Unauthenticated
    from apitokens.domain.principal import Principal
    from apitokens.rules.service import roll_token
    from apitokens.store.repository import TokenRepository
    from apitokens.wire.models import RollTokenRequest
    from apitokens_dev.template import table_create_arguments

    settings = _settings()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_arguments(TABLE))
        repository = TokenRepository(client, TABLE, lookup_copies=COPIES)
        calls = Calls(client)
        authorizer = Authorizer(settings, repository, clock=lambda: 1_900_000_000.0)

        def reads(token: str) -> int:
            calls.reset()
            with contextlib.suppress(Unauthenticated):
                authorizer.token_principal(token)
            return calls.operations["GetItem"] + calls.operations["Query"] + calls.operations["BatchGetItem"]

        parent, parent_secret = _create(repository, settings, None)
        _, child_secret = _create(repository, settings, parent)
        user = Principal("user", "bench", frozenset({ACCOUNT}), frozenset({"tokens:write"}))
        rolled = roll_token(repository, settings, user, ACCOUNT, parent, request=RollTokenRequest().command())
        repository.update(ACCOUNT, rolled.record.sid, UpdateToken("off", False), now="2030-01-02T00:00:00.000Z")
        repository.revoke_descendants(ACCOUNT, rolled.record.sid, "2030-01-02T00:00:00.000Z")
        _, fresh_secret = _create(repository, settings, None)
        return {
            "active token": reads(fresh_secret),
            "token replaced by a roll (refused)": reads(parent_secret),
            "descendant revoked by a cascade (refused)": reads(child_secret),
            "rolled token, deactivated (refused)": reads(rolled.secret),
            "malformed token (refused offline)": reads("at_live_" + "x" * 36),
            "other environment's token (refused offline)": reads(tokens.generate("at_test_")),
        }


def run() -> dict[str, Any]:
    lean_moto()
    return {"cascade": [cascade_case(count) for count in DESCENDANTS], "authorizer_reads": authorizer_reads()}


def scale_row(results: dict[str, Any]) -> Any:
    """The issue-14 scale row: writes per revoked descendant, the largest case / the smallest."""
    from scale import ScaleRow

    small, large = results["cascade"][0], results["cascade"][-1]
    return ScaleRow(
        "cascade (delete of a root)",
        "writes per descendant",
        f"{small['descendants']:,} descendant",
        f"{large['descendants']:,} descendants",
        small["writes_per_descendant"],
        large["writes_per_descendant"],
        1.0,
        detail=f"reads per descendant {small['reads_per_descendant']:.2f} vs {large['reads_per_descendant']:.2f} "
        f"(Queries + BatchGetItems); {large['revoked']:,} of {large['descendants']:,} revoked",
    )


def authorizer_reads_row(results: dict[str, Any]) -> Any:
    """Exactly one read for every token, 0 for a malformed one, after rolls and cascades."""
    from scale import ScaleRow

    reads = results["authorizer_reads"]
    offline = [count for name, count in reads.items() if "offline" in name]
    stored = [count for name, count in reads.items() if "offline" not in name]
    exact = all(count == 1 for count in stored) and all(count == 0 for count in offline)

    @dataclass
    class ExactRow(ScaleRow):
        @property
        def holds(self) -> bool:  # exactly 1 and exactly 0, not merely at most
            return exact

    return ExactRow(
        "authorize after rolls and cascades",
        "reads per request",
        f"fewest, {len(stored)} token states",
        f"most, {len(stored)} token states",
        min(stored),
        max(stored),
        1.0,
        detail=f"exactly 1 for each stored token, 0 offline: {'yes' if exact else 'NO'} ({reads})",
    )


def report_lines(results: dict[str, Any]) -> list[str]:
    lines = ["Cascading revocation (delete of a root; 4-ary tree; writes = TransactWriteItems items):"]
    for row in results["cascade"]:
        lines.append(
            f"  {row['descendants']:>5,} descendants: {row['transactions']:>4} transactions, "
            f"{row['writes_per_descendant']:.2f} writes, {row['queries_per_descendant']:.2f} Queries and "
            f"{row['reads_per_descendant']:.2f} reads (Queries + BatchGetItems) per descendant; "
            f"{row['revoked']:,} revoked; cascade {row['seconds_cascade']:.1f} s on moto "
            f"(tree made in {row['seconds_seeding']:.1f} s)"
        )
    lines.append("Authorizer DynamoDB reads per request, after rolls and cascades:")
    lines += [f"  {name}: {count}" for name, count in results["authorizer_reads"].items()]
    return lines


if __name__ == "__main__":
    outcome = run()
    print("\n".join(report_lines(outcome)))
    print(json.dumps(outcome, indent=2))
