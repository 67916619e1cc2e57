"""The OpenAPI 3.1 document of the API, generated rather than written: paths and methods from
template.yaml, each route's scope from apitokens.domain.scopes.ROUTES, bodies from the pydantic models
the handlers validate and serialise with. Served by `apitokens serve` at /v1/openapi.json and
printed by `apitokens openapi`.

OpenAPI 3.1 because pydantic emits JSON Schema 2020-12 (nullable fields are anyOf [..., null]).
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from apitokens.domain import errors, idempotency, ids, scopes
from apitokens.domain.audit import EVENT_TYPES
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
from apitokens_dev import template

DEFAULT_SERVER_URL = "http://127.0.0.1:3000/v1"
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"


@dataclass(frozen=True)
class _Operation:
    operation_id: str
    summary: str
    description: str
    status: int
    response: type[BaseModel]
    request: type[BaseModel] | None = None
    paginated: bool = False
    # Accepts an Idempotency-Key (apitokens.domain.idempotency): a replay answers 200 without the secret.
    idempotent: bool = False
    request_example: dict[str, Any] | None = None
    response_example: dict[str, Any] | None = None
    # Served without the authorizer (leak reports): no bearer token, no scope.
    public: bool = False
    # Query parameters of its own (inline OpenAPI parameter objects).
    query: tuple[dict[str, Any], ...] = ()


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_AUDIT_QUERY = (
    {"$ref": "#/components/parameters/limit"},
    _query(
        "startingAfter",
        "An event sid: return the events after it (the next page), of the same filters.",
        {"type": "string", "pattern": f"^{EVENT_SID_PATTERN}$"},
    ),
    _query(
        "apiTokenSid", "Only this token's events.", {"type": "string", "pattern": f"^{ids.TOKEN_SID_PATTERN.pattern}$"}
    ),
    _query("type", "Only events of this type.", {"type": "string", "enum": list(EVENT_TYPES)}),
)


# The README's and the API contract's examples (a test checks the README's request bodies are here).
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


# What a route means to a reader; which routes exist is template.yaml's business. A template
# route missing here fails the build of the document instead of being left undocumented.
_OPERATIONS: dict[tuple[str, str], _Operation] = {
    ("GET", scopes.TOKENS): _Operation(
        "listApiTokens",
        "List API tokens",
        "Retrieve all API tokens associated with an account, newest first.",
        200,
        ApiTokenList,
        paginated=True,
        response_example={"hasMore": False, "records": [_TOKEN_EXAMPLE]},
    ),
    ("POST", scopes.TOKENS): _Operation(
        "createApiToken",
        "Create API token",
        "Create a new API token for programmatic access. The token value is only returned once, "
        "in this response: store it securely, it cannot be retrieved again.",
        201,
        CreatedApiToken,
        request=CreateTokenRequest,
        idempotent=True,
        request_example=_CREATE_EXAMPLE,
        response_example=_CREATED_EXAMPLE,
    ),
    ("GET", scopes.TOKEN): _Operation(
        "getApiToken",
        "Get API token",
        "Retrieve details of a specific API token (never its value).",
        200,
        ApiToken,
        response_example=_TOKEN_EXAMPLE,
    ),
    ("PUT", scopes.TOKEN): _Operation(
        "updateApiToken",
        "Update API token",
        "Update an existing API token's name, description and isActive. The token value and its "
        "scopes cannot be changed: to change scopes, create a new token and delete the old one.",
        200,
        ApiToken,
        request=UpdateTokenRequest,
        request_example={"name": "Analytics Token (rotated)", "isActive": False},
        response_example={**_TOKEN_EXAMPLE, "name": "Analytics Token (rotated)", "isActive": False},
    ),
    ("DELETE", scopes.TOKEN): _Operation(
        "deleteApiToken",
        "Delete API token",
        "Delete an API token, immediately revoking access. This action is irreversible.",
        200,
        DeletedApiToken,
        response_example={"sid": "tok_abc123def456ghi789jkl012", "deleted": True},
    ),
    ("POST", scopes.ROLL): _Operation(
        "rollApiToken",
        "Roll API token",
        "Replace a token by a new one with the same name, description, scopes and expiresAt. The old token "
        "keeps working for gracePeriodSeconds (0 to 604800, default 0: it stops now); the tokens it created "
        "move to the new one. The new token value is only returned once, in this response. The body is "
        "optional.",
        201,
        RolledApiToken,
        request=RollTokenRequest,
        idempotent=True,
    ),
    ("GET", scopes.AUDIT_EVENTS): _Operation(
        "listAuditEvents",
        "List audit events",
        "Every change to the account's tokens (created, updated, deactivated, reactivated, deleted, rolled, "
        "revoked by cascade, leaked), first uses from new IPs and expiry warnings, newest first. Events are kept "
        "AuditRetentionDays days (default 400). Filter by apiTokenSid and/or type; paginate with limit and "
        "startingAfter (an event sid of the previous page, with the same filters).",
        200,
        AuditEventList,
        query=_AUDIT_QUERY,
    ),
    ("GET", scopes.USAGE): _Operation(
        "getApiTokenUsage",
        "Get API token usage",
        "When the token was last used and from where: its 5 most recently seen source IPs, each with its "
        "userAgent, firstSeenAt and lastSeenAt (sampled at most once a minute, with lastUsedAt).",
        200,
        TokenUsage,
    ),
    ("POST", "/secret-scanning/github"): _Operation(
        "reportGithubSecretScanning",
        "GitHub secret-scanning report",
        "GitHub's secret-scanning partner endpoint: a JSON array of 1-1,000 {token, type, url, source} "
        "(a body of up to 1 MiB; larger is a 413), signed "
        "(Github-Public-Key-Identifier, Github-Public-Key-Signature: ECDSA P-256 SHA-256 over the raw body). "
        "Each token of this deployment is revoked as leaked, with its descendants; the answer is GitHub's "
        "feedback list (token_hash, token_type, label). A bad or missing signature is a 401 and changes nothing.",
        200,
        GithubFeedbackList,
        request=GithubReport,
        public=True,
    ),
    ("POST", "/credentials/revoke"): _Operation(
        "revokeCredentials",
        "Revoke found tokens",
        "Anyone who finds a token may submit it (at most 100 strings per request, a body of up to 16 KiB). "
        "Always 202 with the same body, whatever the strings were; real tokens are revoked as leaked, any "
        "other string matches nothing. Throttled: 429 when exceeded.",
        202,
        RevokeCredentialsAccepted,
        request=RevokeCredentialsRequest,
        public=True,
    ),
}

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is invalid (body, path or query parameters); details name each field."),
    401: ("Unauthorized", "Missing or invalid credentials."),
    403: ("Forbidden", "The credentials do not grant this route (scope) on this account."),
    404: ("NotFound", "No such API token, or no such route."),
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
# Every status the API or the gateway may answer on any route; the writes add _WRITE_ERRORS.
_COMMON_ERRORS = (400, 401, 403, 404, 429, 500, 503)
_WRITE_ERRORS = (409, 413, 415)

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
)
_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    CreateTokenRequest,
    UpdateTokenRequest,
    RollTokenRequest,
    GithubReport,
    RevokeCredentialsRequest,
)


def _pattern(compiled: Any) -> str:
    return f"^{compiled.pattern}$"


def _domain_codes(error_type: type[errors.DomainError]) -> set[str]:
    codes = {error_type.code}
    for subclass in error_type.__subclasses__():
        codes |= _domain_codes(subclass)
    return codes


def error_codes() -> list[str]:
    """Every `error.code` a client can get: the domain errors', the gateway responses' of
    template.yaml, and http.py's own (an unknown route, an unexpected error)."""
    codes = _domain_codes(errors.DomainError) - {errors.DomainError.code}
    for response in template.gateway_responses().values():
        body = (response.get("ResponseTemplates") or {}).get("application/json")
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


