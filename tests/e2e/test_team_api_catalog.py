"""A team's own API, written in a temporary directory, behind `apitokens serve` over real HTTP: its
routes and scopes declared in its own template's Custom::ApiTokensCatalog, served with the team's
TokenPrefix, AccountIdPattern and JwtScopePrefix; a malformed catalog stops the server in one line."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_team_deployment import OVERRIDES, TEAM_ACCOUNT
from tests.harness import LocalServer, cli, start_server

HANDLER = """
import json


def handler(event, context):
    caller = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    body = {"route": event.get("routeKey"), "scopes": str(caller.get("scopes", "")).split()}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""


def team_api(directory: Path, routes: list[str], scopes: list[str]) -> Path:
    """The team's API: an HTTP API behind the token stack's authorizer, with its catalog."""
    (directory / "functions" / "invoices").mkdir(parents=True, exist_ok=True)
    (directory / "functions" / "invoices" / "app.py").write_text(HANDLER, encoding="utf-8")
    events = "".join(
        textwrap.indent(
            textwrap.dedent(f"""\
                Route{index}:
                  Type: HttpApi
                  Properties:
                    ApiId: !Ref BillingApi
                    Path: {line.split()[1]}
                    Method: {line.split()[0]}
                """),
            " " * 8,
        )
        for index, line in enumerate(routes)
    )
    template = (
        textwrap.dedent("""\
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Parameters:
          ApiTokensStackName:
            Type: String
        Resources:
          BillingCatalog:
            Type: Custom::ApiTokensCatalog
            Properties:
              ServiceToken: !ImportValue
                Fn::Sub: "${ApiTokensStackName}-CatalogServiceToken"
              Scopes: SCOPES
              Routes: ROUTES
          BillingApi:
            Type: AWS::Serverless::HttpApi
            Properties:
              StageName: v1
              Auth:
                DefaultAuthorizer: ApiTokens
                Authorizers:
                  ApiTokens:
                    FunctionArn: !ImportValue
                      Fn::Sub: "${ApiTokensStackName}-AuthorizerFunctionArn"
                    AuthorizerPayloadFormatVersion: "2.0"
                    EnableSimpleResponses: true
                    Identity:
                      Headers: [Authorization]
          InvoicesFunction:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
              CodeUri: functions/invoices/
              Handler: app.handler
              Events:
        """)
        .replace("SCOPES", repr(scopes))
        .replace("ROUTES", repr(routes))
    )
    path = directory / "template.yaml"
    path.write_text(template + events, encoding="utf-8")
    return path


ROUTES = [
    "GET /accounts/{accountSid}/invoices invoices:read",
    "POST /accounts/{accountSid}/invoices invoices:write",
]


@pytest.fixture(scope="module")
def billing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    api = team_api(tmp_path_factory.mktemp("billing-api"), ROUTES, ["invoices:read", "invoices:write"])
    local = start_server(tmp_path_factory.mktemp("billing"), "--api", str(api), *OVERRIDES)
    yield local
    local.stop_cleanly()


def test_a_team_token_with_the_catalogs_scope_reaches_the_team_api(billing: LocalServer) -> None:
    jwt = billing.jwt(*OVERRIDES, "--account", TEAM_ACCOUNT)
    reader = billing.create_token(jwt, account=TEAM_ACCOUNT, scopes=["invoices:read"])["token"]
    assert reader.startswith("acme_test_")
    reply = billing.request("GET", f"/accounts/{TEAM_ACCOUNT}/invoices", token=reader)
    assert reply.status == 200, reply.text
    assert reply.body == {"route": "GET /accounts/{accountSid}/invoices", "scopes": ["invoices:read"]}
    assert billing.request("POST", f"/accounts/{TEAM_ACCOUNT}/invoices", token=reader, body={}).status == 403
    assert billing.request("GET", "/accounts/org_fedcba9876543210/invoices", token=reader).status == 403


def test_a_jwt_with_the_prefixed_catalog_scope_reaches_it_and_one_without_does_not(billing: LocalServer) -> None:
    writer = billing.jwt(*OVERRIDES, "--account", TEAM_ACCOUNT, "--scope", "invoices:write")
    assert billing.request("POST", f"/accounts/{TEAM_ACCOUNT}/invoices", token=writer, body={}).status == 200
    assert billing.request("GET", f"/accounts/{TEAM_ACCOUNT}/invoices", token=writer).status == 403


def test_token_creation_knows_the_catalogs_scopes_and_the_openapi_lists_them(billing: LocalServer) -> None:
    jwt = billing.jwt(*OVERRIDES, "--account", TEAM_ACCOUNT)
    refused = billing.request(
        "POST", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=jwt, body={"name": "x", "scopes": ["invoices:delete"]}
    )
    assert refused.status == 400
    assert "'invoices:delete'" in refused.text
    document = billing.call("GET", billing.base_url + "/openapi.json").body
    assert "- `invoices:write`" in document["info"]["description"]


@pytest.mark.parametrize(
    ("routes", "fault"),
    [
        (
            ["GET /accounts/{accountSid}/invoices invoices:fly"],
            "Routes line 1 'GET /accounts/{accountSid}/invoices invoices:fly': unknown scope 'invoices:fly'",
        ),
        (
            ["GET /invoices invoices:read"],
            "Routes line 1 'GET /invoices invoices:read': path '/invoices' must start with /accounts/{accountSid}",
        ),
        (["GET /accounts/{accountSid}/apiTokens invoices:read"], "is a route of the token stack"),
    ],
)
def test_a_malformed_catalog_stops_the_server_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, routes: list[str], fault: str
) -> None:
    api = team_api(tmp_path_factory.mktemp("bad-api"), routes, ["invoices:read"])
    refused = cli(
        "serve", "--port", "0", "--api", str(api), *OVERRIDES, cwd=tmp_path_factory.mktemp("bad"), check=False
    )
    assert refused.returncode != 0
    assert fault in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "Traceback" not in refused.stderr
