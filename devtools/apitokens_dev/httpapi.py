"""A local stand-in for an HTTP API (AWS::Serverless::HttpApi) behind the apitokens authorizer:
payload format 2.0 events for the authorizer and the functions, simple or IAM authorizer
responses, and the HTTP API's own error responses (it has no GatewayResponses).

As in API Gateway: a missing identity source is a 401 without calling the authorizer;
`isAuthorized: false` (or a policy that does not allow the route ARN) is a 403; an authorizer
error or malformed answer is a 500; a path no route matches is a 404. Answers are cached by
the identity sources' values when the authorizer's ReauthorizeEvery is above 0.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from apitokens_dev import template
from apitokens_dev.authcache import AuthorizerCache, IdentitySource, identity_values
from apitokens_dev.gateway import (
    AWS_ACCOUNT_ID,
    REGION,
    Function,
    HttpResponse,
    PolicyError,
    Request,
    Route,
    _authorizer_context,
    _event_body,
    match_route,
    policy_allows,
)

_MESSAGES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


def error(status: int, request_id: str) -> HttpResponse:
    body = json.dumps({"message": _MESSAGES[status]}).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json"), ("apigw-requestid", request_id)], body)


def _lower_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Payload 2.0 headers: lower-case names, repeated values joined by commas."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


@dataclass
class HttpApi:
    stage: str
    routes: tuple[Route, ...]
    functions: Mapping[str, Function]
    authorizer: Function
    identity: tuple[IdentitySource, ...]
    simple_responses: bool
    cache: AuthorizerCache
    api_id: str = "localhttp"

    @classmethod
    def from_template(cls, path: Path, authorizer: Function, overrides: dict[str, str] | None = None) -> HttpApi:
        """The HTTP API of the template at `path`; its authorizer, imported from the apitokens
        stack in AWS (Fn::ImportValue), is the local `authorizer`."""
        definition = template.api_definition(path.resolve(), overrides)
        if definition.kind != "http":
            raise ValueError(f"{path} declares no AWS::Serverless::HttpApi")
        functions: dict[str, Function] = {}
        for route in definition.routes:
            if route.function not in functions:
                load = functools.partial(template.load_handler, route.code_uri, route.handler)
                functions[route.function] = Function(route.function, load)
                functions[route.function].warm()
        return cls(
            stage=definition.stage,
            routes=tuple(Route(route.method, route.path, route.function) for route in definition.routes),
            functions=functions,
            authorizer=authorizer,
            identity=definition.identity,
            simple_responses=definition.simple_responses,
            cache=AuthorizerCache(definition.cache_ttl),
        )

    def route_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{AWS_ACCOUNT_ID}:{self.api_id}/{self.stage}/{method}{path}"

    def handle(self, request: Request, request_id: str) -> HttpResponse | None:
        """The response, or None when no route of this API matches (another API may)."""
        prefix = f"/{self.stage}"
        if not request.path.startswith(prefix + "/"):
            return None
        resource_path = request.path[len(prefix) :]
        matched = match_route(self.routes, request.method, resource_path)
        if matched is None:
            return None
        route, path_parameters = matched
        route_key = f"{route.method} {route.resource}"
        headers = _lower_headers(request.headers)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        now = datetime.now(UTC)
        request_context: dict[str, Any] = {
            "accountId": AWS_ACCOUNT_ID,
            "apiId": self.api_id,
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": self.stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        identity_context = {
            "httpMethod": request.method,
            "path": unquote(request.path),
            "routeKey": route_key,
            "identity.sourceIp": request.source_ip,
        }
        key = identity_values(self.identity, headers, query, identity_context)
        if key is None:
            return error(401, request_id)
        arn = self.route_arn(request.method, unquote(resource_path))
        common = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.query,
            "headers": headers,
            "queryStringParameters": query or None,
            "requestContext": request_context,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
        }
        authorizer_event = {**common, "type": "REQUEST", "routeArn": arn, "identitySource": list(key)}
        try:
            decision = self.cache.answer(key, lambda: self.authorizer.invoke(authorizer_event))
            allowed, context, principal_type = self._evaluate(decision, arn)
        except Exception:  # an authorizer error, or a malformed answer: HTTP API's 500
            return error(500, request_id)
        if not allowed:
            denied = error(403, request_id)
            denied.principal_type = principal_type
            return denied
        request_context["authorizer"] = {"lambda": context}
        body, is_base64 = _event_body(request.body)
        event = {**common, "cookies": None, "body": body, "isBase64Encoded": is_base64}
        try:
            response = _function_response(self.functions[route.function].invoke(event), request_id)
        except Exception:
            response = error(500, request_id)
        response.principal_type = principal_type
        return response

    def _evaluate(self, decision: Any, arn: str) -> tuple[bool, dict[str, str], str]:
        if not isinstance(decision, Mapping):
            raise PolicyError("the authorizer must return an object")
        if self.simple_responses:
            allowed = decision.get("isAuthorized")
            if not isinstance(allowed, bool):
                raise PolicyError("isAuthorized must be a boolean")
            context = decision.get("context") or {}
            if not isinstance(context, Mapping):
                raise PolicyError("context must be an object")
            values = {str(name): value for name, value in context.items()}
        else:
            _, values = _authorizer_context(decision)
            allowed = policy_allows(decision.get("policyDocument"), arn)
        return allowed, values, str(values.get("principalType", "-"))


def _function_response(result: Any, request_id: str) -> HttpResponse:
    """A payload 2.0 function result: a dict with statusCode, or any JSON value as a 200 body."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        body = json.dumps(result).encode("utf-8")
        return HttpResponse(200, [("Content-Type", "application/json"), ("apigw-requestid", request_id)], body)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("apigw-requestid", request_id))
    raw = result.get("body") or ""
    if not isinstance(raw, str):
        raise TypeError("malformed function response")
    import base64

    payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, payload)
