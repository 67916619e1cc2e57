"""Fixtures shared by every test layer: environment, moto table from template.yaml, handlers
loaded as Lambda loads them, and events built from events/*.json."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from apitokens.principal import Principal
from apitokens.scopes import ALL_SCOPES
from apitokens.settings import get_settings
from apitokens_dev import server
from apitokens_dev.gateway import LambdaContext
from apitokens_dev.template import api_routes, default_authorizer, load_handler, load_module, table_create_arguments

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EVENTS = PROJECT_ROOT / "events"
ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER_ACCOUNT = "acc_zyx987wvu654tsr321qpo000"
TABLE = "apitokens-test"
JWT_ISSUER = "https://issuer.test/"
JWT_AUDIENCE = "apitokens-tests"
JWKS_URL = "https://issuer.test/.well-known/jwks.json"

TEST_ENVIRONMENT = {
    "TABLE_NAME": TABLE,
    "TOKEN_ENVIRONMENT": "live",
    "MAX_TOKENS_PER_ACCOUNT": "100",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
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


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    yield TEST_ENVIRONMENT
    get_settings.cache_clear()


@pytest.fixture
def dynamodb(environment: dict[str, str]) -> Iterator[Any]:
    """A moto DynamoDB with the table exactly as template.yaml defines it."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_arguments(TABLE))
        yield client


def scan_table(client: Any) -> list[dict[str, Any]]:
    """Every item of the test table."""
    return server.scan_table(client, TABLE)


def lambda_context() -> LambdaContext:
    """A Lambda context for one invocation (the local gateway's own)."""
    return LambdaContext("apitokens-test", "5d8f6f2b-0000-4000-8000-000000000000", 512, 10)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


_EVENT_BY_ROUTE = {
    ("GET", "/accounts/{accountSid}/apiTokens"): "list_tokens",
    ("POST", "/accounts/{accountSid}/apiTokens"): "create_token",
    ("GET", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "get_token",
    ("PUT", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "update_token",
    ("DELETE", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "delete_token",
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


@dataclass
class HttpResult:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Functions:
    """Every function of template.yaml, loaded from its CodeUri inside the moto mock."""

    def __init__(self) -> None:
        self.by_route = {
            (route.method, route.path): load_handler(route.code_uri, route.handler) for route in api_routes()
        }
        _, code_uri, handler = default_authorizer()
        self.authorizer_module = load_module(code_uri, handler)
        self.authorizer = getattr(self.authorizer_module, handler.rpartition(".")[2])

    def call(self, method: str, resource: str, *args: Any, **kwargs: Any) -> HttpResult:
        event = proxy_event(method, resource, *args, **kwargs)
        return self.invoke(event)

    def invoke(self, event: dict[str, Any]) -> HttpResult:
        response = self.by_route[(event["httpMethod"], event["resource"])](event, lambda_context())
        body = json.loads(response["body"]) if response.get("body") else None
        headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = values[-1]
        return HttpResult(response["statusCode"], body, headers)

    # Shorthands for the five operations.
    def create(self, account: str = ACCOUNT, principal: Principal | None = None, **body: Any) -> HttpResult:
        payload = {"name": "CI token", "scopes": ["tokens:read"], **body}
        return self.call("POST", "/accounts/{accountSid}/apiTokens", account, body=payload, principal=principal)

    def get(self, sid: str, account: str = ACCOUNT, **kwargs: Any) -> HttpResult:
        return self.call("GET", "/accounts/{accountSid}/apiTokens/{apiTokenSid}", account, sid, **kwargs)

    def list(self, account: str = ACCOUNT, **kwargs: Any) -> HttpResult:
        return self.call("GET", "/accounts/{accountSid}/apiTokens", account, **kwargs)

    def update(self, sid: str, body: Any, account: str = ACCOUNT, **kwargs: Any) -> HttpResult:
        return self.call("PUT", "/accounts/{accountSid}/apiTokens/{apiTokenSid}", account, sid, body=body, **kwargs)

    def delete(self, sid: str, account: str = ACCOUNT, **kwargs: Any) -> HttpResult:
        return self.call("DELETE", "/accounts/{accountSid}/apiTokens/{apiTokenSid}", account, sid, **kwargs)

    @property
    def authorizer_instance(self) -> Any:
        """The authorizer function's module-level Authorizer (its repository, its clock)."""
        return self.authorizer_module.authorizer

    def authorize(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.authorizer(event, lambda_context())
        return result


@pytest.fixture
def functions(dynamodb: Any) -> Functions:
    return Functions()
