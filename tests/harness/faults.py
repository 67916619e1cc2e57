"""DynamoDB faults injected below the functions, on botocore's events (on the calls of the
authorizer's HttpDynamoDBClient), and a recorder of the calls the functions make."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from apitokens.store.dynamodb_http import DynamoDBError, DynamoDBServiceError, DynamoDBUnreachable, HttpDynamoDBClient

# Put in every injected error: it must never reach a response body.
LEAK_MARKER = "injected-fault-7f3a"


@dataclass(frozen=True)
class Error:
    """One DynamoDB failure as the client raises it once its retries are spent: a service error
    (code, HTTP status, modelled fields) or a transport exception."""

    name: str
    code: str | None = None
    status: int = 400
    reasons: tuple[str, ...] = ()
    exception: Callable[[], Exception] | None = None

    def parsed_response(self) -> dict[str, Any]:
        """The dict botocore's JSON parser makes of DynamoDB's error body (see test_faults'
        check against a real TransactionCanceledException from moto)."""
        message = f"{LEAK_MARKER} {self.code}"
        response: dict[str, Any] = {
            "Error": {"Message": message, "Code": self.code},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "HTTPHeaders": {}, "RetryAttempts": 2},
        }
        if self.reasons:
            response["Message"] = message
            response["CancellationReasons"] = [
                {"Code": reason} if reason == "None" else {"Code": reason, "Message": LEAK_MARKER}
                for reason in self.reasons
            ]
        return response

    def http_client_error(self) -> DynamoDBError:
        """The same failure as the authorizer's HttpDynamoDBClient raises it: a service error
        with botocore's response shape, or no answer at all."""
        if self.exception is not None:
            return DynamoDBUnreachable(f"{LEAK_MARKER} {self.name}")
        response = self.parsed_response()
        del response["ResponseMetadata"]
        return DynamoDBServiceError(str(self.code), response["Error"]["Message"], self.status, response)


@dataclass
class _StatusOnly:
    status_code: int


class _HookedCall:
    """An HttpDynamoDBClient's `call` (every operation goes through it) with hooks before it,
    in the order of botocore's before-call handlers: the first to answer or raise decides."""

    def __init__(self, call: Callable[[str, Any], dict[str, Any]]) -> None:
        self.call = call
        self.hooks: list[tuple[str, Callable[..., Any]]] = []  # (operation or "*", handler)

    def __call__(self, operation: str, params: Any) -> dict[str, Any]:
        for wanted, handler in list(self.hooks):
            if wanted in ("*", operation):
                answer = handler(model=_Operation(operation), params=params)
                if answer is not None:
                    return dict(answer[1])
        return self.call(operation, params)


@dataclass(frozen=True)
class _Operation:
    name: str  # what botocore's operation model calls it


def _hooked_call(client: HttpDynamoDBClient) -> _HookedCall:
    hooked = vars(client).get("call")
    if not isinstance(hooked, _HookedCall):
        hooked = _HookedCall(client.call)
        client.call = hooked  # type: ignore[method-assign]
    return hooked


class _Hook:
    """One handler on the event system of some clients (on the calls of an HttpDynamoDBClient,
    which has none); clear() is idempotent."""

    def __init__(self, clients: list[BaseClient], event: str, *, first: bool) -> None:
        self._clients = list(clients)
        self._event = event
        for client in self._clients:
            if isinstance(client, HttpDynamoDBClient):
                if not event.startswith("before-call."):
                    raise TypeError(f"{event}: the wire of an HttpDynamoDBClient is tests/harness/faulty_endpoint's")
                hooks = _hooked_call(client).hooks
                hooks.insert(0 if first else len(hooks), (event.rpartition(".")[2], self._handle))
            elif first:
                client.meta.events.register_first(event, self._handle)
            else:
                client.meta.events.register(event, self._handle)

    def _handle(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def clear(self) -> None:
        for client in self._clients:
            if isinstance(client, HttpDynamoDBClient):
                hooks = _hooked_call(client).hooks
                hooks[:] = [hook for hook in hooks if hook[1] != self._handle]
            else:
                client.meta.events.unregister(self._event, self._handle)
        self._clients = []


HookT = TypeVar("HookT", bound=_Hook)


class FaultInjector(_Hook):
    """Makes every call of `operation` fail with `error` once the client's retries are spent:
    botocore's before-call event answers for the call, which never reaches moto."""

    def __init__(self, clients: list[BaseClient], operation: str, error: Error, *, after: int = 0) -> None:
        self.error = error
        self.calls = 0
        self._after = after  # calls let through before the first failure (a fault midway)
        self._http_clients = any(isinstance(client, HttpDynamoDBClient) for client in clients)
        super().__init__(clients, f"before-call.dynamodb.{operation}", first=True)

    def _handle(self, **_: Any) -> tuple[_StatusOnly, dict[str, Any]] | None:
        self.calls += 1
        if self.calls <= self._after:
            return None  # on to moto
        if self._http_clients:
            raise self.error.http_client_error()
        if self.error.exception is not None:
            raise self.error.exception()
        return _StatusOnly(self.error.status), self.error.parsed_response()


class CallRecorder(_Hook):
    """The DynamoDB operations the clients make, in order."""

    def __init__(self, clients: list[BaseClient]) -> None:
        self.operations: list[str] = []
        super().__init__(clients, "before-call.dynamodb.*", first=False)

    def _handle(self, model: Any = None, **_: Any) -> None:
        self.operations.append(model.name)


class _Body:
    def __init__(self, payload: dict[str, Any]) -> None:
        self._content = json.dumps(payload).encode()

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def throttled(request: Any) -> AWSResponse:
    """DynamoDB's HTTP answer to a throttled request."""
    payload = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": LEAK_MARKER}
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse(request.url, 400, HTTPHeaders.from_dict(headers), _Body(payload))


def timed_out(request: Any) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


def unreachable(request: Any) -> AWSResponse:
    raise EndpointConnectionError(endpoint_url=request.url)


class WireFault(_Hook):
    """Answers (or breaks) the first `failures` HTTP attempts of one operation before they reach
    moto, on botocore's before-send event: below the client's retry loop, which sees them."""

    def __init__(self, client: BaseClient, operation: str, failures: int, fail: Callable[[Any], AWSResponse]) -> None:
        self.attempts: list[dict[str, Any]] = []
        self._failures = failures
        self._fail = fail
        super().__init__([client], f"before-send.dynamodb.{operation}", first=True)

    def _handle(self, request: Any = None, **_: Any) -> AWSResponse | None:
        self.attempts.append(json.loads(request.body))
        if len(self.attempts) > self._failures:
            return None  # on to moto
        return self._fail(request)


class Wiring:
    """Every hook a test puts on clients, removed together at the end of the test."""

    def __init__(self) -> None:
        self._hooks: list[_Hook] = []

    def fail(self, clients: list[BaseClient], operation: str, error: Error, *, after: int = 0) -> FaultInjector:
        return self._keep(FaultInjector(clients, operation, error, after=after))

    def record(self, clients: list[BaseClient]) -> CallRecorder:
        return self._keep(CallRecorder(clients))

    def on_the_wire(
        self, client: BaseClient, operation: str, failures: int, fail: Callable[[Any], AWSResponse]
    ) -> WireFault:
        return self._keep(WireFault(client, operation, failures, fail))

    def clear(self) -> None:
        for hook in self._hooks:
            hook.clear()
        self._hooks.clear()

    def _keep(self, hook: HookT) -> HookT:
        self._hooks.append(hook)
        return hook
