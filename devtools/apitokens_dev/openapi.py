"""The OpenAPI 3.1 document of the API, generated rather than written: each operation (method, path,
scope, summary, statuses, body models) from its one declaration in apitokens.domain.token_api, bodies
from the pydantic models the handlers validate and serialise with. Served by `apitokens serve` at /v1/openapi.json and
printed by `apitokens openapi`.

OpenAPI 3.1 because pydantic emits JSON Schema 2020-12 (nullable fields are anyOf [..., null]).
"""

from __future__ import annotations

import importlib.metadata
import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from apitokens.domain import errors, ids, scopes, token_api, tokens
from apitokens.domain.audit import EVENT_TYPES
from apitokens.domain.token_api import Operation
from apitokens.rules import idempotency
from apitokens.settings import get_deployment
from apitokens.wire.audit_models import EVENT_SID_PATTERN, AuditEventList, TokenUsage
from apitokens.wire.leak_models import (
    GithubFeedbackList,
    GithubReport,
    RevokeCredentialsAccepted,
    RevokeCredentialsRequest,
)
from apitokens.wire.models import (
    ApiToken,
    ApiTokenList,
    CreatedApiToken,
    CreateTokenRequest,
    DeletedApiToken,
    ErrorEnvelope,
    RolledApiToken,
    RollTokenRequest,
    UpdateTokenRequest,
)
from apitokens.wire.verify_models import VerifyTokenAnswer, VerifyTokenRequest
from apitokens_dev import template

DEFAULT_SERVER_URL = "http://127.0.0.1:3000/v1"
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"
# AWS_IAM routes: SigV4, as API Gateway's own OpenAPI extension names it.
SIGV4_SCHEME = "sigv4"


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# The query parameters an operation names (token_api.Operation.query).
_QUERY: dict[str, dict[str, Any]] = {
    "limit": {"$ref": "#/components/parameters/limit"},
    "eventStartingAfter": _query(
        "startingAfter",
        "An event sid: return the events after it (the next page), of the same filters.",
        {"type": "string", "pattern": f"^{EVENT_SID_PATTERN}$"},
    ),
    "apiTokenSid": _query(
        "apiTokenSid", "Only this token's events.", {"type": "string", "pattern": f"^{ids.TOKEN_SID_PATTERN.pattern}$"}
    ),
    "type": _query("type", "Only events of this type.", {"type": "string", "enum": list(EVENT_TYPES)}),
    "keepSuccessor": _query(
        "keepSuccessor",
        "By a user, for a token that rolled itself: true keeps its successor (it moves to this token's "
        "parent); false, the default, deactivates it with this token. 403 from an API token.",
        {"type": "boolean", "default": False},
    ),
}


# The API contract's examples, which the README and docs/api.md show (a test checks their request
# bodies are here).
_TOKEN_EXAMPLE: dict[str, Any] = {
    "sid": "tok_abc123def456ghi789jkl012",
    "accountSid": "acc_abc123def456ghi789jkl012",
    "name": "Analytics Token",
    "description": "Read-only access to metrics and buckets",
    "scopes": ["metrics:read", "buckets:read"],
    "lastUsedAt": "2023-12-01T14:30:00.000Z",
    "expiresAt": "2030-12-31T23:59:59.000Z",
    "isActive": True,
    "createdAt": "2023-11-01T10:00:00.000Z",
    "createdBy": {"type": "user", "id": "user_2Xb9"},
    "parentSid": None,
    "revokedReason": None,
    "revokedAt": None,
    "rolledTo": None,
    "redactedToken": "at_live_\u20260a1B",
    "metadata": None,
    "allowedIps": None,
}
_CREATE_EXAMPLE = {
    "name": "Analytics Token",
    "scopes": ["metrics:read", "buckets:read"],
    "expiresAt": "2030-12-31T23:59:59.000Z",
}
_CREATED_EXAMPLE = {
    **{key: value for key, value in _TOKEN_EXAMPLE.items() if key != "lastUsedAt"},
    "token": "at_live_abcdefghijklmnopqrstuvwxyz12340a1B2c",
}


