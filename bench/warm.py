"""Warm invocations: a handler called again and again with DynamoDB answered by botocore's
Stubber (the authorizer's own client by its TransportStub: the request built, signed and parsed,
the socket skipped), side by side with one stubbed GetItem on a boto3 client configured as the
functions' (the unit of every warm figure).

Runs as its own interpreter (`python bench/warm.py OUTPUT.json`, started by run.py), so the heap
holds the handlers and little else, as in a Lambda worker; what setup leaves behind (moto) is
frozen out of the garbage collector's way before anything is timed.

What each handler sends to DynamoDB is not assumed: it is recorded once against moto (real
semantics, a real table from template.yaml), and exactly those responses are queued on the
Stubber before every batch, outside the timed loop. Batches of the candidate and of the
baseline alternate; a figure is the median over batches of the time per call.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import gc
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from common import AUTHORIZER, EVENTS, TABLE_NAME, CountingSink, lambda_context, lambda_environment, median

Response = tuple[str, dict[str, Any]]  # (botocore method name, parsed response)
Call = tuple[str, dict[str, Any]]  # (botocore method name, request parameters)


@dataclass
class Timing:
    """Per-call times of each batch, on the thread's CPU clock (the figure: time the process
    was descheduled on a shared machine does not count) and on the wall clock (beside it)."""

    candidate_ns: list[float] = field(default_factory=list)
    baseline_ns: list[float] = field(default_factory=list)
    candidate_wall_ns: list[float] = field(default_factory=list)
    baseline_wall_ns: list[float] = field(default_factory=list)
    lines_per_call: float = 0.0
    bytes_per_call: float = 0.0

    @property
    def candidate(self) -> float:
        return median(self.candidate_ns)

    @property
    def baseline(self) -> float:
        return median(self.baseline_ns)

    @property
    def ratio(self) -> float:
        return self.candidate / self.baseline

    @property
    def wall_ratio(self) -> float:
        if not self.candidate_wall_ns or not self.baseline_wall_ns:
            return self.ratio
        return median(self.candidate_wall_ns) / median(self.baseline_wall_ns)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def with_authorization(event: dict[str, Any], value: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["headers"]["Authorization"] = value
    event["multiValueHeaders"]["Authorization"] = [value]
    return event


def for_token(event: dict[str, Any], sid: str) -> dict[str, Any]:
    """The events/ example aimed at token `sid` of the example's account."""
    event = copy.deepcopy(event)
    old = event["pathParameters"]["apiTokenSid"]
    event["pathParameters"]["apiTokenSid"] = sid
    event["path"] = event["path"].replace(old, sid)
    return event


