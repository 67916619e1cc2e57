"""What every CRUD handler shares: the resolver, its guards, and the one map from domain errors
to HTTP responses.

A handler file is its route (`route`: method and path from the route's one declaration in
apitokens.domain.token_api) that parses, calls one service function and shapes the response, and
`handler = lambda_handler(app)`; everything else happens here, once.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from apitokens import tracing
from apitokens.auth import policy
from apitokens.domain import audit, catalogs, errors, ids, scopes
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import route_for
from apitokens.domain.token_api import Operation
from apitokens.settings import get_settings
from apitokens.store.catalogs import CatalogStore
from apitokens.store.driver import create_client
from apitokens.store.event_repository import EventRepository
from apitokens.store.repository import TokenRepository

# The token routes' bodies, and /credentials/revoke's (100 strings of up to 1,024 characters fit);
# a route that takes more says so (create_public_app).
MAX_BODY_BYTES = 16 * 1024
JSON_CONTENT_TYPE = "application/json"

logger = Logger()
metrics = Metrics()
# A refused request publishes no metric, which is normal here, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# The one place a domain error becomes an HTTP status (most specific class first).
STATUS_BY_ERROR: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.InvalidRequest, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.TokenNotFound, 404),
    (errors.ConcurrentModification, 409),
    (errors.TokenLimitReached, 409),
    (errors.TokenStateConflict, 409),
    (errors.IdempotencyKeyReused, 422),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.StoreUnavailable, 503),
)

# Responses may carry a secret (create) or account data: never cached by anyone on the way.
_NO_STORE = {"Cache-Control": "no-store"}

Model = TypeVar("Model", bound=BaseModel)
Route = TypeVar("Route", bound=Callable[..., Any])
_PATH_PARAMETER = re.compile(r"\{([A-Za-z][A-Za-z0-9]*)\}")


def json_response(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON_CONTENT_TYPE,
        body=model.model_dump_json(by_alias=True),
        headers={**_NO_STORE, **(headers or {})},
    )


def error_body(code: str, message: str, details: list[errors.FieldError] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = [{"field": detail.field, "message": detail.message} for detail in details]
    return json.dumps({"error": error})


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[errors.FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON_CONTENT_TYPE,
        body=error_body(code, message, details),
        headers={**_NO_STORE, **(headers or {})},
    )


def status_for(error: errors.DomainError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def error_headers(error: errors.DomainError) -> dict[str, str]:
    """The headers of a domain error's answer beyond the JSON ones (Retry-After)."""
    if isinstance(error, errors.StoreUnavailable):
        return {"Retry-After": str(error.retry_after_seconds)}
    if isinstance(error, errors.ConcurrentModification):
        return {"Retry-After": "1"}
    return {}


def domain_error_response(error: errors.DomainError) -> Response[str]:
    if isinstance(error, errors.StoreUnavailable):
        logger.warning("token store unavailable", extra={"cause": type(error.__cause__).__name__})
        # A request the store failed: what StoreUnavailableAlarm (template.yaml) counts.
        metrics.add_metric(name="StoreUnavailable", unit=MetricUnit.Count, value=1)
    details = error.details if isinstance(error, errors.InvalidRequest) else None
    return error_response(status_for(error), error.code, error.message, details, error_headers(error))


_FIXED_FIELD_HINT = "cannot be changed; to change scopes, create a new token and delete the old one"


def _field_errors(error: ValidationError) -> list[errors.FieldError]:
    details = []
    for problem in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        if problem["type"] == "extra_forbidden":
            message = _FIXED_FIELD_HINT if field in ("scopes", "token", "sid") else "is not a field of this request"
        else:
            message = problem["msg"]
        details.append(errors.FieldError(field, message))
    return details


def parse_body(app: APIGatewayRestResolver, model: type[Model]) -> Model:
    """The request body as `model`; any problem is a 400 that names each offending field."""
    return parse_json_body(body_bytes(app), model)


