"""Cascade and authorizer read figures of issue 10, on moto (counts, not timings).

- Cascading revocation: DynamoDB writes (TransactWriteItems items) and reads (Queries) per
  revoked descendant when a root with 1, 10 and 100 descendants is deleted (see DESCENDANTS). The tree is 4-ary,
  so depth grows too: the cost must depend on the number of descendants only.
- The authorizer's reads per request after rolls and cascades: exactly 1 GetItem for a token
  (accepted or refused), 0 for a malformed one.

Run alone: `.venv/bin/python bench/cascade.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from typing import Any

# 1,000 is the figure, but moto's memory grows superlinearly with the table here (about
# 410 MB at 100 descendants, over 18 GB before 1,000 finished): measured up to 100 on moto.
DESCENDANTS = (1, 10, 100)
ACCOUNT = "acc_abc123def456ghi789jkl012"
TABLE = "apitokens-bench-cascade"


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


def _environment() -> None:
    os.environ.update(
        {
            "TABLE_NAME": TABLE,
            "TOKEN_ENVIRONMENT": "live",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "MAX_TOKENS_PER_ACCOUNT": "10000",
        }
    )
    os.environ.pop("DYNAMODB_ENDPOINT_URL", None)


def run() -> dict[str, Any]:
    import boto3
    from moto import mock_aws
    from partitions import fast_moto_transactions

    from apitokens.auth.authorizer import Authorizer
    from apitokens.domain import ids, tokens
    from apitokens.domain.errors import Unauthenticated
    from apitokens.domain.records import TokenRecord
    from apitokens.settings import Settings
    from apitokens.store.repository import TokenRepository
    from apitokens_dev.template import table_create_arguments

    _environment()
    fast_moto_transactions()  # moto's rollback copy of each transaction, only what it writes
    settings = Settings.from_env(os.environ)
    results: dict[str, Any] = {"cascade": [], "authorizer_reads": {}}
    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_create_arguments(TABLE))
        repository = TokenRepository.from_settings(settings)

        def create(parent: str | None, expires_at: str | None = None) -> tuple[str, str]:
            secret = tokens.generate(settings.token_prefix)
            sid = ids.new_token_sid()
            creator = {"created_by_type": "token", "created_by_id": parent} if parent else {"created_by_id": "bench"}
            record = TokenRecord(
                sid, ACCOUNT, "bench", None, ("tokens:write",), expires_at, True, "2030-01-01T00:00:00.000Z",
                parent_sid=parent, **creator,  # type: ignore[arg-type]
            )  # fmt: skip
            repository.create(record, tokens.digest(secret), settings.max_tokens_per_account)
            return sid, secret

        calls = Calls(repository._client)  # the bench counts the repository's own calls
        for count in DESCENDANTS:
            root, _ = create(None)
            nodes = [root]
            for index in range(count):
                nodes.append(create(nodes[index // 4])[0])
            calls.reset()
            repository.delete(ACCOUNT, root, "2030-01-02T00:00:00.000Z")
            # Minus the root's own writes: its deactivation (token item, its lookup copies, its
            # event) and its deletion (the same, and the account's count).
            copies = repository.lookup_copies
            writes = calls.transaction_items - (2 + copies) - (3 + copies)
            results["cascade"].append(
                {
                    "descendants": count,
                    "transactions": calls.operations["TransactWriteItems"],
                    "writes": writes,
                    "writes_per_descendant": writes / count,
                    "queries": calls.operations["Query"],
                    "queries_per_descendant": (calls.operations["Query"] - 1) / count,
                }
            )

        authorizer = Authorizer(settings, repository, clock=lambda: 1_900_000_000.0)

        def reads(token: str) -> int:
            calls.reset()
            with contextlib.suppress(Unauthenticated):
                authorizer.token_principal(token)
            return calls.operations["GetItem"]

        from apitokens.auth.principal import Principal
        from apitokens.domain.service import roll_token
        from apitokens.wire.models import RollTokenRequest

        parent, parent_secret = create(None)
        _, child_secret = create(parent)
        user = Principal("user", "bench", frozenset({ACCOUNT}), frozenset({"tokens:write"}))
        rolled = roll_token(repository, settings, user, ACCOUNT, parent, request=RollTokenRequest())
        repository.update(ACCOUNT, rolled.record.sid, name="off", is_active=False, description=None,
                          replace_description=False, now="2030-01-02T00:00:00.000Z")  # fmt: skip
        repository.revoke_descendants(ACCOUNT, rolled.record.sid, "2030-01-02T00:00:00.000Z")
        _, fresh_secret = create(None)
        results["authorizer_reads"] = {
            "active token": reads(fresh_secret),
            "token replaced by a roll (refused)": reads(parent_secret),
            "descendant revoked by a cascade (refused)": reads(child_secret),
            "rolled token, deactivated (refused)": reads(rolled.secret),
            "malformed token (refused offline)": reads("at_live_" + "x" * 36),
            "other environment's token (refused offline)": reads(tokens.generate("at_test_")),
        }
    return results


def report_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "Cascading revocation (delete of a root; 4-ary tree; writes = TransactWriteItems items, "
        "a descendant's token item, each of its lookup copies and its event):"
    ]
    for row in results["cascade"]:
        lines.append(
            f"  {row['descendants']:>5} descendants: {row['transactions']:>4} transactions, "
            f"{row['writes_per_descendant']:.2f} writes and {row['queries_per_descendant']:.2f} Queries per descendant"
        )
    lines.append("Authorizer DynamoDB reads per request, after rolls and cascades:")
    lines += [f"  {name}: {count}" for name, count in results["authorizer_reads"].items()]
    return lines


if __name__ == "__main__":
    outcome = run()
    print("\n".join(report_lines(outcome)))
    print(json.dumps(outcome, indent=2))
