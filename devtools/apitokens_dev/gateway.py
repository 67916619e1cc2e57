"""A local stand-in for API Gateway (REST API, Lambda proxy integration, REQUEST authorizer).

It is not a second implementation of the API: routes, functions, the default authorizer and the
gateway responses all come from template.yaml, and the handlers and the authorizer are the real
Lambda functions, loaded from their CodeUri. What it reproduces is API Gateway's own part:
route matching, the authorizer and proxy events (payload v1), IAM policy evaluation against the
method ARN, the authorizer context in requestContext.authorizer, and GatewayResponses for what
the gateway answers itself.

With AuthorizerCacheTtl > 0 the authorizer's answers are cached, keyed by the template's
identity sources (authcache.py), as API Gateway does. Other APIs of the product (`serve --api`,
HTTP APIs: httpapi.py) are served on the same port behind the same authorizer.

Deliberate simplifications: no mapping templates beyond a few $context variables, no function
timeout.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from apitokens_dev import iam, sigv4, template
from apitokens_dev.authcache import AuthorizerCache, IdentitySource, identity_values

Handler = Callable[[dict[str, Any], Any], Any]

REGION = "us-east-1"
AWS_ACCOUNT_ID = "123456789012"
API_ID = "local"

# API Gateway's status for each response type it may answer itself, unless the template sets one.
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "INTEGRATION_FAILURE": 504,
    "INVALID_SIGNATURE": 403,
    "INTEGRATION_TIMEOUT": 504,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}
_DEFAULT_MESSAGES = {
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "UNAUTHORIZED": "Unauthorized",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "INVALID_SIGNATURE": "The request signature we calculated does not match the signature you provided.",
}


# -- responses -------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # For the request log only: "user", "token", or "-" when nobody was authorized.
    principal_type: str = "-"

    def header(self, name: str) -> str | None:
        for key, value in reversed(self.headers):
            if key.lower() == name.lower():
                return value
        return None


_AUTHORIZER_VARIABLE = re.compile(r"\$context\.authorizer\.([A-Za-z0-9_]+)")


class GatewayResponses:
    """The template's GatewayResponses, rendered as API Gateway renders them."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self._definitions = definitions

    @classmethod
    def from_template(cls) -> GatewayResponses:
        return cls(template.gateway_responses())

    def render(
        self,
        response_type: str,
        request_id: str,
        status: int | None = None,
        authorizer: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        definition = self._definitions.get(response_type, {})
        code = int(definition.get("StatusCode") or status or DEFAULT_STATUS.get(response_type, 500))
        # A type the template does not customise falls back to DEFAULT_4XX / DEFAULT_5XX.
        fallback = self._definitions.get("DEFAULT_5XX" if code >= 500 else "DEFAULT_4XX", {})
        templates = definition.get("ResponseTemplates") or fallback.get("ResponseTemplates") or {}
        message = _DEFAULT_MESSAGES.get(response_type, "Internal server error" if code >= 500 else "Bad request")
        body = templates.get("application/json")
        if body is None:
            body = json.dumps({"message": message})
        body = (
            str(body)
            .replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.message", message)
            .replace("$context.requestId", request_id)
        )
        # $context.authorizer.<key>: the authorizer's context (a refusal's too); a key it lacks is
        # empty, as in API Gateway's substitution.
        body = _AUTHORIZER_VARIABLE.sub(lambda match: (authorizer or {}).get(match[1], ""), body)
        parameters = definition.get("ResponseParameters") or fallback.get("ResponseParameters") or {}
        headers = [("Content-Type", "application/json")]
        for name, value in (parameters.get("Headers") or {}).items():
            text = str(value)
            # Only static values ('...') can be evaluated without a request mapping context.
            if len(text) >= 2 and text[0] == text[-1] == "'":
                headers.append((str(name), text[1:-1]))
        headers.append(("x-amzn-RequestId", request_id))
        headers.append(("x-amzn-ErrorType", _error_type(response_type)))
        return HttpResponse(code, headers, body.encode("utf-8"))


def _error_type(response_type: str) -> str:
    return {
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "AUTHORIZER_FAILURE": "AuthorizerFailureException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
        "THROTTLED": "TooManyRequestsException",
        "INVALID_SIGNATURE": "InvalidSignatureException",
    }.get(response_type, "InternalServerErrorException")


# -- routes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # as in template.yaml, e.g. /accounts/{accountSid}/apiTokens
    function: str  # logical id of the function that serves it
    authorized: bool = True  # False: `Auth: {Authorizer: NONE}` or AWS_IAM, no authorizer call
    iam: bool = False  # `Auth: {Authorizer: AWS_IAM}`: a SigV4 signature instead (sigv4.py)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.resource.strip("/").split("/")) if self.resource.strip("/") else ()


def _parameter_name(segment: str) -> str | None:
    return segment[1:-1] if segment.startswith("{") and segment.endswith("}") and len(segment) > 2 else None


def match_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route a request path (stage removed, still percent-encoded) selects, and its decoded
    path parameters. As in API Gateway, a parameter is exactly one non-empty segment (an encoded
    %2F stays inside its segment), and literal segments beat parameters."""
    if not path.startswith("/"):
        return None
    raw_segments = path[1:].split("/") if path != "/" else []
    best: tuple[int, Route, dict[str, str]] | None = None
    for route in routes:
        if route.method != method or len(route.segments) != len(raw_segments):
            continue
        parameters: dict[str, str] = {}
        literals = 0
        for expected, raw in zip(route.segments, raw_segments, strict=True):
            name = _parameter_name(expected)
            value = unquote(raw)
            if name is None:
                if value != expected:
                    break
                literals += 1
            elif not raw:
                break
            else:
                parameters[name] = value
        else:
            if best is None or literals > best[0]:
                best = (literals, route, parameters)
    return None if best is None else (best[1], best[2])


# -- IAM policy evaluation -------------------------------------------------------------------


class PolicyError(ValueError):
    """The authorizer's answer is not a valid authorizer response (AUTHORIZER_CONFIGURATION_ERROR)."""


def _strings(value: Any, what: str) -> None:
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return
    raise PolicyError(f"{what} must be a string or a list of strings")


def policy_allows(policy_document: Any, method_arn: str) -> bool:
    """API Gateway's decision for `method_arn` (apitokens_dev.iam: an explicit Deny wins, then
    any Allow; no matching statement is a deny), after the checks API Gateway makes of the
    document's shape: a malformed one is a configuration error, never a decision."""
    if not isinstance(policy_document, Mapping):
        raise PolicyError("policyDocument must be an object")
    statements = policy_document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policyDocument.Statement must be a non-empty list")
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyError("each Statement must be an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError("Effect must be Allow or Deny")
        _strings(statement.get("Action"), "Action")
        _strings(statement.get("Resource"), "Resource")
    return iam.is_allowed({**policy_document, "Statement": statements}, method_arn)


def _authorizer_context(response: Any) -> tuple[str, dict[str, str]]:
    """principalId and the context API Gateway passes on (its values as strings)."""
    if not isinstance(response, Mapping):
        raise PolicyError("the authorizer must return an object")
    principal_id = response.get("principalId")
    if not isinstance(principal_id, str) or not principal_id:
        raise PolicyError("principalId is missing")
    context = response.get("context") or {}
    if not isinstance(context, Mapping):
        raise PolicyError("context must be an object")
    values: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            values[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            values[str(key)] = str(value)
        else:
            raise PolicyError("context values must be strings, numbers or booleans")
    return principal_id, values


# -- requests and events ---------------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str  # the request target as sent: path and query, percent-encoded
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        return self.target.split("#", 1)[0].split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("#", 1)[0].partition("?")[2]


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


@dataclass
class LambdaContext:
    """What Lambda passes as `context`, as far as Powertools reads it."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{AWS_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


class Function:
    """One function of the template and its execution environments. As in Lambda, an
    environment serves one invocation at a time (the handlers keep module state), and when every
    environment is busy a new one starts: the module loads again, a cold start.

    Environments here are threads of one process, not processes: state a library keeps at class
    level is shared between them. Powertools' resolver does (BaseRouter.current_event), so the
    functions built on it share one `exclusive` lock and run one at a time, while the authorizer,
    which keeps no such state, runs concurrently."""

    def __init__(
        self,
        name: str,
        load: Callable[[], Handler],
        *,
        memory_mb: int = 512,
        timeout_seconds: int = 10,
        max_environments: int = 8,
        exclusive: threading.Lock | None = None,
    ) -> None:
        self.name = name  # logical id
        self.memory_mb = memory_mb
        self.timeout_seconds = timeout_seconds
        self._load = load
        self._exclusive = exclusive or contextlib.nullcontext()
        self._idle: list[Handler] = []
        self._lock = threading.Lock()
        # Lambda would throttle past its concurrency limit; here a request waits for a free one.
        self._capacity = threading.BoundedSemaphore(max_environments)

    def context(self) -> LambdaContext:
        return LambdaContext(self.name, str(uuid.uuid4()), self.memory_mb, self.timeout_seconds)

    def warm(self) -> None:
        """Starts one environment ahead of the first request."""
        handler = self._load()
        with self._lock:
            self._idle.append(handler)

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._capacity:
            with self._lock:
                handler = self._idle.pop() if self._idle else None
            if handler is None:
                handler = self._load()
            try:
                with self._exclusive:
                    return handler(event, self.context())
            finally:
                with self._lock:
                    self._idle.append(handler)


class Throttle:
    """The template's method throttling, as a token bucket per method and source IP (API Gateway's
    own buckets are per method across all clients; per source IP is what a WAF rate rule adds,
    and what keeps one local client from starving another in tests)."""

    def __init__(
        self, limits: Mapping[tuple[str, str], tuple[float, int]], clock: Callable[[], float] = time.monotonic
    ):
        self._limits = dict(limits)
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, method: str, resource: str, source_ip: str) -> bool:
        limit = self._limits.get((method, resource))
        if limit is None:
            return True
        rate, burst = limit
        key = (method, resource, source_ip)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True


class Gateway:
    def __init__(
        self,
        routes: Sequence[Route],
        functions: Mapping[str, Function],
        authorizer: Function,
        responses: GatewayResponses,
        stage: str,
        *,
        identity: Sequence[IdentitySource] = (("header", "Authorization"),),
        cache_ttl: int = 0,
        other_apis: Sequence[Any] = (),
        throttle: Throttle | None = None,
        any_method: Sequence[template.MockAnswer] = (),
        iam_credentials: tuple[str, str] | None = None,
    ) -> None:
        missing = {route.function for route in routes} - set(functions)
        if missing:
            raise ValueError(f"no function loaded for {', '.join(sorted(missing))}")
        self.routes = tuple(routes)
        self._functions = functions
        self._authorizer = authorizer
        self.responses = responses
        self.stage = stage
        self.throttle = throttle or Throttle({})
        self.identity = tuple(identity)
        self.cache = AuthorizerCache(cache_ttl)
        # httpapi.HttpApi instances, tried when no route of this API matches.
        self.other_apis = tuple(other_apis)
        # The catch-all methods' answers (a 405 with Allow), by path: where no route's method matches.
        self.any_method = {answer.path: answer for answer in any_method}
        self._any_routes = tuple(Route("ANY", answer.path, "") for answer in any_method)
        # (access key id, secret) that AWS_IAM routes accept; None: every signature is refused.
        self.iam_credentials = iam_credentials

    @property
    def authorizer(self) -> Function:
        return self._authorizer

    @classmethod
    def from_template(
        cls, cache_ttl: int | None = None, apis: Sequence[Any] = (), iam_credentials: tuple[str, str] | None = None
    ) -> Gateway:
        """Loads every function of template.yaml (and of the `apis`' templates, HTTP APIs behind
        the same authorizer): call it with the environment in place. `cache_ttl` overrides the
        AuthorizerCacheTtl parameter's default; `iam_credentials` are what AWS_IAM routes accept."""
        overrides = {} if cache_ttl is None else {"AuthorizerCacheTtl": str(cache_ttl)}
        definition = template.api_definition(overrides=overrides)

        # The API's functions are built on Powertools' resolver (see Function).
        resolvers = threading.Lock()

        def function(logical_id: str, code_uri: Any, handler: str, exclusive: threading.Lock | None) -> Function:
            memory, timeout = template.function_limits(logical_id)
            load = functools.partial(template.load_handler, code_uri, handler)
            loaded = Function(logical_id, load, memory_mb=memory, timeout_seconds=timeout, exclusive=exclusive)
            loaded.warm()  # a broken function fails the server's start, not its first request
            return loaded

        definitions = template.api_routes()
        functions = {
            item.function: function(item.function, item.code_uri, item.handler, resolvers) for item in definitions
        }
        authorizer = function(*template.default_authorizer(), exclusive=None)
        routes = [Route(item.method, item.path, item.function, item.authorized, item.iam) for item in definitions]
        from apitokens_dev.httpapi import HttpApi

        others = [HttpApi.from_template(path, authorizer, overrides) for path in apis]
        return cls(
            routes,
            functions,
            authorizer,
            GatewayResponses(definition.gateway_responses),
            definition.stage,
            identity=definition.identity,
            cache_ttl=definition.cache_ttl,
            other_apis=others,
            throttle=Throttle(template.method_throttling()),
            any_method=template.any_method_answers(),
            iam_credentials=iam_credentials,
        )

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{AWS_ACCOUNT_ID}:{API_ID}/{self.stage}/{method}{path}"

    def handle(self, request: Request) -> HttpResponse:
        request_id = str(uuid.uuid4())
        prefix = f"/{self.stage}"
        raw_path = request.path
        in_stage = raw_path == prefix or raw_path.startswith(prefix + "/")
        resource_path = raw_path[len(prefix) :] or "/"
        matched = match_route(self.routes, request.method, resource_path) if in_stage else None
        if matched is None:
            return (
                self._any_method(request, resource_path, request_id)
                if in_stage
                else self._other_api(request, request_id)
            )
        route, path_parameters = matched
        if not self.throttle.allow(route.method, route.resource, request.source_ip):
            return self.responses.render("THROTTLED", request_id)
        path = unquote(resource_path)
        headers, multi_headers = _multi(request.headers)
        query, multi_query = _multi(parse_qsl(request.query, keep_blank_values=True))
        request_context: dict[str, Any] = {
            "resourceId": route.function,
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "path": prefix + path,
            "accountId": AWS_ACCOUNT_ID,
            "protocol": request.protocol,
            "stage": self.stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "extendedRequestId": request_id,
            "identity": {"sourceIp": request.source_ip, "userAgent": (headers or {}).get("User-Agent")},
            "domainName": "localhost",
            "apiId": API_ID,
        }
        method_arn = self.method_arn(request.method, path)
        authorizer_event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": route.resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or {},
            "multiValueHeaders": multi_headers or {},
            "queryStringParameters": query or {},
            "multiValueQueryStringParameters": multi_query or {},
            "pathParameters": path_parameters,
            "stageVariables": {},
            "requestContext": request_context,
        }
        principal_type = "-"
        if route.iam:
            refused = self._check_signature(request, request_id, request_context)
            if refused is not None:
                return refused
            principal_type = "iam"
        if route.authorized:
            principal_type, authorizer, refusal = self._authorize(authorizer_event, request_id)
            if refusal is not None:
                return refusal
            request_context["authorizer"] = authorizer
        body, is_base64 = _event_body(request.body)
        event = {
            "resource": route.resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": body,
            "isBase64Encoded": is_base64,
        }
        try:
            result = self._invoke(self._functions[route.function], event)
            response = _proxy_response(result, request_id)
        except Exception:  # a crashed or malformed function result is API Gateway's 502, whatever the cause
            response = self.responses.render("DEFAULT_5XX", request_id, status=502)
        response.principal_type = principal_type
        return response

    def _check_signature(
        self, request: Request, request_id: str, request_context: dict[str, Any]
    ) -> HttpResponse | None:
        """An AWS_IAM route's SigV4 check: None when the signature holds (the caller's identity
        added to request_context), else the gateway's refusal."""
        try:
            caller = sigv4.verify(
                request.method,
                request.target,
                request.headers,
                request.body,
                credentials=self.iam_credentials,
                region=REGION,
            )
        except sigv4.SignatureRefused as refused:
            return self.responses.render(refused.response_type, request_id)
        request_context["identity"].update(_iam_identity(caller.access_key))
        return None

    def _authorize(
        self, authorizer_event: dict[str, Any], request_id: str
    ) -> tuple[str, dict[str, Any], HttpResponse | None]:
        """The authorizer's decision on one request, as API Gateway applies it: (principal type,
        the authorizer context the function's event carries, None) when allowed, or (principal
        type, {}, API Gateway's refusal) when not."""
        started = time.monotonic()
        identity_context = {
            "httpMethod": authorizer_event["httpMethod"],
            "path": authorizer_event["requestContext"]["path"],
            "resourcePath": authorizer_event["resource"],
        }
        headers, query = authorizer_event["headers"], authorizer_event["queryStringParameters"]
        key = identity_values(self.identity, headers, query, identity_context)
        # With caching on, a REST API checks the identity sources first: one missing is a 401
        # without calling the authorizer (with caching off the authorizer decides alone).
        if key is None and self.cache.ttl_seconds > 0:
            return "-", {}, self.responses.render("UNAUTHORIZED", request_id)
        try:
            decision = self.cache.answer(key or (), lambda: self._invoke(self._authorizer, authorizer_event))
        except Exception as error:
            # Lambda's errorMessage "Unauthorized" is API Gateway's contract for a 401; any
            # other failure of the authorizer is a refusal too, never an allow.
            kind = "UNAUTHORIZED" if str(error) == "Unauthorized" else "AUTHORIZER_FAILURE"
            return "-", {}, self.responses.render(kind, request_id)
        try:
            principal_id, context = _authorizer_context(decision)
            allowed = policy_allows(decision.get("policyDocument"), authorizer_event["methodArn"])
        except PolicyError:
            return "-", {}, self.responses.render("AUTHORIZER_CONFIGURATION_ERROR", request_id)
        principal_type = context.get("principalType", "-")
        if not allowed:
            denied = self.responses.render("ACCESS_DENIED", request_id, authorizer=context)
            denied.principal_type = principal_type
            return principal_type, {}, denied
        authorizer = {
            **context,
            "principalId": principal_id,
            "integrationLatency": int((time.monotonic() - started) * 1000),
        }
        return principal_type, authorizer, None

    def _any_method(self, request: Request, resource_path: str, request_id: str) -> HttpResponse:
        """A path's catch-all answer (405 with Allow) for a method no route of it has. OPTIONS is
        API Gateway's preflight, which this gateway does not answer."""
        matched = match_route(self._any_routes, "ANY", resource_path) if request.method != "OPTIONS" else None
        if matched is None:
            return self._other_api(request, request_id)
        answer = self.any_method[matched[0].resource]
        headers = [("Content-Type", "application/json"), *answer.headers.items(), ("x-amzn-RequestId", request_id)]
        return HttpResponse(answer.status, headers, answer.body.encode("utf-8"))

    def _other_api(self, request: Request, request_id: str) -> HttpResponse:
        """Another API's answer (serve --api), or this API's own 404 when none has the route."""
        for api in self.other_apis:
            answered: HttpResponse | None = api.handle(request, request_id)
            if answered is not None:
                return answered
        return self.responses.render("MISSING_AUTHENTICATION_TOKEN", request_id)

    def _invoke(self, function: Function, event: dict[str, Any]) -> Any:
        return function.invoke(event)


def _iam_identity(access_key: str) -> dict[str, str]:
    """What API Gateway adds to requestContext.identity for a caller it authenticated by SigV4
    (the development credentials are an IAM user's of the local account)."""
    user = "apitokens-dev"
    return {
        "accessKey": access_key,
        "accountId": AWS_ACCOUNT_ID,
        "caller": user,
        "user": user,
        "userArn": f"arn:aws:iam::{AWS_ACCOUNT_ID}:user/{user}",
    }


def _event_body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _proxy_response(result: Any, request_id: str) -> HttpResponse:
    """A Lambda proxy integration result as the HTTP response; a malformed one raises."""
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        raise TypeError("malformed Lambda proxy response")
    headers: dict[str, list[str]] = {}
    for name, value in (result.get("headers") or {}).items():
        headers[str(name)] = [str(value)]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = [str(value) for value in values]
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = ["application/json"]
    headers["x-amzn-RequestId"] = [request_id]
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError("malformed Lambda proxy response")
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return HttpResponse(
        int(result["statusCode"]),
        [(name, value) for name, values in headers.items() for value in values],
        payload,
    )
