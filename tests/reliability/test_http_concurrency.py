"""Concurrency over real HTTP: parallel requests to the local server, which runs each one in an
execution environment of its own (apitokens_dev.gateway.Function: an environment serves one
invocation at a time, and a busy function starts another, as Lambda does; the handlers built on
Powertools' resolver take turns, the authorizer runs concurrently), against a moto DynamoDB in
this process whose operations are made atomic (apitokens_dev.moto_patches.make_moto_dynamodb_atomic
says why moto needs that and real DynamoDB does not).

The service's claims under test: the per-account limit is exact however many creates race; an
update racing a delete never brings the token back; and a token used by many requests at once
gets lastUsedAt written once, not once per request. The races open their connections first
(all_at_once), so that they race requests, not connects: how the server takes a burst of new
connections is test_a_burst_of_new_connections_is_served's subject.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from apitokens.domain import tokens
from apitokens_dev import template
from tests.harness import (
    Connection,
    HttpStack,
    LocalServer,
    Reply,
    TransactionLog,
    assert_error,
    backend_class,
    consistency_problems,
    http_stack,
    leak_problems,
    token_items,
)

pytestmark = pytest.mark.e2e

PARALLEL = 32
# Each test on an account of its own, so that counts and listings are the test's alone.
LIMIT_ACCOUNT = "acc_concurrencylimit00000000"
RACE_ACCOUNT = "acc_concurrencyrace000000000"
TOUCH_ACCOUNT = "acc_concurrencytouch00000000"


def max_tokens_per_account() -> int:
    """The limit the local server runs with: MaxTokensPerAccount's default in template.yaml,
    which `apitokens serve` passes to the functions (apitokens_dev.local_env.template_environment)."""
    return int(template.load_template()["Parameters"]["MaxTokensPerAccount"]["Default"])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpStack]:
    with http_stack(tmp_path_factory, "concurrency") as stack:
        yield stack


def tokens_path(account: str, sid: str | None = None) -> str:
    return f"/accounts/{account}/apiTokens" + (f"/{sid}" if sid else "")


Call = Callable[[Connection], Reply]


def all_at_once(server: LocalServer, calls: list[Call]) -> list[Reply]:
    """Runs every call on a thread of its own, each on a connection the server has already
    accepted (http_support.Connection), all released together by a barrier."""
    connections = [Connection(server) for _ in calls]
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call: Call, connection: Connection) -> Reply:
        barrier.wait()
        return call(connection)

    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, calls, connections))
    finally:
        for connection in connections:
            connection.close()


class Overlap:
    """Proof that the server runs requests concurrently: the first two TransactWriteItems that
    reach moto wait for each other (before moto's lock) and only go on once both are in flight.
    A server that ran one request at a time would never bring two there together; then the wait
    times out and `seen` stays False."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self.seen = False
        self._meeting = threading.Barrier(2, timeout=10)
        self._arrivals = 0
        self._lock = threading.Lock()
        original = backend_class().transact_write_items

        def meet(backend: Any, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._arrivals += 1
                first_two = self._arrivals <= 2
            if first_two:
                try:
                    self._meeting.wait()
                    self.seen = True
                except threading.BrokenBarrierError:
                    pass
            return original(backend, *args, **kwargs)

        patch.setattr(backend_class(), "transact_write_items", meet)


def record_secrets(server: LocalServer, replies: list[Reply]) -> None:
    server.secrets.extend(reply.body["token"] for reply in replies if reply.status == 201)


def test_parallel_creates_at_the_limit_leave_exactly_the_limit(api: HttpStack, monkeypatch: pytest.MonkeyPatch) -> None:
    server = api.server
    limit = max_tokens_per_account()
    assert limit == 100
    jwt = server.jwt("--account", LIMIT_ACCOUNT)
    free = PARALLEL // 2
    for number in range(limit - free):
        server.create_token(jwt, LIMIT_ACCOUNT, name=f"before {number}")
    overlap = Overlap(monkeypatch)

    def create(number: int) -> Call:
        body = {"name": f"racer {number}", "scopes": ["tokens:read"]}
        return lambda connection: connection.request("POST", tokens_path(LIMIT_ACCOUNT), token=jwt, body=body)

    replies = all_at_once(server, [create(number) for number in range(PARALLEL)])
    record_secrets(server, replies)

    assert overlap.seen, "no two creates were ever in flight together: the server ran them one at a time"
    assert Counter(reply.status for reply in replies) == {201: free, 409: PARALLEL - free}
    for number, reply in enumerate(replies):
        if reply.status == 201:
            # Each answer is its own request's, never a concurrent request's.
            assert reply.body["name"] == f"racer {number}"
            assert tokens.is_well_formed(reply.body["token"], "at_test_")
        else:
            assert_error(reply, 409, "token_limit_reached")
    _assert_account_holds_exactly(api, jwt, limit, {reply.body["sid"] for reply in replies if reply.status == 201})
    again = server.request(
        "POST", tokens_path(LIMIT_ACCOUNT), token=jwt, body={"name": "one more", "scopes": ["tokens:read"]}
    )
    assert_error(again, 409, "token_limit_reached")


def _assert_account_holds_exactly(api: HttpStack, jwt: str, limit: int, created: set[str]) -> None:
    """The limit account lists `limit` tokens, `created` among them, and its table items agree."""
    listed = api.server.request("GET", tokens_path(LIMIT_ACCOUNT) + "?limit=100", token=jwt)
    assert listed.status == 200, listed.text
    assert len(listed.body["records"]) == limit
    assert listed.body["hasMore"] is False
    assert created <= {record["sid"] for record in listed.body["records"]}

    items = api.items()
    meta = next(item for item in items if item["PK"]["S"] == f"ACCOUNT#{LIMIT_ACCOUNT}" and item["SK"]["S"] == "META")
    assert int(meta["tokenCount"]["N"]) == limit
    assert len([item for item in token_items(items) if item["accountSid"]["S"] == LIMIT_ACCOUNT]) == limit
    assert consistency_problems(items) == []  # every token has its lookup item, and the counts agree


def test_parallel_update_and_delete_never_resurrect_a_token(api: HttpStack) -> None:
    server = api.server
    jwt = server.jwt("--account", RACE_ACCOUNT)
    created = [server.create_token(jwt, RACE_ACCOUNT, name=f"raced {number}") for number in range(20)]

    def update(sid: str, number: int) -> Call:
        body = {"name": f"renamed {number}", "isActive": True}
        return lambda connection: connection.request("PUT", tokens_path(RACE_ACCOUNT, sid), token=jwt, body=body)

    def delete(sid: str) -> Call:
        return lambda connection: connection.request("DELETE", tokens_path(RACE_ACCOUNT, sid), token=jwt)

    kinds: list[str] = []
    calls: list[Call] = []
    for number, token in enumerate(created):
        pair = {"update": update(token["sid"], number), "delete": delete(token["sid"])}
        for kind in ("update", "delete") if number % 2 else ("delete", "update"):
            kinds.append(kind)
            calls.append(pair[kind])
    replies = all_at_once(server, calls)

    updates = [reply for reply, kind in zip(replies, kinds, strict=True) if kind == "update"]
    deletes = [reply for reply, kind in zip(replies, kinds, strict=True) if kind == "delete"]
    for reply in deletes:
        assert reply.status == 200, reply.text
        assert reply.body["deleted"] is True
    for reply in updates:
        if reply.status == 200:
            assert reply.body["isActive"] is True
        else:
            assert_error(reply, 404, "not_found")  # the delete came first

    _assert_all_gone(api, jwt, created)


def _assert_all_gone(api: HttpStack, jwt: str, created: list[dict[str, Any]]) -> None:
    """No item, answer or authorization is left of the race account's deleted tokens."""
    items = api.items()
    keys = {(item["PK"]["S"], item["SK"]["S"]) for item in items}
    for token in created:
        assert (f"ACCOUNT#{RACE_ACCOUNT}", f"TOKEN#{token['sid']}") not in keys
        assert (f"SECRET#{tokens.digest(token['token'])}", "SECRET") not in keys
        got = api.server.request("GET", tokens_path(RACE_ACCOUNT, token["sid"]), token=jwt)
        assert_error(got, 404, "not_found")
        refused = api.server.request("GET", tokens_path(RACE_ACCOUNT), token=token["token"])
        assert_error(refused, 401, "unauthorized")
    assert consistency_problems(api.items()) == []  # tokenCount is the number of token items left (none)
    meta = next(item for item in items if item["PK"]["S"] == f"ACCOUNT#{RACE_ACCOUNT}" and item["SK"]["S"] == "META")
    assert int(meta["tokenCount"]["N"]) == 0


def _touches(digest: str) -> Callable[[list[dict[str, Any]]], bool]:
    """Whether a transaction sets lastUsedAt on the lookup item of this secret digest."""

    def touches(transact_items: list[dict[str, Any]]) -> bool:
        return any(
            "lastUsedAt" in item.get("Update", {}).get("UpdateExpression", "")
            and item["Update"]["Key"]["PK"].get("S") == f"SECRET#{digest}"
            for item in transact_items
        )

    return touches


def test_parallel_uses_of_one_token_write_last_used_at_once(api: HttpStack, monkeypatch: pytest.MonkeyPatch) -> None:
    server = api.server
    jwt = server.jwt("--account", TOUCH_ACCOUNT)
    token = server.create_token(jwt, TOUCH_ACCOUNT, name="busy", scopes=["tokens:read"])
    digest = tokens.digest(token["token"])
    log = TransactionLog(monkeypatch)

    path = tokens_path(TOUCH_ACCOUNT, token["sid"])
    use: Call = lambda connection: connection.request("GET", path, token=token["token"])  # noqa: E731
    replies = all_at_once(server, [use] * PARALLEL)

    assert [reply.status for reply in replies] == [200] * PARALLEL, [
        reply.text for reply in replies if reply.status != 200
    ]
    written = log.committed(_touches(digest))
    assert len(written) == 1, f"{len(written)} lastUsedAt writes for {PARALLEL} uses within a minute"
    items = {(item["PK"]["S"], item["SK"]["S"]): item for item in api.items()}
    token_item = items[(f"ACCOUNT#{TOUCH_ACCOUNT}", f"TOKEN#{token['sid']}")]
    lookup_item = items[(f"SECRET#{digest}", "SECRET")]
    stamped = written[0].items[0]["Update"]["ExpressionAttributeValues"][":now"]["S"]
    assert token_item["lastUsedAt"] == {"S": stamped}
    assert lookup_item["lastUsedAt"] == {"S": stamped}
    got = server.request("GET", path, token=jwt)
    assert got.body["lastUsedAt"] == stamped
    assert consistency_problems(list(items.values())) == []


BURST_ACCOUNT = "acc_concurrencyburst00000000"
BURST = 64  # within the per-account limit: each create must succeed


def test_a_burst_of_new_connections_is_served(api: HttpStack) -> None:
    """64 clients that each open a new connection at the same moment (the races above open
    theirs beforehand) all get an answer, as API Gateway's clients do. Each creates a token on an
    empty account, so each must get a 201. (A connection the server never accepted is reset:
    the request got no answer, and the server never saw it.)"""
    server = api.server
    jwt = server.jwt("--account", BURST_ACCOUNT)
    barrier = threading.Barrier(BURST, timeout=60)

    def create(number: int) -> Reply | str:
        barrier.wait()
        body = {"name": f"burst {number}", "scopes": ["tokens:read"]}
        try:
            return server.request("POST", tokens_path(BURST_ACCOUNT), token=jwt, body=body)
        except OSError as error:  # a reset connection: the request never had an answer
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        outcomes = list(pool.map(create, range(BURST)))
    replies = [outcome for outcome in outcomes if isinstance(outcome, Reply)]
    record_secrets(server, replies)
    failures = [outcome for outcome in outcomes if not isinstance(outcome, Reply)]
    assert failures == [], f"{len(failures)} of {BURST} connections got no answer: {Counter(failures)}"
    assert Counter(reply.status for reply in replies) == {201: BURST}


def test_after_the_races_the_table_is_consistent_and_holds_no_secret(api: HttpStack) -> None:
    items = api.items()
    assert consistency_problems(items) == []
    assert leak_problems(api.server, items) == []