# Examples of request and response bodies, by operation id.
_REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "createApiToken": _CREATE_EXAMPLE,
    "updateApiToken": {"name": "Analytics Token (rotated)", "isActive": False},
    "verifyApiToken": {
        "token": "at_live_abcdefghijklmnopqrstuvwxyz12340a1B2c",
        "method": "GET",
        "path": "/accounts/acc_abc123def456ghi789jkl012/metrics",
    },
}
_RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "listApiTokens": {"hasMore": False, "records": [_TOKEN_EXAMPLE]},
    "createApiToken": _CREATED_EXAMPLE,
    "getApiToken": _TOKEN_EXAMPLE,
    "updateApiToken": {**_TOKEN_EXAMPLE, "name": "Analytics Token (rotated)", "isActive": False},
    "deleteApiToken": {"sid": "tok_abc123def456ghi789jkl012", "deleted": True},
    "verifyApiToken": {
        "active": True,
        "accountSid": "acc_abc123def456ghi789jkl012",
        "tokenSid": "tok_abc123def456ghi789jkl012",
        "scopes": ["buckets:read", "metrics:read"],
        "expiresAt": "2030-12-31T23:59:59.000Z",
        "allowed": True,
    },
}

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is invalid (body, path or query parameters); details name each field."),
    401: ("Unauthorized", "Missing or invalid credentials."),
    403: (
        "Forbidden",
        "The credentials do not grant this route (scope) on this account; no such route; or, on a route "
        "authorized by IAM, no valid SigV4 signature of a principal allowed to call it.",
    ),
    404: ("NotFound", "No such API token."),
    409: (
        "Conflict",
        "The account's token limit is reached, the token changed concurrently, or a request with the same "
        "Idempotency-Key is still in progress.",
    ),
    413: ("PayloadTooLarge", "The request body is too large."),
    415: ("UnsupportedMediaType", "The request body is not application/json."),
    422: ("IdempotencyKeyReused", "The Idempotency-Key was already used with a different request body."),
    429: ("TooManyRequests", "The stage's rate or burst limit was exceeded (API Gateway); retry later."),
    500: ("InternalError", "An unexpected error; nothing secret is in the body."),
    503: ("ServiceUnavailable", "The token store or the authorizer is temporarily unavailable; retry."),
}
# Every body model of the document; an operation names its models (token_api) by class name.
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ApiToken,
    CreatedApiToken,
    ApiTokenList,
    DeletedApiToken,
    RolledApiToken,
    ErrorEnvelope,
    GithubFeedbackList,
    RevokeCredentialsAccepted,
    AuditEventList,
    TokenUsage,
    VerifyTokenAnswer,
)
_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    CreateTokenRequest,
    UpdateTokenRequest,
    RollTokenRequest,
    GithubReport,
    RevokeCredentialsRequest,
    VerifyTokenRequest,
)


_MODELS: dict[str, type[BaseModel]] = {model.__name__: model for model in (*_RESPONSE_MODELS, *_REQUEST_MODELS)}


def _schema_ref(model: str) -> dict[str, str]:
    """A reference to one of the document's models; KeyError for a name no model has."""
    return {"$ref": REF.format(model=_MODELS[model].__name__)}


def _pattern(compiled: Any) -> str:
    return f"^{compiled.pattern}$"


def _domain_codes(error_type: type[errors.DomainError]) -> set[str]:
    codes = {error_type.code}
    for subclass in error_type.__subclasses__():
        codes |= _domain_codes(subclass)
    return codes


