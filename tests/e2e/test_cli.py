"""The `apitokens` command line: openapi, dev-jwt, and serve's start-up and shutdown behaviour."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt as pyjwt
import pytest
from openapi_spec_validator import validate  # installed with moto[server]

from apitokens.domain.scopes import ALL_SCOPES, ROUTES
from apitokens_dev.template import table_create_arguments
from tests.harness import ACCOUNT, OTHER_ACCOUNT, cli, start_server

pytestmark = pytest.mark.e2e

OPERATIONS = {
    ("get", "/accounts/{accountSid}/apiTokens"): "listApiTokens",
    ("post", "/accounts/{accountSid}/apiTokens"): "createApiToken",
    ("get", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "getApiToken",
    ("put", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "updateApiToken",
    ("delete", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"): "deleteApiToken",
    ("post", "/accounts/{accountSid}/apiTokens/{apiTokenSid}/roll"): "rollApiToken",
    ("get", "/accounts/{accountSid}/apiTokens/{apiTokenSid}/usage"): "getApiTokenUsage",
    ("get", "/accounts/{accountSid}/auditEvents"): "listAuditEvents",
}
# Served without the authorizer: documented with their own security and errors.
PUBLIC_OPERATIONS = {
    ("post", "/secret-scanning/github"): "reportGithubSecretScanning",
    ("post", "/credentials/revoke"): "revokeCredentials",
}
# Authorized by IAM (SigV4), not by the token authorizer.
IAM_OPERATIONS = {("post", "/apiTokens/verify"): "verifyApiToken"}


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_openapi_is_a_valid_document_of_the_five_operations(tmp_path: Path) -> None:
    document = json.loads(cli("openapi", cwd=tmp_path).stdout)
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "http://127.0.0.1:3000/v1"}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    found = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert found == OPERATIONS | PUBLIC_OPERATIONS | IAM_OPERATIONS
    for method, path in PUBLIC_OPERATIONS:
        assert document["paths"][path][method]["security"] == []
    for method, path in IAM_OPERATIONS:
        assert document["paths"][path][method]["security"] == [{"sigv4": []}]
    assert document["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"

    scope_by_route = {(route.method.lower(), route.resource): route.scope for route in ROUTES}
    for method, path in OPERATIONS:
        _assert_protected_operation(document, method, path, scope_by_route[(method, path)])
    _assert_create_and_list(document)
    _assert_schemas(document["components"]["schemas"])


def _assert_protected_operation(document: dict[str, Any], method: str, path: str, scope: str) -> None:
    """A bearer-protected operation: its scope, its path parameters' patterns, its error answers."""
    operation = document["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["x-required-scope"] == scope
    parameters = {p["name"]: p for p in (_resolve(document, ref) for ref in operation["parameters"])}
    assert parameters["accountSid"]["schema"]["pattern"] == "^acc_(?:[A-Za-z0-9]{24}|[A-Za-z0-9]{27})$"
    if "{apiTokenSid}" in path:
        assert parameters["apiTokenSid"]["schema"]["pattern"] == "^tok_[A-Za-z0-9]{21,24}$"
    for status in ("400", "401", "403", "404", "503"):
        response = _resolve(document, operation["responses"][status])
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    if method in ("post", "put"):
        assert {"409", "413", "415"} <= set(operation["responses"])
        # Roll's body is optional (every field has a default).
        assert operation["requestBody"]["required"] is not path.endswith("/roll")


def _assert_create_and_list(document: dict[str, Any]) -> None:
    create = document["paths"]["/accounts/{accountSid}/apiTokens"]["post"]
    assert {"200", "201", "422"} <= set(create["responses"])  # replay, creation, key reused
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/CreatedApiToken")
    assert create["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ApiToken")
    headers = [p["name"] for p in (_resolve(document, ref) for ref in create["parameters"]) if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]

    list_parameters = document["paths"]["/accounts/{accountSid}/apiTokens"]["get"]["parameters"]
    limit = next(p for p in (_resolve(document, ref) for ref in list_parameters) if p["name"] == "limit")
    assert (limit["in"], limit["schema"]["minimum"], limit["schema"]["maximum"]) == ("query", 1, 100)


def _assert_schemas(schemas: dict[str, Any]) -> None:
    assert list(schemas["ApiToken"]["properties"]) == [
        "sid", "accountSid", "name", "description", "scopes", "lastUsedAt", "expiresAt", "isActive", "createdAt",
        "createdBy", "parentSid", "revokedReason", "revokedAt", "rolledTo",  # after the contract's fields
        "redactedToken", "metadata", "allowedIps",  # annotations and restrictions, after lineage
    ]  # fmt: skip
    assert list(schemas["CreatedApiToken"]["properties"])[:2] == ["sid", "token"]
    assert schemas["CreateTokenRequest"]["required"] == ["name", "scopes"]
    assert schemas["CreateTokenRequest"]["additionalProperties"] is False
    assert schemas["UpdateTokenRequest"]["required"] == ["name", "isActive"]
    assert "token" not in schemas["ApiToken"]["properties"]
    assert schemas["DeletedApiToken"]["required"] == ["sid", "deleted"]


def _verify(token: str, state: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JWT's header and claims, verified with the key of `state`'s JWKS as the server does."""
    from apitokens_dev.devkeys import jwks, load_or_create_key

    key_set = pyjwt.PyJWKSet.from_dict(jwks(load_or_create_key(state)))
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in key_set.keys if k.key_id == header["kid"])
    claims = pyjwt.decode(token, key, algorithms=["ES256"], audience="apitokens", issuer="apitokens-local")
    return header, claims


def test_dev_jwt_prints_a_verifiable_jwt_on_its_last_line(tmp_path: Path) -> None:
    result = cli(
        "dev-jwt",
        "--account", ACCOUNT,
        "--account", OTHER_ACCOUNT,
        "--scope", "tokens:read tokens:write",
        "--expires-in", "120",
        cwd=tmp_path,
    )  # fmt: skip
    token = result.stdout.strip().splitlines()[-1]
    state = tmp_path / ".apitokens"
    header, claims = _verify(token, state)
    assert header["alg"] == "ES256"
    assert claims["accounts"] == [ACCOUNT, OTHER_ACCOUNT]
    assert claims["scope"] == "tokens:read tokens:write"
    assert claims["exp"] - claims["iat"] == 120
    assert claims["sub"] == "user_dev"
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "dev-signing-key.pem").stat().st_mode & 0o777 == 0o600

    # The key is made once and then reused: the same kid; without --scope, all 19 scopes in the
    # claim (the local server, like a deployment, grants no scope to a JWT without it).
    again = cli("dev-jwt", "--account", ACCOUNT, cwd=tmp_path).stdout.strip().splitlines()[-1]
    header_again, claims_again = _verify(again, state)
    assert header_again["kid"] == header["kid"]
    assert set(claims_again["scope"].split()) == ALL_SCOPES
    assert [path.name for path in state.iterdir() if not path.name.startswith(".")] == ["dev-signing-key.pem"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--account", "acc_short"], "not an account sid"),
        (["--account", ACCOUNT, "--scope", "tokens:read tokens:fly"], "unknown scope"),
        (["--account", ACCOUNT, "--expires-in", "0"], "argument --expires-in: must be a whole number from 1 to"),
        ([], "--account"),
    ],
)
def test_dev_jwt_refuses_what_the_authorizer_would_ignore(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = cli("dev-jwt", *arguments, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / ".apitokens").exists()


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    jwt = server.jwt()
    assert server.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=jwt).status == 200
    assert server.stop(signal.SIGINT) == 0
    stdout, stderr = server.logs()
    assert "Traceback" not in stderr + stdout
    assert "apitokens serve: stopped" in stderr


def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--port", str(port), cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def external_dynamodb() -> Iterator[str]:
    """A DynamoDB that is not the server's own (moto's server in this process, as DynamoDB Local would be)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_serve_uses_a_given_dynamodb_and_keeps_its_data(tmp_path: Path, external_dynamodb: str) -> None:
    table = "apitokens-e2e-external"
    client = boto3.client(
        "dynamodb",
        endpoint_url=external_dynamodb,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    first = start_server(tmp_path, "--dynamodb-endpoint", external_dynamodb, "--table", table)
    stdout, _ = first.logs()
    assert f"DynamoDB: {external_dynamodb}, table {table}" in stdout
    described = client.describe_table(TableName=table)["Table"]
    expected = table_create_arguments(table)
    assert described["KeySchema"] == expected["KeySchema"]
    jwt = first.jwt()
    created = first.create_token(jwt, name="survives a restart")
    assert first.stop() == 0

    # A second server on the same table finds the token (the table is reused, not re-created).
    second = start_server(tmp_path, "--dynamodb-endpoint", external_dynamodb, "--table", table)
    try:
        listed = second.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=jwt)
        assert listed.status == 200, listed.text
        assert [record["sid"] for record in listed.body["records"]] == [created["sid"]]
        assert second.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=created["token"]).status == 200
    finally:
        assert second.stop() == 0
