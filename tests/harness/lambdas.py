"""The functions of template.yaml in this process: the test environment, moto's table built from
the template, the events of events/*.json with a request's values in them, and every function
loaded as Lambda loads it and invoked with those events."""

from __future__ import annotations

import builtins
import contextlib
import copy
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from apitokens.domain import scopes
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES, ROUTES, TOKEN, TOKENS, Route
from apitokens.settings import get_settings
from apitokens_dev import embedded_db
from apitokens_dev.gateway import LambdaContext
from apitokens_dev.template import api_routes, default_authorizer, dynamodb_clients, load_module, table_create_arguments

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EVENTS = PROJECT_ROOT / "events"
ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER_ACCOUNT = "acc_zyx987wvu654tsr321qpo000"
TOKEN_SID = "tok_abc123def456ghi789jkl012"  # well-formed, the API contract's example
TABLE = "apitokens-test"
REGION = "us-east-1"
API_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
JWT_ISSUER = "https://issuer.test/"
JWT_AUDIENCE = "apitokens-tests"
JWKS_URL = "https://issuer.test/.well-known/jwks.json"

TEST_ENVIRONMENT = {
    "TABLE_NAME": TABLE,
    "TOKEN_ENVIRONMENT": "live",
    "MAX_TOKENS_PER_ACCOUNT": "100",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "apitokens",
    "POWERTOOLS_METRICS_NAMESPACE": "ApiTokens",
    "JWT_ISSUER": JWT_ISSUER,
    "JWT_AUDIENCE": JWT_AUDIENCE,
    "JWKS_URL": JWKS_URL,
}


def user(accounts: tuple[str, ...] = (ACCOUNT,), scopes: frozenset[str] = ALL_SCOPES) -> Principal:
    return Principal(type="user", id="user_1", account_sids=frozenset(accounts), scopes=scopes)


