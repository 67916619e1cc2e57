"""The lineage stays a forest whatever the order of creates, rolls, deletes, deactivations and
leak reports, and revoking a token stops everything below it: a property test over random
sequences of requests to the handlers on moto, made by users and by the tokens themselves.

After every step: each token's parentSid chain ends at a root (no cycle), and the lineage edges a
revocation walks reach every active token below each token; after each revocation and at the end,
the authorizer refuses every token that was below the revoked one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from apitokens.domain.timeutil import format_timestamp, utcnow
from apitokens.store import keys
from apitokens_dev.moto_patches import roll_back_moto_transactions_by_item
from tests.harness import ACCOUNT, TABLE, Functions
from tests.integration.test_leak_reports import REVOKE, public_call
from tests.integration.test_lineage_and_roll import WRITER, as_token, roll
from tests.reliability.conftest import Stack, examples

ACTIONS = ("create", "create", "roll", "roll", "delete", "deactivate", "leak", "user create")
RELATIONS = ("self", "parent", "parent", "sibling", "child", "any")
STEPS = 8


class Forest:
    """The tokens one example made (sid -> value) and the table as it is now."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.functions: Functions = stack.functions
        self.secrets: dict[str, str] = {}
        self.order: list[str] = []  # sids in creation order

    def tokens(self) -> dict[str, dict[str, Any]]:
        """sid -> token item, read from the table."""
        return self.table()[0]

    def table(self) -> tuple[dict[str, dict[str, Any]], dict[str, list[tuple[str, bool]]]]:
        """The token items (sid -> item) and the lineage edges (parent -> [(child, a roll's
        pending move)]) as the table holds them now: one Query of the account's partition."""
        items: dict[str, dict[str, Any]] = {}
        edges: dict[str, list[tuple[str, bool]]] = {}
        pages = self.stack.dynamodb.get_paginator("query").paginate(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.account_pk(ACCOUNT)}},
            ConsistentRead=True,
        )
        for item in (item for page in pages for item in page["Items"]):
            kind = item.get("type", {}).get("S")
            if kind == "token" and item["accountSid"]["S"] == ACCOUNT:
                items[item["sid"]["S"]] = item
            elif kind == "lineage":
                parent = item["SK"]["S"].removeprefix(keys.CHILD_SK_PREFIX).split("#")[0]
                edges.setdefault(parent, []).append((item["childSid"]["S"], "movingFrom" in item))
        return items, edges

    @staticmethod
    def parent(item: dict[str, Any]) -> str | None:
        value = item.get("parentSid", {}).get("S")
        return None if value is None else str(value)

    def keep(self, reply: Any) -> None:
        if reply.status == 201:
            self.secrets[reply.body["sid"]] = reply.body["token"]
            self.order.append(reply.body["sid"])

    def below(self, sid: str, items: dict[str, dict[str, Any]]) -> set[str]:
        """Every token whose parentSid chain passes through `sid`."""
        found: set[str] = set()
        for other, item in items.items():
            seen: set[str] = set()
            current = self.parent(item)
            while current is not None and current in items and current not in seen:
                if current == sid:
                    found.add(other)
                    break
                seen.add(current)
                current = self.parent(items[current])
        return found

    @staticmethod
    def walked_from(sid: str, edges: dict[str, list[tuple[str, bool]]]) -> set[str]:
        """What a revocation of `sid` revokes, by the lineage edges it walks (a roll's pending
        move is walked without revoking the old token)."""
        frontier, walked, revoked = [sid], set(), set()
        while frontier:
            current = frontier.pop()
            if current in walked:
                continue
            walked.add(current)
            for child, moving in edges.get(current, []):
                frontier.append(child)
                if not moving:
                    revoked.add(child)
        return revoked

    def check(self) -> None:
        items, edges = self.table()
        for sid, item in items.items():
            chain = [sid]
            current = self.parent(item)
            while current is not None and current in items:
                assert current not in chain, f"a cycle in the lineage: {[*chain, current]}"
                chain.append(current)
                current = self.parent(items[current])
        for sid in items:
            active_below = {other for other in self.below(sid, items) if items[other]["isActive"]["BOOL"]}
            escaped = active_below - self.walked_from(sid, edges)
            assert not escaped, f"revoking {sid} would not reach {escaped}"

    def assert_stopped(self, sids: set[str]) -> None:
        working = {sid for sid in sids if sid in self.secrets and self.functions.token_accepted(self.secrets[sid])}
        assert not working, f"still accepted after their ancestor's revocation: {working}"


@dataclass(frozen=True)
class Step:
    """One request of a plan. Tokens are named by their index in creation order (modulo how
    many there are), so any plan applies to any forest."""

    action: str
    by_user: bool
    actor: int = 0
    relation: str = "any"
    target: int = 0
    grace: int = 0
    keep: bool = False