def error_codes() -> list[str]:
    """Every `error.code` a client can get: the domain errors', the gateway responses' of
    template.yaml (and its catch-all methods' 405), and http.py's own (an unknown route, an
    unexpected error)."""
    codes = _domain_codes(errors.DomainError) - {errors.DomainError.code}
    bodies = [
        (response.get("ResponseTemplates") or {}).get("application/json")
        for response in template.gateway_responses().values()
    ]
    bodies += [answer.body for answer in template.any_method_answers()]
    for body in bodies:
        if body:
            codes.add(json.loads(body)["error"]["code"])
    return sorted(codes | {"not_found", "internal_error"})


def _schemas() -> dict[str, Any]:
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in _REQUEST_MODELS]
    outputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "serialization") for model in _RESPONSE_MODELS]
    _, top = models_json_schema([*inputs, *outputs], by_alias=True, ref_template=REF)
    definitions: dict[str, Any] = top["$defs"]
    for schema in definitions.values():
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)  # pydantic's "Accountsid" and the like add nothing
    definitions["ErrorBody"]["properties"]["code"]["enum"] = error_codes()
    return definitions


def _account_sid_description() -> str:
    pattern = ids.account_sid_pattern()
    if pattern.pattern == ids.ACCOUNT_SID_PATTERN.pattern:
        return "Account identifier: acc_ followed by 24 or 27 alphanumeric characters."
    return f"Account identifier: it matches {pattern.pattern} (the deployment's AccountIdPattern)."


def _parameters() -> dict[str, Any]:
    return {
        "accountSid": {
            "name": "accountSid",
            "in": "path",
            "required": True,
            "description": _account_sid_description(),
            "schema": {"type": "string", "pattern": _pattern(ids.account_sid_pattern())},
            "example": "acc_abc123def456ghi789jkl012",
        },
        "apiTokenSid": {
            "name": "apiTokenSid",
            "in": "path",
            "required": True,
            "description": "API token identifier: tok_ followed by 21 to 24 alphanumeric characters.",
            "schema": {"type": "string", "pattern": _pattern(ids.TOKEN_SID_PATTERN)},
            "example": "tok_abc123def456ghi789jkl012",
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "How many tokens to return (1-100, default 20).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
        "idempotencyKey": {
            "name": idempotency.HEADER,
            "in": "header",
            "required": False,
            "description": "Makes a retry of this create safe for 24 hours: the same key and body create nothing new "
            "and answer 200 with the token object, without its value.",
            "schema": {"type": "string", "pattern": _pattern(idempotency.KEY_PATTERN)},
        },
        "startingAfter": {
            "name": "startingAfter",
            "in": "query",
            "required": False,
            "description": "A token sid: return the tokens after it (the next page).",
            "schema": {"type": "string", "pattern": _pattern(ids.TOKEN_SID_PATTERN)},
        },
    }


def _error_responses() -> dict[str, Any]:
    envelope = {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
    retry_after = {
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}},
    }
    responses: dict[str, Any] = {}
    for status, (name, description) in _ERRORS.items():
        response: dict[str, Any] = {"description": description, "content": envelope}
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"description": "The expected scheme: Bearer.", "schema": {"type": "string"}}
            }
        elif status in (409, 429, 503):
            response["headers"] = retry_after
        responses[name] = response
    return responses


