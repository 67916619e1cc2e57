"""Fault injection on moto: each DynamoDB call of each function fails in each way DynamoDB fails.

Table-driven over (operation, DynamoDB call, error). An injected error is what the client raises
once its own retries are spent (botocore's before-call event answers for the call, which never
reaches moto); the tests at the end show those retries on the wire. After every failure:

- the answer is the documented one (503 + Retry-After for throttling, server errors and lost
  connections; 409 + Retry-After for a transaction conflict; 404 when a conditional write finds
  the token gone; 409 token_limit_reached when the account's count refuses a create), in the
  error envelope, with nothing of the driver's error in it;
- an error answer changed nothing in the table (no partial state, no half-finished transaction,
  no idempotency record left behind), and the table's invariants hold: every token item has its
  lookup item and the other way round, both agree, and each META tokenCount is the account's
  number of token items;
- once the fault is gone, the same request succeeds: the service keeps working.

The authorizer fails closed when its read fails and authorizes anyway when only its lastUsedAt
bookkeeping write fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from apitokens.domain.scopes import ROUTES
from apitokens.domain.tokens import digest
from apitokens.store import driver
from apitokens_dev import iam
from tests.harness import (
    ACCOUNT,
    LEAK_MARKER,
    OTHER_ACCOUNT,
    TABLE,
    TOKEN,
    TOKENS,
    Error,
    Functions,
    Reply,
    Wiring,
    authorizer_event,
    changes,
    consistency_problems,
    method_arn,
    snapshot,
    throttled,
    timed_out,
    token_items,
    unreachable,
)
from tests.reliability.conftest import Stack

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"
GET_ITEM, QUERY, PUT_ITEM, UPDATE_ITEM, TRANSACT = "GetItem", "Query", "PutItem", "UpdateItem", "TransactWriteItems"

# Every way a call fails that means "DynamoDB is unavailable; retry".
UNAVAILABLE = (
    Error("throttling", "ThrottlingException"),
    Error("provisioned_throughput_exceeded", "ProvisionedThroughputExceededException"),
    Error("internal_server_error", "InternalServerError", status=500),
    Error("endpoint_connection_error", exception=lambda: EndpointConnectionError(endpoint_url=ENDPOINT)),
    Error("read_timeout", exception=lambda: ReadTimeoutError(endpoint_url=ENDPOINT)),
)


def cancelled(name: str, *reasons: str) -> Error:
    return Error(name, "TransactionCanceledException", reasons=reasons)


def transaction_unavailable(size: int) -> tuple[Error, ...]:
    """Transaction-only failures that also mean "retry later"."""
    return (
        Error("transaction_in_progress", "TransactionInProgressException"),
        cancelled("cancelled_throttled", *(["ThrottlingError"] + ["None"] * (size - 1))),
    )


@dataclass(frozen=True)
class Expect:
    status: int
    code: str
    retry_after: bool


SERVICE_UNAVAILABLE = Expect(503, "service_unavailable", retry_after=True)
CONFLICT = Expect(409, "conflict", retry_after=True)
NOT_FOUND = Expect(404, "not_found", retry_after=False)
LIMIT_REACHED = Expect(409, "token_limit_reached", retry_after=False)
# The write committed before the failure: either the caller gets the token (and its secret), or
# an error with nothing changed. An error after a commit loses the secret and leaves an orphan.
COMMITTED_OR_UNTOUCHED = Expect(201, "", retry_after=False)


@dataclass
class World:
    """The table before the fault: a target token and its neighbours in two accounts."""

    functions: Functions
    dynamodb: Any
    sid: str
    secret: str


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    resource: str
    calls: tuple[str, ...]  # the DynamoDB calls of a successful request, in order
    success: int
    run: Callable[[World], Reply]
    # Errors of its TransactWriteItems' cancellation reasons, with the answer each deserves.
    cancellations: tuple[tuple[Error, Expect], ...] = ()


IDEMPOTENCY_KEY = "retry-me-7"

OPERATIONS = (
    Operation(
        "create",
        "POST",
        TOKENS,
        (TRANSACT,),
        201,
        lambda world: world.functions.create(ACCOUNT, name="new"),
        (
            # [account count, token item, lookup item]
            (cancelled("count_condition_failed", "ConditionalCheckFailed", "None", "None"), LIMIT_REACHED),
            (cancelled("token_item_exists", "None", "ConditionalCheckFailed", "None"), CONFLICT),
            (cancelled("conflict_on_count", "TransactionConflict", "None", "None"), CONFLICT),
            (cancelled("conflict_on_lookup", "None", "None", "TransactionConflict"), CONFLICT),
        ),
    ),
    Operation(
        "create_with_idempotency_key",
        "POST",
        TOKENS,
        (PUT_ITEM, TRANSACT, UPDATE_ITEM),
        201,
        lambda world: world.functions.create(ACCOUNT, name="new", idempotency_key=IDEMPOTENCY_KEY),
        (
            (cancelled("count_condition_failed", "ConditionalCheckFailed", "None", "None"), LIMIT_REACHED),
            (cancelled("conflict_on_token", "None", "TransactionConflict", "None"), CONFLICT),
        ),
    ),
    Operation("get", "GET", TOKEN, (GET_ITEM,), 200, lambda world: world.functions.get(world.sid)),
    Operation("list", "GET", TOKENS, (QUERY,), 200, lambda world: world.functions.list(ACCOUNT, query={"limit": "1"})),
    Operation(
        "update",
        "PUT",
        TOKEN,
        (GET_ITEM, TRANSACT),
        200,
        lambda world: world.functions.update(world.sid, {"name": "renamed", "isActive": False, "description": "d"}),
        (
            # [token item, lookup item]
            (cancelled("token_deleted_meanwhile", "ConditionalCheckFailed", "None"), NOT_FOUND),
            (cancelled("conflict_on_token", "TransactionConflict", "None"), CONFLICT),
            (cancelled("conflict_on_lookup", "None", "TransactionConflict"), CONFLICT),
        ),
    ),
    Operation(
        "delete",
        "DELETE",
        TOKEN,
        (GET_ITEM, TRANSACT),
        200,
        lambda world: world.functions.delete(world.sid),
        (
            # [token item, lookup item, account count]
            (cancelled("token_deleted_meanwhile", "ConditionalCheckFailed", "None", "None"), NOT_FOUND),
            (cancelled("conflict_on_token", "TransactionConflict", "None", "None"), CONFLICT),
            (cancelled("conflict_on_count", "None", "None", "TransactionConflict"), CONFLICT),
        ),
    ),
)
_TRANSACTION_SIZE = {"create": 3, "create_with_idempotency_key": 3, "update": 2, "delete": 3}


def _expectation(operation: Operation, call: str) -> Expect:
    if operation.name == "create_with_idempotency_key" and call == UPDATE_ITEM:
        return COMMITTED_OR_UNTOUCHED  # the token is written before the idempotency record completes
    return SERVICE_UNAVAILABLE


@dataclass(frozen=True)
class Case:
    operation: Operation
    call: str
    error: Error
    expect: Expect


def handler_cases() -> Iterator[Any]:
    for operation in OPERATIONS:
        for call in operation.calls:
            errors = [(error, _expectation(operation, call)) for error in UNAVAILABLE]
            if call == TRANSACT:
                size = _TRANSACTION_SIZE[operation.name]
                errors += [(error, SERVICE_UNAVAILABLE) for error in transaction_unavailable(size)]
                errors += list(operation.cancellations)
            for error, expect in errors:
                case = Case(operation, call, error, expect)
                yield pytest.param(case, id=f"{operation.name}-{call}-{error.name}")


HANDLER_CASES = list(handler_cases())


@pytest.fixture
def world(stack: Stack) -> World:
    stack.reset()
    functions = stack.functions
    target = functions.create(ACCOUNT, name="target", scopes=("tokens:read", "tokens:write"))
    assert target.status == 201, target.body
    assert functions.create(ACCOUNT, name="neighbour").status == 201
    assert functions.create(OTHER_ACCOUNT, name="other account").status == 201
    return World(functions, stack.dynamodb, target.body["sid"], target.body["token"])


def assert_error_envelope(reply: Reply, expect: Expect, secrets: list[str]) -> None:
    assert reply.status == expect.status, reply.body
    assert set(reply.body) == {"error"}
    assert reply.body["error"]["code"] == expect.code
    assert isinstance(reply.body["error"]["message"], str)
    assert reply.body["error"]["message"]
    assert set(reply.body["error"]) <= {"code", "message", "details"}
    if expect.retry_after:
        assert int(reply.headers["retry-after"]) >= 1
    else:
        assert "retry-after" not in reply.headers
    # Nothing of the driver's error, no trace, no secret.
    for leak in (LEAK_MARKER, "Traceback", "botocore", "ClientError", "Exception", "dynamodb", *secrets):
        assert leak not in reply.text, leak


@pytest.mark.parametrize("case", HANDLER_CASES)
def test_handler_faults(world: World, wiring: Wiring, case: Case) -> None:
    operation, call, expect = case.operation, case.call, case.expect
    clients = world.functions.clients(operation.method, operation.resource)
    assert clients, f"no DynamoDB client found in the {operation.name} function"
    before = snapshot(world.dynamodb)

    fault = wiring.fail(clients, call, case.error)
    reply = operation.run(world)
    fault.clear()
    assert fault.calls >= 1, f"{operation.name} made no {call} call"
    after = snapshot(world.dynamodb)
    assert consistency_problems(after) == []

    if expect is COMMITTED_OR_UNTOUCHED and reply.status == 201:
        # The caller holds the secret of the token that was written.
        (written,) = [item for item in token_items(after) if item["sid"]["S"] == reply.body["sid"]]
        assert written["secretDigest"]["S"] == digest(reply.body["token"])
        return
    assert_error_envelope(reply, SERVICE_UNAVAILABLE if expect is COMMITTED_OR_UNTOUCHED else expect, [world.secret])
    changed = changes(before, after)
    assert not changed, f"{reply.status} {reply.body} but the table changed: {'; '.join(changed)}"

    # The fault is gone: the same request (the same Idempotency-Key) now succeeds.
    retried = operation.run(world)
    assert retried.status == operation.success, retried.body
    assert consistency_problems(snapshot(world.dynamodb)) == []


AUTHORIZER_TOUCH_CANCELLATIONS = (
    # [lookup item (lastUsedAt older than the cutoff), token item]
    cancelled("touched_concurrently", "ConditionalCheckFailed", "None"),
    cancelled("token_deleted_meanwhile", "None", "ConditionalCheckFailed"),
    cancelled("conflict", "TransactionConflict", "None"),
)


def authorizer_cases() -> Iterator[Any]:
    for error in UNAVAILABLE:
        yield pytest.param(GET_ITEM, error, id=f"authorize-{GET_ITEM}-{error.name}")
    for error in (*UNAVAILABLE, *transaction_unavailable(2), *AUTHORIZER_TOUCH_CANCELLATIONS):
        yield pytest.param(TRANSACT, error, id=f"authorize-{TRANSACT}-{error.name}")


AUTHORIZER_CASES = list(authorizer_cases())


def last_used(dynamodb: Any, sid: str) -> list[Any]:
    """lastUsedAt of the token item and of its lookup item."""
    items = snapshot(dynamodb)
    token = next(item for item in token_items(items) if item["sid"]["S"] == sid)
    lookup = next(item for item in items if item["PK"]["S"] == "SECRET#" + token["secretDigest"]["S"])
    return [item.get("lastUsedAt", {}).get("S") for item in (token, lookup)]


@pytest.mark.parametrize(("call", "error"), AUTHORIZER_CASES)
def test_authorizer_faults(world: World, wiring: Wiring, call: str, error: Error) -> None:
    route = ROUTES[0]
    event = authorizer_event(f"Bearer {world.secret}", route)
    clients = world.functions.clients(None)
    assert clients, "no DynamoDB client found in the authorizer"
    before = snapshot(world.dynamodb)

    fault = wiring.fail(clients, call, error)
    try:
        if call == GET_ITEM:
            # Fails closed: an error that is not API Gateway's "Unauthorized" (401) becomes
            # AUTHORIZER_FAILURE (503); never an allow.
            with pytest.raises(Exception) as raised:  # noqa: PT011 - any exception but "Unauthorized"
                world.functions.authorize(event)
            assert not (type(raised.value) is Exception and str(raised.value) == "Unauthorized")
            assert LEAK_MARKER not in str(raised.value)
        else:
            # lastUsedAt is bookkeeping: its failure never fails the request.
            decision = world.functions.authorize(event)
            assert decision["principalId"] == world.sid
            assert iam.is_allowed(decision["policyDocument"], method_arn(route, ACCOUNT))
            assert not iam.is_allowed(decision["policyDocument"], method_arn(route, OTHER_ACCOUNT))
    finally:
        fault.clear()
    assert fault.calls == 1
    assert changes(before, snapshot(world.dynamodb)) == []
    assert consistency_problems(before) == []
    assert last_used(world.dynamodb, world.sid) == [None, None]

    # The fault is gone: the next request is authorized and records lastUsedAt on both items.
    assert world.functions.authorize(event)["principalId"] == world.sid
    assert consistency_problems(snapshot(world.dynamodb)) == []
    assert None not in last_used(world.dynamodb, world.sid)


# -- the table of cases covers every call ----------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS])
def test_the_cases_cover_every_dynamodb_call_of_each_operation(
    world: World, wiring: Wiring, operation: Operation
) -> None:
    recorder = wiring.record(world.functions.clients(operation.method, operation.resource))
    reply = operation.run(world)
    recorder.clear()
    assert reply.status == operation.success, reply.body
    assert recorder.operations == list(operation.calls)


def test_the_cases_cover_every_dynamodb_call_of_the_authorizer(world: World, wiring: Wiring) -> None:
    recorder = wiring.record(world.functions.clients(None))
    world.functions.authorize(authorizer_event(f"Bearer {world.secret}", ROUTES[0]))
    recorder.clear()
    assert recorder.operations == [GET_ITEM, TRANSACT]


def test_injected_errors_look_like_real_ones(stack: Stack, wiring: Wiring) -> None:
    """The synthetic TransactionCanceledException is the one botocore makes of DynamoDB's answer
    (here moto's), so the repository reads its cancellation reasons the same way."""
    item = {"PK": {"S": "ACCOUNT#x"}, "SK": {"S": "TOKEN#y"}}
    request: dict[str, Any] = {
        "TransactItems": [
            {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": TABLE, "Item": {**item, "SK": {"S": "TOKEN#z"}}}},
        ]
    }
    stack.reset()
    stack.dynamodb.put_item(TableName=TABLE, Item=item)
    with pytest.raises(ClientError) as real:
        stack.dynamodb.transact_write_items(**request)
    wiring.fail([stack.dynamodb], TRANSACT, cancelled("synthetic", "ConditionalCheckFailed", "None"))
    with pytest.raises(ClientError) as synthetic:
        stack.dynamodb.transact_write_items(**request)
    wiring.clear()
    stack.reset()
    assert type(synthetic.value) is type(real.value)
    assert synthetic.value.response["Error"]["Code"] == real.value.response["Error"]["Code"]
    assert set(synthetic.value.response) == set(real.value.response)
    assert [set(reason) for reason in synthetic.value.response["CancellationReasons"]] == [
        set(reason) for reason in real.value.response["CancellationReasons"]
    ]
    assert (
        driver.cancellation_codes(synthetic.value)
        == driver.cancellation_codes(real.value)
        == ["ConditionalCheckFailed", "None"]
    )


# -- the client's own retries, on the wire -----------------------------------------------------------


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's backoff sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", slept.append)
    return slept


MAX_ATTEMPTS = 3  # store/driver.create_client: retries in standard mode, three attempts in all


def test_a_persistently_throttled_read_is_retried_then_answers_503(
    world: World, wiring: Wiring, backoffs: list[float]
) -> None:
    (client,) = world.functions.clients("GET", TOKEN)
    wire = wiring.on_the_wire(client, GET_ITEM, failures=MAX_ATTEMPTS, fail=throttled)
    reply = world.functions.get(world.sid)
    wire.clear()
    assert len(wire.attempts) == MAX_ATTEMPTS
    assert len(backoffs) == MAX_ATTEMPTS - 1
    assert_error_envelope(reply, SERVICE_UNAVAILABLE, [world.secret])


def test_a_throttle_that_passes_is_absorbed_by_the_retries(world: World, wiring: Wiring, backoffs: list[float]) -> None:
    (client,) = world.functions.clients("GET", TOKEN)
    wire = wiring.on_the_wire(client, GET_ITEM, failures=MAX_ATTEMPTS - 1, fail=throttled)
    reply = world.functions.get(world.sid)
    wire.clear()
    assert reply.status == 200
    assert reply.body["sid"] == world.sid
    assert len(wire.attempts) == MAX_ATTEMPTS


def test_timeouts_on_a_create_are_retried_and_create_one_token(
    world: World, wiring: Wiring, backoffs: list[float]
) -> None:
    (client,) = world.functions.clients("POST", TOKENS)
    wire = wiring.on_the_wire(client, TRANSACT, failures=MAX_ATTEMPTS - 1, fail=timed_out)
    reply = world.functions.create(ACCOUNT, name="after timeouts")
    wire.clear()
    assert reply.status == 201, reply.body
    assert len(wire.attempts) == MAX_ATTEMPTS
    items = snapshot(world.dynamodb)
    assert [item["sid"]["S"] for item in token_items(items)].count(reply.body["sid"]) == 1
    assert consistency_problems(items) == []
    # Every attempt carries the same ClientRequestToken: had an attempt committed before its
    # answer was lost, DynamoDB would treat the retry as the same transaction, not a second one.
    request_tokens = {attempt.get("ClientRequestToken") for attempt in wire.attempts}
    assert len(request_tokens) == 1
    assert None not in request_tokens


def test_a_create_that_never_reaches_dynamodb_answers_503_and_writes_nothing(
    world: World, wiring: Wiring, backoffs: list[float]
) -> None:
    (client,) = world.functions.clients("POST", TOKENS)
    before = snapshot(world.dynamodb)
    wire = wiring.on_the_wire(client, TRANSACT, failures=MAX_ATTEMPTS, fail=unreachable)
    reply = world.functions.create(ACCOUNT, name="unreachable")
    wire.clear()
    assert len(wire.attempts) == MAX_ATTEMPTS
    assert_error_envelope(reply, SERVICE_UNAVAILABLE, [world.secret])
    assert changes(before, snapshot(world.dynamodb)) == []