def _parameters() -> dict[str, Any]:
    return {
        "accountSid": {
            "name": "accountSid",
            "in": "path",
            "required": True,
            "description": "Account identifier: acc_ followed by 24 or 27 alphanumeric characters.",
            "schema": {"type": "string", "pattern": _pattern(ids.ACCOUNT_SID_PATTERN)},
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


def _public_operation(operation: _Operation) -> dict[str, Any]:
    request = operation.request or RevokeCredentialsRequest
    # What the gateway and the function may answer: the shared error responses (here a 401 is
    # a missing or bad signature; a 409, a token changed while it was being revoked: retry).
    errors: dict[str, Any] = {
        str(status): {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
        for status in (*_COMMON_ERRORS, *_WRITE_ERRORS)
    }
    return {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tags": ["Leak response"],
        "security": [],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=request.__name__)}}},
        },
        "responses": {
            str(operation.status): {
                "description": operation.summary + ": accepted.",
                "content": {"application/json": {"schema": {"$ref": REF.format(model=operation.response.__name__)}}},
            },
            **dict(sorted(errors.items())),
        },
    }


def _operation(method: str, path: str, operation: _Operation) -> dict[str, Any]:
    if operation.public:
        return _public_operation(operation)
    route = scopes.route_for(method, path)
    if route is None:
        raise LookupError(f"apitokens.domain.scopes.ROUTES has no scope for {method} {path}")
    parameters = [{"$ref": f"#/components/parameters/{name}"} for name in ("accountSid", "apiTokenSid") if name in path]
    if operation.paginated:
        parameters += [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/startingAfter"}]
    parameters += list(operation.query)
    statuses = list(_COMMON_ERRORS)
    if method in ("POST", "PUT"):
        statuses += _WRITE_ERRORS
    elif method == "DELETE":
        statuses.append(409)
    no_store = {"Cache-Control": {"description": "Always no-store.", "schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(operation.status): {
            "description": operation.summary.split(" ", 1)[0] + " succeeded.",
            "headers": no_store,
            "content": {"application/json": _media(operation.response, operation.response_example)},
        }
    }
    if operation.idempotent:
        parameters.append({"$ref": "#/components/parameters/idempotencyKey"})
        statuses.append(422)
        responses["200"] = {
            "description": "A replay of an earlier request with the same Idempotency-Key: the token object it "
            "created, without the token value.",
            "headers": {
                **no_store,
                "Idempotent-Replayed": {"description": "Always true.", "schema": {"type": "string", "enum": ["true"]}},
            },
            "content": {"application/json": {"schema": {"$ref": REF.format(model=ApiToken.__name__)}}},
        }
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": f"{operation.description}\n\nRequired scope: `{route.scope}`.",
        "tags": ["API Tokens"],
        "parameters": parameters,
        "security": [{SECURITY_SCHEME: []}],
        "x-required-scope": route.scope,
        "responses": responses,
    }
    if operation.request is not None:
        document["requestBody"] = {
            # Roll's body is optional: every field has a default.
            "required": operation.request is not RollTokenRequest,
            "content": {"application/json": _media(operation.request, operation.request_example)},
        }
    return document


def _media(model: type[BaseModel], example: dict[str, Any] | None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": REF.format(model=model.__name__)}}
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
    for route in template.api_routes():
        operation = _OPERATIONS.get((route.method, route.path))
        if operation is None:
            raise LookupError(f"template.yaml route {route.method} {route.path} has no OpenAPI description")
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route.method, route.path, operation)
    _link_token_sids(paths)
    scope_list = "\n".join(f"- `{name}`: {description}" for name, description in scopes.SCOPES.items())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "apitokens",
            "version": _version(),
            "description": "Scoped API tokens for an account.\n\nAvailable scopes:\n" + scope_list,
        },
        "servers": [{"url": server_url}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": "API Tokens"}, {"name": "Leak response"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A user JWT from the identity provider, or an API token (at_live_/at_test_).",
                }
            },
            "parameters": _parameters(),
            "responses": _error_responses(),
            "schemas": _schemas(),
        },
    }