def _public_operation(operation: Operation) -> dict[str, Any]:
    """An operation the token authorizer does not guard: public (the leak reports) or IAM's."""
    errors: dict[str, Any] = {
        str(status): {"$ref": f"#/components/responses/{_ERRORS[status][0]}"} for status in operation.errors
    }
    return {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tags": ["Token verification" if operation.iam else "Leak response"],
        "security": [{SIGV4_SCHEME: []}] if operation.iam else [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": _media(operation.request or "", _REQUEST_EXAMPLES.get(operation.operation_id))
            },
        },
        "responses": {
            str(operation.status): {
                "description": operation.summary + ": accepted.",
                "content": {
                    "application/json": _media(operation.response, _RESPONSE_EXAMPLES.get(operation.operation_id))
                },
            },
            **dict(sorted(errors.items())),
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    if operation.scope is None:
        return _public_operation(operation)
    path = operation.path
    parameters = [{"$ref": f"#/components/parameters/{name}"} for name in ("accountSid", "apiTokenSid") if name in path]
    if operation.paginated:
        parameters += [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/startingAfter"}]
    parameters += [_QUERY[name] for name in operation.query]
    no_store = {"Cache-Control": {"description": "Always no-store.", "schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(operation.status): {
            "description": operation.summary.split(" ", 1)[0] + " succeeded.",
            "headers": no_store,
            "content": {"application/json": _media(operation.response, _RESPONSE_EXAMPLES.get(operation.operation_id))},
        }
    }
    if operation.idempotent:
        parameters.append({"$ref": "#/components/parameters/idempotencyKey"})
        responses["200"] = {
            "description": "A replay of an earlier request with the same Idempotency-Key: the token object it "
            "created, without the token value.",
            "headers": {
                **no_store,
                "Idempotent-Replayed": {"description": "Always true.", "schema": {"type": "string", "enum": ["true"]}},
            },
            "content": {"application/json": {"schema": {"$ref": REF.format(model=ApiToken.__name__)}}},
        }
    for status in sorted(operation.errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": f"{operation.description}\n\nRequired scope: `{operation.scope}`.",
        "tags": ["API Tokens"],
        "parameters": parameters,
        "security": [{SECURITY_SCHEME: []}],
        "x-required-scope": operation.scope,
        "responses": responses,
    }
    if operation.request is not None:
        document["requestBody"] = {
            "required": operation.request_required,
            "content": {"application/json": _media(operation.request, _REQUEST_EXAMPLES.get(operation.operation_id))},
        }
    return document


def _media(model: str, example: dict[str, Any] | None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _schema_ref(model)}
    if example is not None:
        media["example"] = example
    return media


def _version() -> str:
    try:
        return importlib.metadata.version("apitokens")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _link_token_sids(paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from every 2xx response that carries a token (its `sid`) to the operations
    that take an apiTokenSid: what a client does next, and what lets a stateful API tester
    follow a created token through get, update and delete."""
    consumers = [
        operation["operationId"]
        for path in (scopes.TOKEN, scopes.ROLL)
        for operation in (paths.get(path) or {}).values()
        if any(parameter.get("$ref", "").endswith("/apiTokenSid") for parameter in operation.get("parameters", []))
    ]
    links = {
        f"{operation_id}BySid": {
            "operationId": operation_id,
            "parameters": {"accountSid": "$request.path.accountSid", "apiTokenSid": "$response.body#/sid"},
        }
        for operation_id in consumers
    }
    for path in (scopes.TOKENS, scopes.TOKEN, scopes.ROLL):
        for method, operation in (paths.get(path) or {}).items():
            if path == scopes.TOKENS and method == "get":
                continue  # a list: its records are many tokens, not one
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    response["links"] = dict(links)


def build_openapi(server_url: str = DEFAULT_SERVER_URL) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for operation in token_api.OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    _link_token_sids(paths)
    scope_list = "\n".join(f"- `{name}`: {description}" for name, description in scopes.scope_catalog().items())
    live, test = tokens.prefixes(get_deployment().token_prefix)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "apitokens",
            "version": _version(),
            "description": "Scoped API tokens for an account.\n\nAvailable scopes:\n" + scope_list,
        },
        "servers": [{"url": server_url}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": "API Tokens"}, {"name": "Leak response"}, {"name": "Token verification"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": f"A user JWT from the identity provider, or an API token ({live}/{test}).",
                },
                SIGV4_SCHEME: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                    "description": "AWS Signature Version 4 (service execute-api, the API's region) by an IAM "
                    "principal allowed execute-api:Invoke on the route. Locally: the keys of "
                    "`apitokens dev-credentials`, region us-east-1.",
                },
            },
            "parameters": _parameters(),
            "responses": _error_responses(),
            "schemas": _schemas(),
        },
    }