@contextlib.contextmanager
def applied_environment(patch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """TEST_ENVIRONMENT set (and undone by `patch`), settings read afresh inside and after."""
    for name, value in TEST_ENVIRONMENT.items():
        patch.setenv(name, value)
    patch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    try:
        yield TEST_ENVIRONMENT
    finally:
        get_settings.cache_clear()
        # The functions loaded inside read the catalogs of a table that is gone with the test.
        scopes.use_declarations(None)


@contextlib.contextmanager
def moto_table() -> Iterator[Any]:
    """moto's DynamoDB with the table exactly as template.yaml defines it; yields a client."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**table_create_arguments(TABLE))
        yield client


@functools.cache
def moto_server_url() -> str:
    """moto's server on a loopback port, for this process's life: the authorizer's own client
    speaks HTTP, which moto's in-process mock does not intercept, and the server answers from
    the same state as the mock (one moto in one process), so the authorizer reads what the other
    functions wrote."""
    from moto.server import ThreadedMotoServer

    # werkzeug would log every request the server answers.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


@contextlib.contextmanager
def authorizer_environment(endpoint: str | None = None) -> Iterator[None]:
    """While the authorizer loads: its DynamoDB endpoint is `endpoint` (moto's server,
    moto_server_url, by default), as in `apitokens serve`, and its settings are read with it;
    then both are as they were."""
    previous = os.environ.get("DYNAMODB_ENDPOINT_URL")
    os.environ["DYNAMODB_ENDPOINT_URL"] = endpoint or moto_server_url()
    get_settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
        else:
            os.environ["DYNAMODB_ENDPOINT_URL"] = previous
        get_settings.cache_clear()


def reset_table(client: Any) -> None:
    """An empty table again; the functions' clients keep working, as they name the table."""
    client.delete_table(TableName=TABLE)
    client.create_table(**table_create_arguments(TABLE))


def scan_table(client: Any) -> list[dict[str, Any]]:
    """Every item of the test table."""
    return embedded_db.scan_table(client, TABLE)


def lambda_context() -> LambdaContext:
    """A Lambda context for one invocation (the local gateway's own)."""
    return LambdaContext("apitokens-test", "5d8f6f2b-0000-4000-8000-000000000000", 512, 10)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


# -- events --------------------------------------------------------------------------------------

_EVENT_BY_ROUTE = {
    ("GET", TOKENS): "list_tokens",
    ("POST", TOKENS): "create_token",
    ("GET", TOKEN): "get_token",
    ("PUT", TOKEN): "update_token",
    ("DELETE", TOKEN): "delete_token",
}


def proxy_event(
    method: str,
    resource: str,
    account: str = ACCOUNT,
    token_sid: str | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    principal: Principal | None = None,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The events/ file of the route, with this request's values in it."""
    event = copy.deepcopy(load_event(_EVENT_BY_ROUTE[(method, resource)]))
    params = {"accountSid": account}
    if token_sid is not None:
        params["apiTokenSid"] = token_sid
    event["pathParameters"] = params
    event["path"] = resource.replace("{accountSid}", account).replace("{apiTokenSid}", token_sid or "")
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    if headers is not None:
        event["headers"].update(headers)
        event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
    event["requestContext"]["authorizer"] = context if context is not None else (principal or user()).to_context()
    return event


def method_arn(route: Route, account: str = ACCOUNT, sid: str = TOKEN_SID, api: str = API_ARN) -> str:
    path = route.resource.replace("{accountSid}", account).replace("{apiTokenSid}", sid)
    return f"{api}/{route.method}{path}"


def authorizer_event(authorization: str | None, route: Route = ROUTES[0], account: str = ACCOUNT) -> dict[str, Any]:
    """The authorizer's REQUEST event for `route`, with this Authorization header (None: none)."""
    event = copy.deepcopy(load_event("authorizer_api_token"))
    event["methodArn"] = method_arn(route, account)
    event["httpMethod"] = route.method
    event["resource"] = route.resource
    if authorization is None:
        event["headers"].pop("Authorization")
        event["multiValueHeaders"].pop("Authorization")
    else:
        event["headers"]["Authorization"] = authorization
        event["multiValueHeaders"]["Authorization"] = [authorization]
    return event


# -- answers -------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One answer, from a function invoked in process or from the server over HTTP."""

    status: int
    headers: dict[str, str]
    text: str

    @cached_property
    def body(self) -> Any:
        return json.loads(self.text) if self.text else None


def reply_of(response: dict[str, Any]) -> Reply:
    """The Reply of a proxy integration's answer (statusCode, headers, multiValueHeaders, body)."""
    headers = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = str(values[-1])
    return Reply(int(response["statusCode"]), headers, str(response.get("body") or ""))


# -- the functions -------------------------------------------------------------------------------


class Functions:
    """Every function of template.yaml, loaded from its CodeUri as Lambda loads it (create inside
    the moto mock), with its module at hand for the DynamoDB clients a test hooks. Requests are
    made by a user of the request's account unless a principal is given."""

    def __init__(self) -> None:
        self.modules: dict[tuple[str, str], ModuleType] = {}
        self.by_route: dict[tuple[str, str], Callable[..., Any]] = {}
        for route in api_routes():
            module = load_module(route.code_uri, route.handler)
            self.modules[(route.method, route.path)] = module
            self.by_route[(route.method, route.path)] = getattr(module, route.handler.rpartition(".")[2])
        _, code_uri, handler = default_authorizer()
        with authorizer_environment():
            self.authorizer_module = load_module(code_uri, handler)
        self.authorizer = getattr(self.authorizer_module, handler.rpartition(".")[2])

    def call(self, method: str, resource: str, *args: Any, **kwargs: Any) -> Reply:
        """proxy_event's request, made by a user of its account with every scope unless a
        principal or an authorizer context is given."""
        if kwargs.get("principal") is None:
            kwargs["principal"] = user(accounts=(args[0] if args else kwargs.get("account", ACCOUNT),))
        return self.invoke(proxy_event(method, resource, *args, **kwargs))

    def invoke(self, event: dict[str, Any]) -> Reply:
        return reply_of(self.by_route[(event["httpMethod"], event["resource"])](event, lambda_context()))

    # Shorthands for the five operations.
    def create(
        self,
        account: str = ACCOUNT,
        principal: Principal | None = None,
        *,
        idempotency_key: str | None = None,
        **body: Any,
    ) -> Reply:
        payload = {"name": "CI token", "scopes": ["tokens:read"], **body}
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key is not None else None
        return self.call("POST", TOKENS, account, body=payload, principal=principal, headers=headers)

    def get(self, sid: str, account: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call("GET", TOKEN, account, sid, **kwargs)

    def list(self, account: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call("GET", TOKENS, account, **kwargs)

    def update(self, sid: str, body: Any, account: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call("PUT", TOKEN, account, sid, body=body, **kwargs)

    def delete(self, sid: str, account: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call("DELETE", TOKEN, account, sid, **kwargs)

    @property
    def authorizer_instance(self) -> Any:
        """The authorizer function's module-level Authorizer (its public clock)."""
        return self.authorizer_module.authorizer

    def authorize(self, event: dict[str, Any]) -> dict[str, Any]:
        decision: dict[str, Any] = self.authorizer(event, lambda_context())
        return decision

    def token_accepted(self, secret: str) -> bool:
        """Whether the authorizer takes the API token `secret` (the sample event's request); a
        refused credential is API Gateway's "Unauthorized"."""
        event = copy.deepcopy(load_event("authorizer_api_token"))
        event["headers"]["Authorization"] = f"Bearer {secret}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {secret}"]
        try:
            self.authorize(event)
        except Exception as error:
            if str(error) != "Unauthorized":
                raise
            return False
        return True

    def clients(self, method: str | None, resource: str | None = None) -> builtins.list[BaseClient]:
        """The DynamoDB clients of one function (method None: the authorizer, whose one client is
        an HttpDynamoDBClient)."""
        module = self.authorizer_module if method is None else self.modules[(method, str(resource))]
        return dynamodb_clients(vars(module))