def parse_json_body(raw: bytes, model: type[Model]) -> Model:
    """`raw` as `model`; any problem is a 400 that names each offending field."""
    if not raw.strip():
        raise errors.InvalidRequest("A JSON request body is required.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        details = _field_errors(error)
        if any(problem["type"] == "json_invalid" for problem in error.errors()):
            raise errors.InvalidRequest("The request body is not valid JSON.") from None
        if any(problem["type"] == "model_type" for problem in error.errors()):
            raise errors.InvalidRequest("The request body must be a JSON object.") from None
        fields = ", ".join(detail.field for detail in details)
        raise errors.InvalidRequest(f"Invalid request body ({fields}).", details) from None


def parse_query(app: APIGatewayRestResolver, model: type[Model]) -> Model:
    event = app.current_event
    params = {name: values[-1] for name, values in (event.multi_value_query_string_parameters or {}).items() if values}
    params.update(event.query_string_parameters or {})
    try:
        return model.model_validate(params)
    except ValidationError as error:
        details = _field_errors(error)
        raise errors.InvalidRequest(
            f"Invalid query parameters ({', '.join(detail.field for detail in details)}).", details
        ) from None


def body_bytes(app: APIGatewayRestResolver) -> bytes:
    return event_body(app.current_event.raw_event)


def event_body(event: Mapping[str, Any]) -> bytes:
    """The body of a proxy event, as bytes."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise errors.InvalidRequest("The request body is not valid base64.") from None
    return str(body).encode("utf-8", errors="surrogatepass")


def _check_body(app: APIGatewayRestResolver, max_bytes: int = MAX_BODY_BYTES) -> None:
    check_event_body(app.current_event.raw_event, max_bytes)


def check_event_body(event: Mapping[str, Any], max_bytes: int = MAX_BODY_BYTES) -> None:
    """A POST or PUT body is at most `max_bytes` of application/json."""
    if event.get("httpMethod") in ("POST", "PUT"):
        body = event_body(event)
        if len(body) > max_bytes:
            raise errors.PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
        headers = event.get("headers") or {}
        content_type = next((str(value) for name, value in headers.items() if name.lower() == "content-type"), "")
        media_type = content_type.split(";")[0].strip().lower()
        # No body, nothing to type (roll's body is optional; create's absence is a 400 below).
        if body and media_type != JSON_CONTENT_TYPE:
            raise errors.UnsupportedMediaType("Send the request body as application/json.")


def _guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Runs before every route: who is calling, may they call this route on this account, and
    is the body acceptable. Defence in depth behind the authorizer's IAM policy."""
    event = app.current_event
    principal = Principal.from_context(event.raw_event.get("requestContext", {}).get("authorizer"))
    account_sid = (event.path_parameters or {}).get("accountSid", "")
    policy.check_route(principal, event.http_method, event.resource, account_sid)
    _check_body(app)
    app.append_context(principal=principal)  # type: ignore[no-untyped-call]
    actor = audit.Actor(principal.type, principal.token_sid or principal.id)
    audit.set_current(audit.context_from_event(event.raw_event, actor))
    logger.append_keys(principal_type=principal.type, principal_id=principal.id)
    return next_middleware(app)


def request_log_fields(event: Mapping[str, Any], response: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """The one log line of a handled request: who called which route, on which account, with
    what outcome and how fast. Built from the authorizer context and the path, never from a
    header or a body, so it carries no credential."""
    request_context = event.get("requestContext") or {}
    context = request_context.get("authorizer") or {}
    return {
        "route": f"{event.get('httpMethod')} {event.get('resource')}",
        "status": response.get("statusCode"),
        "principal_type": context.get("principalType"),
        "principal_id": context.get("principalId"),
        "token_sid": context.get("tokenSid"),
        "account_sid": (event.get("pathParameters") or {}).get("accountSid"),
        "latency_ms": round(latency_ms, 1),
    }


class _LoggedResolver(APIGatewayRestResolver):
    """Powertools' resolver plus one structured log line per request, whatever its outcome."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        started = time.perf_counter()
        response: dict[str, Any] = super().resolve(event, context)
        logger.info("request", extra=request_log_fields(event, response, (time.perf_counter() - started) * 1000))
        return response


def create_public_app(actor_id: str, max_body_bytes: int = MAX_BODY_BYTES) -> APIGatewayRestResolver:
    """The resolver of a route that API Gateway serves without the authorizer; what it changes,
    the system does (as `actor_id`) on a report from the request's origin. A body over
    `max_body_bytes` is a 413."""
    tracing.enable_if_configured(get_settings())
    app = _LoggedResolver()

    def _public_guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
        """The body rules only."""
        _check_body(app, max_body_bytes)
        audit.set_current(audit.context_from_event(app.current_event.raw_event, audit.Actor("system", actor_id)))
        return next_middleware(app)

    app.use(middlewares=[_public_guard])
    _error_handlers(app)
    return app


def _error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(errors.DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: errors.DomainError) -> Response[str]:
        return domain_error_response(error)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        # Logged with its traceback for operators; the caller gets the envelope, never the trace.
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "An internal error occurred.")


def create_app() -> APIGatewayRestResolver:
    settings = get_settings()
    tracing.enable_if_configured(settings)
    # CORS is opt-in (template.yaml: CorsAllowOrigin); preflight never reaches a handler.
    cors = None
    if settings.cors_allow_origin:
        cors = CORSConfig(
            allow_origin=settings.cors_allow_origin,
            allow_headers=["Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After"],
        )
    app = _LoggedResolver(cors=cors)
    app.use(middlewares=[_guard])
    _error_handlers(app)

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        # API Gateway matched this route already (event.resource), so the resolver's miss means
        # a path parameter holds characters no id may have: a 400 that names it.
        event = app.current_event
        if route_for(event.http_method, event.resource) is not None:
            params = event.path_parameters or {}
            try:
                ids.require_account_sid(params.get("accountSid", ""))
                if "apiTokenSid" in params:
                    ids.require_token_sid(params["apiTokenSid"])
            except errors.InvalidRequest as error:
                return domain_error_response(error)
        return error_response(404, "not_found", "No such route.")

    return app


def principal_of(app: APIGatewayRestResolver) -> Principal:
    principal: Principal = app.context["principal"]
    return principal


def repository() -> TokenRepository:
    return TokenRepository.from_settings(get_settings())


def repository_and_catalogs() -> TokenRepository:
    """The repository, and through its client the protected APIs' catalogs, which the scope and
    route lookups of this function then follow (at most a minute old: domain.catalogs)."""
    settings = get_settings()
    client = create_client(settings)
    scopes.use_declarations(catalogs.CatalogCache(CatalogStore(client, settings.table_name).read_all))
    return TokenRepository.from_settings(settings, client)


def event_repository() -> EventRepository:
    return EventRepository.from_settings(get_settings())


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def route(app: APIGatewayRestResolver, operation: Operation) -> Callable[[Route], Route]:
    """Registers the decorated function as `operation`'s route: its method, and its path with each
    {pathParameter} passed as the keyword argument path_parameter."""
    rule = _PATH_PARAMETER.sub(lambda match: f"<{_snake_case(match.group(1))}>", operation.path)
    register: Callable[[Route], Route] = app.route(rule, method=operation.method)
    return register


def lambda_handler(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda entry point of a function serving `app`: Powertools' logger (API Gateway's
    request id as correlation id, keys cleared between requests) and metrics (flushed after each
    request) around the resolver."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler
