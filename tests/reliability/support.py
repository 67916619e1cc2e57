"""Helpers of the reliability tests: the functions loaded with their modules at hand (so a test
can reach each function's DynamoDB client), the table's consistency rules, and injected faults."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from apitokens import keys
from apitokens.principal import Principal
from apitokens.scopes import Route
from apitokens_dev.template import api_routes, default_authorizer, dynamodb_clients, load_module
from tests.conftest import ACCOUNT, lambda_context, load_event, proxy_event, scan_table, user

API = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1"
TOKENS = "/accounts/{accountSid}/apiTokens"
TOKEN = "/accounts/{accountSid}/apiTokens/{apiTokenSid}"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: str


def method_arn(route: Route, account: str, sid: str = "tok_abc123def456ghi789jkl012", api: str = API) -> str:
    path = route.resource.replace("{accountSid}", account).replace("{apiTokenSid}", sid)
    return f"{api}/{route.method}{path}"


def authorizer_event(secret: str, route: Route, account: str = ACCOUNT) -> dict[str, Any]:
    event = copy.deepcopy(load_event("authorizer_api_token"))
    event["methodArn"] = method_arn(route, account)
    event["httpMethod"] = route.method
    event["resource"] = route.resource
    event["headers"]["Authorization"] = f"Bearer {secret}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {secret}"]
    return event


class Service:
    """Every function of template.yaml, loaded from its CodeUri as Lambda loads it (call inside
    the moto mock). Unlike tests.conftest.Functions it keeps the modules, whose DynamoDB clients
    the fault-injection tests hook. Requests are made as a user of the account with every scope."""

    def __init__(self) -> None:
        self.modules: dict[tuple[str, str], ModuleType] = {}
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        for route in api_routes():
            module = load_module(route.code_uri, route.handler)
            self.modules[(route.method, route.path)] = module
            self._handlers[(route.method, route.path)] = getattr(module, route.handler.rpartition(".")[2])
        _, code_uri, handler = default_authorizer()
        self.authorizer_module = load_module(code_uri, handler)
        self._authorizer: Callable[..., Any] = getattr(self.authorizer_module, handler.rpartition(".")[2])

    def invoke(self, event: dict[str, Any]) -> Reply:
        response = self._handlers[(event["httpMethod"], event["resource"])](event, lambda_context())
        raw = str(response.get("body") or "")
        headers = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = str(values[-1])
        return Reply(int(response["statusCode"]), json.loads(raw) if raw else None, headers, raw)

    def create(
        self,
        account: str = ACCOUNT,
        *,
        name: str = "reliability",
        scopes: tuple[str, ...] = ("tokens:read",),
        idempotency_key: str | None = None,
        principal: Principal | None = None,
    ) -> Reply:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key is not None else None
        body = {"name": name, "scopes": list(scopes)}
        principal = principal or user(accounts=(account,))
        return self.invoke(proxy_event("POST", TOKENS, account, body=body, headers=headers, principal=principal))

    def get(self, sid: str, account: str = ACCOUNT) -> Reply:
        return self.invoke(proxy_event("GET", TOKEN, account, sid, principal=user(accounts=(account,))))

    def list_tokens(self, account: str = ACCOUNT, query: dict[str, str] | None = None) -> Reply:
        return self.invoke(proxy_event("GET", TOKENS, account, query=query, principal=user(accounts=(account,))))

    def update(self, sid: str, body: dict[str, Any], account: str = ACCOUNT) -> Reply:
        return self.invoke(proxy_event("PUT", TOKEN, account, sid, body=body, principal=user(accounts=(account,))))

    def delete(self, sid: str, account: str = ACCOUNT) -> Reply:
        return self.invoke(proxy_event("DELETE", TOKEN, account, sid, principal=user(accounts=(account,))))

    def authorize(self, event: dict[str, Any]) -> dict[str, Any]:
        decision: dict[str, Any] = self._authorizer(event, lambda_context())
        return decision

    def clients(self, method: str | None, resource: str | None = None) -> list[BaseClient]:
        """The DynamoDB clients of one function (method None: the authorizer)."""
        module = self.authorizer_module if method is None else self.modules[(method, str(resource))]
        return dynamodb_clients(vars(module))


# -- the table's rules ---------------------------------------------------------------------------


def _value(item: dict[str, Any], name: str) -> Any:
    """An attribute as a plain value; absent and NULL are both None."""
    attribute = item.get(name)
    if attribute is None or "NULL" in attribute:
        return None
    kind, value = next(iter(attribute.items()))
    if kind == "L":
        return tuple(_value({"v": entry}, "v") for entry in value)
    return value


def token_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item["SK"]["S"].startswith(keys.TOKEN_SK_PREFIX)]


def consistency_problems(items: list[dict[str, Any]]) -> list[str]:
    """What breaks the single-table invariants: every token item has its lookup item (and the
    other way round), both agree on what the authorizer reads, and each account's META
    tokenCount is its number of token items. An empty list means consistent."""
    problems: list[str] = []
    tokens = {_value(item, "secretDigest"): item for item in token_items(items)}
    lookups = {item["PK"]["S"].removeprefix("SECRET#"): item for item in items if item["PK"]["S"].startswith("SECRET#")}
    counts = {
        item["PK"]["S"].removeprefix("ACCOUNT#"): int(item["tokenCount"]["N"])
        for item in items
        if item["SK"]["S"] == keys.ACCOUNT_META_SK
    }
    for digest, token in tokens.items():
        sid = _value(token, "sid")
        lookup = lookups.get(digest)
        if lookup is None:
            problems.append(f"token {sid} has no lookup item")
            continue
        for name in ("accountSid", "scopes", "expiresAt", "isActive", "lastUsedAt"):
            if _value(token, name) != _value(lookup, name):
                problems.append(f"token {sid} and its lookup item disagree on {name}")
        if _value(lookup, "tokenSid") != sid:
            problems.append(f"lookup item of {sid} names {_value(lookup, 'tokenSid')}")
    for digest, lookup in lookups.items():
        if digest not in tokens:
            problems.append(f"lookup item of {_value(lookup, 'tokenSid')} has no token item")
    per_account = Counter(_value(token, "accountSid") for token in tokens.values())
    for account in sorted(set(per_account) | set(counts)):
        if counts.get(account, 0) != per_account[account]:
            problems.append(f"{account}: tokenCount {counts.get(account)} but {per_account[account]} token items")
    return problems


def snapshot(client: Any) -> list[dict[str, Any]]:
    return sorted(scan_table(client), key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """What differs between two snapshots, item by item (empty: nothing changed)."""
    old = {(item["PK"]["S"], item["SK"]["S"]): item for item in before}
    new = {(item["PK"]["S"], item["SK"]["S"]): item for item in after}
    described = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            described.append(f"added {key}")
        elif key not in new:
            described.append(f"removed {key}")
        elif old[key] != new[key]:
            names = sorted(
                name for name in old[key].keys() | new[key].keys() if old[key].get(name) != new[key].get(name)
            )
            described.append(f"changed {key}: {', '.join(names)}")
    return described


# -- injected faults -----------------------------------------------------------------------------

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


@dataclass
class _StatusOnly:
    status_code: int


class _Hook:
    """One handler on the event system of some clients; clear() is idempotent."""

    def __init__(self, clients: list[BaseClient], event: str, *, first: bool) -> None:
        self._clients = list(clients)
        self._event = event
        for client in self._clients:
            if first:
                client.meta.events.register_first(event, self._handle)
            else:
                client.meta.events.register(event, self._handle)

    def _handle(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def clear(self) -> None:
        for client in self._clients:
            client.meta.events.unregister(self._event, self._handle)
        self._clients = []


HookT = TypeVar("HookT", bound=_Hook)


class FaultInjector(_Hook):
    """Makes every call of `operation` fail with `error` once the client's retries are spent:
    botocore's before-call event answers for the call, which never reaches moto."""

    def __init__(self, clients: list[BaseClient], operation: str, error: Error) -> None:
        self.error = error
        self.calls = 0
        super().__init__(clients, f"before-call.dynamodb.{operation}", first=True)

    def _handle(self, **_: Any) -> tuple[_StatusOnly, dict[str, Any]]:
        self.calls += 1
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

    def fail(self, clients: list[BaseClient], operation: str, error: Error) -> FaultInjector:
        return self._keep(FaultInjector(clients, operation, error))

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