def load_function(function: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The handler as the tests load it (from template.yaml's CodeUri) and its module namespace."""
    from apitokens_dev.template import api_routes, default_authorizer, load_module

    locations = [(route.code_uri, route.handler) for route in api_routes()]
    _, code_uri, handler_name = default_authorizer()
    locations.append((code_uri, handler_name))
    for directory, name in locations:
        if directory.name == function:
            module = load_module(directory, name)
            return getattr(module, name.rpartition(".")[2]), vars(module)
    raise LookupError(f"template.yaml has no function in functions/{function}")


def find_client(namespace: dict[str, Any]) -> Any:
    """The one DynamoDB client the module's own objects hold (a repository's)."""
    from apitokens_dev.template import dynamodb_clients

    found = dynamodb_clients(namespace)
    if len(found) != 1:
        raise LookupError(f"expected one DynamoDB client in the handler module, found {len(found)}")
    return found[0]


def record_calls(client: Any, call: Callable[[], Any]) -> tuple[Any, list[Response], list[Call]]:
    """Runs `call` (against moto) and returns its result, the DynamoDB responses it got and the
    requests it made."""
    from botocore import xform_name

    from apitokens.store.dynamodb_http import HttpDynamoDBClient

    if isinstance(client, HttpDynamoDBClient):
        return _record_http_calls(client, call)

    recorded: list[Response] = []
    requests: list[Call] = []

    def provide_params(model: Any, params: dict[str, Any], **_: Any) -> None:
        requests.append((xform_name(model.name), copy.deepcopy(params)))

    def after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        body = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
        recorded.append((xform_name(model.name), copy.deepcopy(body)))

    client.meta.events.register("provide-client-params.dynamodb", provide_params, unique_id="bench-requests")
    client.meta.events.register("after-call.dynamodb", after_call, unique_id="bench-recorder")
    try:
        result = call()
    finally:
        client.meta.events.unregister("after-call.dynamodb", unique_id="bench-recorder")
        client.meta.events.unregister("provide-client-params.dynamodb", unique_id="bench-requests")
    return result, recorded, requests


def _record_http_calls(client: Any, call: Callable[[], Any]) -> tuple[Any, list[Response], list[Call]]:
    """record_calls for the authorizer's HttpDynamoDBClient (no botocore events): its `call`."""
    from botocore import xform_name

    recorded: list[Response] = []
    requests: list[Call] = []
    original = client.call

    def recording(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        requests.append((xform_name(operation), copy.deepcopy(params)))
        answer: dict[str, Any] = original(operation, params)
        recorded.append((xform_name(operation), copy.deepcopy(answer)))
        return answer

    client.call = recording
    try:
        result = call()
    finally:
        del client.call
    return result, recorded, requests


class TransportStub:
    """Stubber's interface for the authorizer's HttpDynamoDBClient: queued answers returned by
    its transport (the one request on the socket) instantly, so the timed call still builds,
    serialises and signs the request and parses the answer, as the client does on every call."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._queue: list[tuple[str, bytes]] = []

    def add_response(self, method: str, body: dict[str, Any]) -> None:
        self._queue.append((method, json.dumps(body).encode()))

    def activate(self) -> None:
        from botocore import xform_name

        def send(headers: Any, payload: bytes) -> tuple[int, dict[str, str], bytes]:
            method, body = self._queue.pop(0)
            called = xform_name(headers["X-Amz-Target"].rpartition(".")[2])
            if called != method:
                raise AssertionError(f"{called} called, {method} expected")
            return 200, {}, body

        self._client._send = send

    def deactivate(self) -> None:
        del self._client._send

    def assert_no_pending_responses(self) -> None:
        if self._queue:
            raise AssertionError(f"{len(self._queue)} answers not used")


def stub_for(client: Any) -> Any:
    """botocore's Stubber for a boto3 client, TransportStub for the authorizer's own."""
    from botocore.stub import Stubber

    from apitokens.store.dynamodb_http import HttpDynamoDBClient

    return TransportStub(client) if isinstance(client, HttpDynamoDBClient) else Stubber(client)


def own_calls(client: Any, requests: list[Call]) -> Callable[[], None]:
    """The handler's DynamoDB requests alone, as it made them: what the handler adds on top of
    them is the difference."""

    def call() -> None:
        for method, params in requests:
            getattr(client, method)(**params)

    return call


def _fresh_last_used(script: list[Response]) -> list[Response]:
    # The recorded lookup item says when the token was last used; keep that "a moment ago" so
    # every timed call takes the steady-state path (no touch), whenever the batch runs.
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    fresh = []
    for method, body in script:
        item = body.get("Item")
        if item is not None and "lastUsedAt" in item:
            fresh.append((method, {**body, "Item": {**item, "lastUsedAt": {"S": stamp}}}))
        else:
            fresh.append((method, body))
    return fresh


def interleaved(
    client: Any,
    *,
    candidate: Callable[[], Any],
    candidate_script: list[Response],
    baseline: Callable[[], Any],
    baseline_script: list[Response],
    sink: CountingSink | None,
    batches: int,
    batch_size: int,
    baseline_client: Any = None,
) -> Timing:
    """Median time per call of `candidate` and of `baseline`, in alternating batches, each call's
    DynamoDB responses queued on a Stubber beforehand (and checked to be used up); the baseline
    calls `baseline_client` when given (a boto3 client beside the authorizer's own)."""
    timing = Timing()
    stubber = stub_for(client)
    baseline_stubber = stubber if baseline_client is None else stub_for(baseline_client)
    stubber.activate()
    if baseline_stubber is not stubber:
        baseline_stubber.activate()
    try:
        for index in range(batches + 1):  # the first pair warms up and is not counted
            pair = [
                (candidate, candidate_script, timing.candidate_ns, timing.candidate_wall_ns, stubber),
                (baseline, baseline_script, timing.baseline_ns, timing.baseline_wall_ns, baseline_stubber),
            ]
            if index % 2:
                pair.reverse()  # neither side always runs first
            for function, script, results, wall_results, side_stubber in pair:
                for _ in range(batch_size):
                    for method, body in _fresh_last_used(script):
                        side_stubber.add_response(method, copy.deepcopy(body))
                gc.collect()
                if sink is not None:
                    sink.reset()
                started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
                for _ in range(batch_size):
                    function()
                elapsed_cpu, elapsed = time.thread_time_ns() - started_cpu, time.perf_counter_ns() - started
                side_stubber.assert_no_pending_responses()
                if index:
                    results.append(elapsed_cpu / batch_size)
                    wall_results.append(elapsed / batch_size)
                if function is candidate and sink is not None:
                    timing.lines_per_call = sink.lines / batch_size
                    timing.bytes_per_call = sink.bytes / batch_size
    finally:
        stubber.deactivate()
        if baseline_stubber is not stubber:
            baseline_stubber.deactivate()
    return timing


# The most networks a token may name, the sample event's source IP (203.0.113.10) in the last:
# the authorizer checks all 20.
ALLOWED_IPS = [f"198.51.{index}.0/24" for index in range(19)] + ["203.0.113.0/24"]


@dataclass
class Handlers:
    """The authorizer and the create and list handlers, loaded once, with recorded scripts."""

    authorize: Callable[[], Any]
    authorizer_client: Any  # the authorizer's own HttpDynamoDBClient
    authorizer_script: list[Response]
    # The same with a token of 20 allowedIps, the request's source IP in the last one.
    authorize_networks: Callable[[], Any]
    networks_script: list[Response]
    # A boto3 client configured as every other function's: the stubbed GetItem, the unit.
    get_item_client: Any
    get_item: Callable[[Any], Any]
    get_item_script: list[Response]
    create: Callable[[], Any]
    create_client: Any
    create_script: list[Response]
    create_own_calls: Callable[[], None]
    listing: Callable[[], Any]
    list_client: Any
    list_script: list[Response]
    list_own_calls: Callable[[], None]
    listed: int
    token: str
    lookup_item: dict[str, Any]
    # get, update and delete of one token: (client, call, recorded responses, own requests alone)
    by_sid: dict[str, tuple[Any, Callable[[], Any], list[Response], Callable[[], None]]] = field(default_factory=dict)
    floor: Callable[[], Any] | None = None
    # Per CRUD handler: the framework floor whose route makes that handler's own requests and
    # does nothing else, the least the handler could cost while keeping the framework.
    floor_with_own_calls: dict[str, Callable[[], Any]] = field(default_factory=dict)


def moto_server_url() -> str:
    """moto's server on a loopback port, for the rest of this process."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def prepare(page_size: int) -> Handlers:  # noqa: PLR0915 - one recording session, in order
    """Loads the handlers with the Lambda environment in place, then records, against moto, what
    a create, a full page of list and an authorization by API token send and receive."""
    from moto import mock_aws

    from apitokens.domain import tokens
    from apitokens.settings import get_settings
    from apitokens.store import keys
    from apitokens_dev.template import table_create_arguments

    context = lambda_context()
    with mock_aws():
        import boto3

        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_create_arguments(TABLE_NAME))
        # The authorizer's own client speaks HTTP, which moto's mock does not intercept: it talks
        # to moto's server, which answers from the same state (one moto in one process).
        os.environ["DYNAMODB_ENDPOINT_URL"] = moto_server_url()
        get_settings.cache_clear()
        authorizer, authorizer_namespace = load_function("authorizer")
        del os.environ["DYNAMODB_ENDPOINT_URL"]
        get_settings.cache_clear()
        create, create_namespace = load_function("create_token")
        listing, list_namespace = load_function("list_tokens")
        authorizer_client = find_client(authorizer_namespace)
        create_client = find_client(create_namespace)
        list_client = find_client(list_namespace)

        create_event = load_event("create_token")
        list_event = load_event("list_tokens")
        list_event["queryStringParameters"] = {"limit": str(page_size)}
        list_event["multiValueQueryStringParameters"] = {"limit": [str(page_size)]}
        create_script: list[Response] = []
        create_requests: list[Call] = []
        for _ in range(page_size):
            response, create_script, create_requests = record_calls(
                create_client, lambda: create(create_event, context)
            )
            if response["statusCode"] != 201:
                raise RuntimeError(f"create_token answered {response['statusCode']}: {response.get('body')}")
        # The token the authorizer is timed with may call the events' route (GET, tokens:read).
        token_body = {**json.loads(create_event["body"]), "scopes": ["tokens:read"]}
        response = create({**create_event, "body": json.dumps(token_body)}, context)
        token = json.loads(response["body"])["token"]
        response, list_script, list_requests = record_calls(list_client, lambda: listing(list_event, context))
        if response["statusCode"] != 200:
            raise RuntimeError(f"list_tokens answered {response['statusCode']}: {response.get('body')}")
        listed = len(json.loads(response["body"]).get("records", []))

        by_sid: dict[str, tuple[Any, Callable[[], Any], list[Response], Callable[[], None]]] = {}
        # The oldest of the page: the newest is the token the authorizer is timed with.
        sid = json.loads(response["body"])["records"][-1]["sid"]
        for function, expected in (("get_token", 200), ("update_token", 200), ("delete_token", 200)):
            handler, namespace = load_function(function)
            event = for_token(load_event(function), sid)
            client = find_client(namespace)
            answer, script, requests = record_calls(client, functools.partial(handler, event, context))
            if answer["statusCode"] != expected:
                raise RuntimeError(f"{function} answered {answer['statusCode']}: {answer.get('body')}")
            call = functools.partial(handler, event, context)
            by_sid[function] = (client, call, script, own_calls(client, requests))
            if function == "get_token":
                floor_event = event

        floor = framework_floor(floor_event, context)
        own_by_function = {
            "create_token": own_calls(create_client, create_requests),
            "list_tokens": own_calls(list_client, list_requests),
            **{function: own for function, (_, _, _, own) in by_sid.items()},
        }
        floor_with_own_calls = {
            function: framework_floor(floor_event, context, work=own) for function, own in own_by_function.items()
        }
        token_event = with_authorization(load_event("authorizer_api_token"), f"Bearer {token}")
        authorizer(token_event, context)  # the first use writes lastUsedAt; the next is steady state
        decision, authorizer_script, _ = record_calls(authorizer_client, lambda: authorizer(token_event, context))
        if decision["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            raise RuntimeError("the authorizer did not allow a valid token")
        networks_token = json.loads(
            create({**create_event, "body": json.dumps({**token_body, "allowedIps": ALLOWED_IPS})}, context)["body"]
        )["token"]
        networks_event = with_authorization(load_event("authorizer_api_token"), f"Bearer {networks_token}")
        authorizer(networks_event, context)
        decision, networks_script, _ = record_calls(authorizer_client, lambda: authorizer(networks_event, context))
        if decision["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            raise RuntimeError("the authorizer did not allow a token from its last allowed network")
        digest = tokens.digest(token)
        lookup_item = next(body["Item"] for method, body in authorizer_script if method == "get_item")
        key = keys.secret_key(digest)
        table = get_settings().table_name

    def get_item(client: Any) -> Any:
        return client.get_item(TableName=table, Key=key, ConsistentRead=True)

    return Handlers(
        authorize=lambda: authorizer(token_event, context),
        authorizer_client=authorizer_client,
        authorizer_script=authorizer_script,
        authorize_networks=lambda: authorizer(networks_event, context),
        networks_script=networks_script,
        get_item_client=by_sid["get_token"][0],
        get_item=get_item,
        get_item_script=[("get_item", {"Item": lookup_item})],
        create=lambda: create(create_event, context),
        create_client=create_client,
        create_script=create_script,
        create_own_calls=own_by_function["create_token"],
        listing=lambda: listing(list_event, context),
        list_client=list_client,
        list_script=list_script,
        list_own_calls=own_by_function["list_tokens"],
        listed=listed,
        token=token,
        lookup_item=lookup_item,
        by_sid=by_sid,
        floor=floor,
        floor_with_own_calls=floor_with_own_calls,
    )


def framework_floor(event: dict[str, Any], context: Any, work: Callable[[], None] | None = None) -> Callable[[], Any]:
    """The least a CRUD handler does for any request, keeping Powertools' event handler, Logger
    and Metrics: the handlers' own resolver stack (apitokens.wire.http.create_app: guard, error
    handlers, the request log line), their decorators (Logger's inject_lambda_context, Metrics'
    log_metrics, so one EMF line) and a route that adds one metric and answers `{}`, with no
    model and no service call. Without `work` it makes no DynamoDB request; with a handler's own
    requests as `work` (own_calls) it is the least that handler could cost with this framework,
    measured rather than added up: run beside the requests, the floor costs more than alone."""
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.wire.http import create_app, logger, metrics

    app = create_app()

    @app.get("/accounts/<account_sid>/apiTokens/<token_sid>")
    def nothing(account_sid: str, token_sid: str) -> Response[str]:
        if work is not None:
            work()
        metrics.add_metric(name="TokensRead", unit=MetricUnit.Count, value=1)
        return Response(status_code=200, content_type="application/json", body="{}")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    if work is None and handler(event, context)["statusCode"] != 200:
        raise RuntimeError("the framework floor's route did not answer 200")
    return functools.partial(handler, event, context)


def check_answer(client: Any, call: Callable[[], Any], script: list[Response]) -> None:
    """`call` answers 200 and uses every response of `script` (queued on a Stubber): a route
    that failed would otherwise be timed as a fast 500."""
    from botocore.stub import Stubber

    with Stubber(client) as stubber:
        for method, body in _fresh_last_used(script):
            stubber.add_response(method, copy.deepcopy(body))
        answer = call()
        stubber.assert_no_pending_responses()
    if answer["statusCode"] != 200:
        raise RuntimeError(f"the framework floor with own requests answered {answer['statusCode']}")


def client_vs_resource(item: dict[str, Any], *, batches: int, batch_size: int) -> Timing:
    """The same stubbed GetItem through the low-level client and through the resource API's
    Table (which adds type (de)serialization), both with default configuration."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("dynamodb", region_name="us-east-1")
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE_NAME)
    wire_key = {"PK": item["PK"], "SK": item["SK"]}
    plain_key = {"PK": item["PK"]["S"], "SK": item["SK"]["S"]}
    timing = Timing()
    stubbers = [Stubber(client), Stubber(table.meta.client)]
    for stubber in stubbers:
        stubber.activate()
    try:
        for index in range(batches + 1):
            for stubber in stubbers:
                for _ in range(batch_size):
                    # A copy each: the resource API deserializes the response in place.
                    stubber.add_response("get_item", {"Item": copy.deepcopy(item)})
            gc.collect()
            started = time.perf_counter_ns()
            for _ in range(batch_size):
                client.get_item(TableName=TABLE_NAME, Key=wire_key, ConsistentRead=True)
            middle = time.perf_counter_ns()
            for _ in range(batch_size):
                table.get_item(Key=plain_key, ConsistentRead=True)
            ended = time.perf_counter_ns()
            if index:
                timing.baseline_ns.append((middle - started) / batch_size)
                timing.candidate_ns.append((ended - middle) / batch_size)
    finally:
        for stubber in stubbers:
            stubber.deactivate()
    return timing


@dataclass
class Hashing:
    sha256_ns: float
    scrypt_ns: float
    scrypt_parameters: str


def hashing(token: str, *, batches: int) -> Hashing:
    """SHA-256 of a token (what the authorizer does) and a password hasher for contrast:
    scrypt with OWASP's minimum parameters (N=2**17, r=8, p=1, 128 MiB)."""
    from apitokens.domain import tokens

    sha = []
    for _ in range(batches):
        started = time.perf_counter_ns()
        for _ in range(2000):
            tokens.digest(token)
        sha.append((time.perf_counter_ns() - started) / 2000)
    salt = os.urandom(16)
    slow = []
    for _ in range(3):
        started = time.perf_counter_ns()
        hashlib.scrypt(token.encode(), salt=salt, n=2**17, r=8, p=1, maxmem=256 * 1024 * 1024, dklen=32)
        slow.append(time.perf_counter_ns() - started)
    return Hashing(median(sha), median(slow), "scrypt N=2**17 r=8 p=1")


def own_call_timings(handlers: Handlers, wanted: set[str] | None, batch: dict[str, int]) -> dict[str, Timing]:
    """Each CRUD handler against its own DynamoDB requests alone, and the framework floor's route
    making those requests against the same requests alone (`wanted`: the timings to take, or all)."""
    timings: dict[str, Timing] = {}
    # What the CRUD handlers add on top of their own DynamoDB requests (same stubbed answers).
    for name, client, call, script, own in (
        (
            "create_token",
            handlers.create_client,
            handlers.create,
            handlers.create_script,
            handlers.create_own_calls,
        ),
        ("list_tokens", handlers.list_client, handlers.listing, handlers.list_script, handlers.list_own_calls),
        *((name, client, call, script, own) for name, (client, call, script, own) in handlers.by_sid.items()),
    ):
        if wanted is not None and f"{name}_vs_own_calls" not in wanted:
            continue
        timings[f"{name}_vs_own_calls"] = interleaved(
            client,
            candidate=call,
            candidate_script=script,
            baseline=own,
            baseline_script=script,
            sink=None,
            **batch,
        )
    # The least each handler could cost with this framework: its own requests inside the
    # floor's route, against the same requests alone.
    for name, client, script, own in (
        ("create_token", handlers.create_client, handlers.create_script, handlers.create_own_calls),
        ("list_tokens", handlers.list_client, handlers.list_script, handlers.list_own_calls),
        *((name, client, script, own) for name, (client, _, script, own) in handlers.by_sid.items()),
    ):
        if wanted is not None and f"{name}_floor_with_own_calls" not in wanted:
            continue
        check_answer(client, handlers.floor_with_own_calls[name], script)
        timings[f"{name}_floor_with_own_calls"] = interleaved(
            client,
            candidate=handlers.floor_with_own_calls[name],
            candidate_script=script,
            baseline=own,
            baseline_script=script,
            sink=None,
            **batch,
        )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description="warm timings; started by bench/run.py")
    parser.add_argument("output")
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--only", help="comma-separated timings to take (default: all), for developing")
    arguments = parser.parse_args()
    os.environ.update(lambda_environment(AUTHORIZER))
    batch = {"batches": arguments.batches, "batch_size": arguments.batch_size}
    sink = CountingSink()
    # The handlers' loggers bind stdout when they are created: the sink must be in place first.
    with contextlib.redirect_stdout(sink):
        handlers = prepare(arguments.page)
        gc.collect()
        gc.freeze()
        wanted = set(arguments.only.split(",")) if arguments.only else None
        timings = {
            name: interleaved(
                client,
                candidate=call,
                candidate_script=script,
                baseline=functools.partial(handlers.get_item, handlers.get_item_client),
                baseline_script=handlers.get_item_script,
                sink=sink,
                baseline_client=handlers.get_item_client,
                **batch,
            )
            for name, client, call, script in (
                ("authorizer", handlers.authorizer_client, handlers.authorize, handlers.authorizer_script),
                (
                    "authorizer_allowed_ips",
                    handlers.authorizer_client,
                    handlers.authorize_networks,
                    handlers.networks_script,
                ),
                ("create_token", handlers.create_client, handlers.create, handlers.create_script),
                ("list_tokens", handlers.list_client, handlers.listing, handlers.list_script),
            )
            if wanted is None or name in wanted
        }
        timings.update(own_call_timings(handlers, wanted, batch))
        if handlers.floor is not None and (wanted is None or "framework_floor" in wanted):
            timings["framework_floor"] = interleaved(
                handlers.get_item_client,
                candidate=handlers.floor,
                candidate_script=[],
                baseline=functools.partial(handlers.get_item, handlers.get_item_client),
                baseline_script=handlers.get_item_script,
                sink=sink,
                **batch,
            )
        timings["client_vs_resource"] = client_vs_resource(handlers.lookup_item, **batch)
        hashes = hashing(handlers.token, batches=arguments.batches)
    sink.close()
    result = {
        "timings": {name: asdict(timing) for name, timing in timings.items()},
        "hashing": asdict(hashes),
        "calls": {
            "authorizer": [method for method, _ in handlers.authorizer_script],
            "create_token": [method for method, _ in handlers.create_script],
            "list_tokens": [method for method, _ in handlers.list_script],
            **{name: [method for method, _ in script] for name, (_, _, script, _) in handlers.by_sid.items()},
        },
        "listed": handlers.listed,
    }
    with open(arguments.output, "w", encoding="utf-8") as stream:
        json.dump(result, stream)


if __name__ == "__main__":
    main()