steps = st.builds(
    Step,
    action=st.sampled_from(ACTIONS),
    by_user=st.sampled_from([True, False, False]),
    actor=st.integers(0, 30),
    relation=st.sampled_from(RELATIONS),
    target=st.integers(0, 30),
    grace=st.sampled_from([0, 3600]),
    keep=st.booleans(),
)


def related(forest: Forest, roller: str, plan: Step) -> str:
    """The token a roll or revocation by `roller` targets: itself, its parent, a sibling, a
    child or any token (any, when the relation has none)."""
    items = forest.tokens()
    parent = forest.parent(items[roller]) if roller in items else None
    candidates = {
        "self": [roller],
        "parent": [parent] if parent in items else [],
        "sibling": [sid for sid, item in items.items() if parent and forest.parent(item) == parent and sid != roller],
        "child": [sid for sid, item in items.items() if forest.parent(item) == roller],
        "any": [],
    }[plan.relation] or forest.order
    return candidates[plan.target % len(candidates)]


def acting_token(forest: Forest, plan: Step) -> str | None:
    """The token that sends `plan`'s request, or None for a user. A token acts only while the
    authorizer would let it: active and not expired."""
    now = format_timestamp(utcnow())
    usable = [
        sid
        for sid, item in forest.tokens().items()
        if item["isActive"]["BOOL"] and item["expiresAt"].get("S", "9999") > now and sid in forest.secrets
    ]
    if not usable or plan.action == "user create" or plan.by_user:
        return None
    return usable[plan.actor % len(usable)]


def revoke(forest: Forest, plan: Step, target: str, principal: Any, keep: bool) -> Any:
    """The delete, deactivation or leak report of `target` that `plan` asks for."""
    functions = forest.functions
    if plan.action == "delete":
        return functions.delete(target, principal=principal, query={"keepSuccessor": "true"} if keep else None)
    if plan.action == "deactivate":
        body = {"name": "off", "isActive": False, **({"keepSuccessor": True} if keep else {})}
        return functions.update(target, body, principal=principal)
    return public_call(functions, REVOKE, json.dumps({"tokens": [forest.secrets[target]]}).encode())


def spared_by(forest: Forest, plan: Step, target: str, items: dict[str, dict[str, Any]], keep: bool) -> set[str]:
    """What a user's revocation of a rolled token leaves working: its children go to the
    successor, and the successor itself lives on unless it is the token's own child and not kept."""
    successor = items.get(target, {}).get("rolledTo", {}).get("S")
    if plan.action == "leak" or successor not in items:
        return set()
    if keep or forest.parent(items[successor]) != target:
        return {successor, *forest.below(successor, forest.tokens())}
    return set()


def step(forest: Forest, plan: Step) -> None:
    functions = forest.functions
    actor = acting_token(forest, plan)
    principal = None if actor is None else as_token(actor)
    if plan.action in ("create", "user create") or not forest.order:
        forest.keep(functions.create(principal=principal, scopes=WRITER))
        return
    target = related(forest, actor, plan) if actor else forest.order[plan.target % len(forest.order)]
    if plan.action == "roll":
        reply = roll(functions, target, {"gracePeriodSeconds": plan.grace}, principal=principal)
        event(f"roll of {plan.relation} by {'user' if actor is None else 'token'}: {reply.status}")
        forest.keep(reply)
        return
    items = forest.tokens()
    before = forest.below(target, items)
    keep = actor is None and plan.keep
    reply = revoke(forest, plan, target, principal, keep)
    event(f"{plan.action}: {reply.status}")
    if reply.status not in (200, 202):
        return
    spared = spared_by(forest, plan, target, items, keep) if actor is None else set()
    forest.assert_stopped({target, *before} - spared)


@pytest.fixture(autouse=True)
def item_wise_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's transactions as `apitokens serve` runs them: a cancelled one puts back its own
    items, instead of a copy of the whole table made for each item (the audit trail makes the
    table grow with every step)."""
    roll_back_moto_transactions_by_item(monkeypatch.setattr)


# A leaked token G escaping: G creates C, C rolls G (its parent), G is reported.
ESCAPE = [
    Step("user create", True),
    Step("create", False, actor=0),
    Step("roll", False, actor=1, relation="parent"),
    Step("leak", True, target=0),
]


@example(plan=ESCAPE)
@examples(6)
@given(plan=st.lists(steps, min_size=STEPS, max_size=STEPS))
def test_the_lineage_stays_a_forest_and_revocation_reaches_everything_below(stack: Stack, plan: list[Step]) -> None:
    stack.reset()
    forest = Forest(stack)
    for request in plan:
        step(forest, request)
        forest.check()
    items = forest.tokens()
    if items:
        # Revoking any token, last: here the first one still there.
        root = next(sid for sid in forest.order if sid in items)
        below = forest.below(root, items)
        assert forest.functions.update(root, {"name": "off", "isActive": False}).status == 200
        forest.assert_stopped({root, *below})
