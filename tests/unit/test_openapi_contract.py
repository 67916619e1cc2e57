"""openapi.json is a contract a client generator can trust: committed, equal to what the code
generates, declaring every status the API and the gateway answer, with error.code an enum and
the README's and docs/api.md's token request examples in it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from apitokens.domain import errors
from apitokens.wire.models import ApiToken, CreatedApiToken, CreateTokenRequest, UpdateTokenRequest
from apitokens_dev import cli
from apitokens_dev.openapi import build_openapi, error_codes
from apitokens_dev.template import PROJECT_ROOT, gateway_responses

DOCUMENT = build_openapi()
OPERATIONS = [
    (path, method, operation) for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
]
EVERY_ROUTE_STATUSES = {"400", "401", "403", "404", "429", "500", "503"}
WRITE_STATUSES = {"409", "413", "415"}


def test_committed_openapi_json_is_what_the_code_generates() -> None:
    committed = json.loads((PROJECT_ROOT / "openapi.json").read_text(encoding="utf-8"))
    assert committed == DOCUMENT, "openapi.json drifted from the code: run `make openapi` and commit it"


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_every_status_the_api_and_gateway_answer_is_declared(path: str, method: str, operation: dict[str, Any]) -> None:
    statuses = set(operation["responses"])
    assert statuses >= EVERY_ROUTE_STATUSES
    if method in ("post", "put"):
        assert statuses >= WRITE_STATUSES
    for status in statuses - {"200", "201", "202"}:
        reference = operation["responses"][status]["$ref"]
        response = DOCUMENT["components"]["responses"][reference.rsplit("/", 1)[1]]
        assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


def test_all_declared_statuses_together_cover_the_issue_list() -> None:
    declared = {status for _, _, operation in OPERATIONS for status in operation["responses"]}
    assert declared >= {"400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503"}


def _codes(error_type: type[errors.DomainError]) -> set[str]:
    return {error_type.code}.union(*(_codes(subclass) for subclass in error_type.__subclasses__()))


def test_error_code_is_an_enum_of_every_code_the_service_and_gateway_send() -> None:
    enum = DOCUMENT["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
    assert enum == error_codes()
    assert set(enum) >= _codes(errors.DomainError) - {"error"}
    for name, response in gateway_responses().items():
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert body["error"]["code"] in enum, name


def test_retryable_statuses_declare_retry_after() -> None:
    responses = DOCUMENT["components"]["responses"]
    for name in ("Conflict", "TooManyRequests", "ServiceUnavailable"):
        assert "Retry-After" in responses[name]["headers"]


def _example(path: str, method: str, status: str | None = None) -> Any:
    operation = DOCUMENT["paths"][path][method]
    if status is None:
        return operation["requestBody"]["content"]["application/json"]["example"]
    return operation["responses"][status]["content"]["application/json"]["example"]


def test_examples_are_valid_for_their_models() -> None:
    tokens, token = "/accounts/{accountSid}/apiTokens", "/accounts/{accountSid}/apiTokens/{apiTokenSid}"
    CreateTokenRequest.model_validate_json(json.dumps(_example(tokens, "post")))
    UpdateTokenRequest.model_validate_json(json.dumps(_example(token, "put")))
    CreatedApiToken.model_validate_json(json.dumps(_example(tokens, "post", "201")))
    ApiToken.model_validate_json(json.dumps(_example(token, "get", "200")))
    ApiToken.model_validate_json(json.dumps(_example(tokens, "get", "200")["records"][0]))


def test_the_documents_request_examples_are_in_the_spec() -> None:
    documents = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "api.md"]
    text = "\n".join(document.read_text(encoding="utf-8") for document in documents)
    bodies = [json.loads(body) for body in re.findall(r"-d '(\{\"name\".*?\})'", text, flags=re.DOTALL)]
    assert bodies
    examples = [
        operation["requestBody"]["content"]["application/json"].get("example")
        for _, _, operation in OPERATIONS
        if "requestBody" in operation
    ]
    for body in bodies:
        assert body in examples


def test_server_url_option_sets_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
    assert cli.main(["openapi", "--server-url", url]) == 0
    assert json.loads(capsys.readouterr().out)["servers"] == [{"url": url}]
