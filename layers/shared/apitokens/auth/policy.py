"""Access decisions from the route catalog (scopes.routes(): token_api's routes and routes.txt's).

The authorizer answers for the one request it sees: Allow on exactly that request's method ARN
when the catalog route, its account and its scope are permitted, otherwise Deny. Why not one
policy listing every permitted route: in an execute-api ARN `*` also matches `/`, so a wildcard
for a path parameter (`GET/accounts/A/apiTokens/*`) would also allow every deeper route
(`GET/accounts/A/apiTokens/{sid}/usage`), and a user with 1,000 accounts would need a policy far
over API Gateway's 8 KiB. A per-request answer is exact and tiny; with AuthorizerCacheTtl > 0
it stays exact because the templates make the request's method and path part of the cache key
(Identity: Context [httpMethod, path]), so a cached answer is only reused for the same request.

Handlers re-check the same catalog against the context (defence in depth).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from apitokens.domain.errors import Forbidden, InsufficientScope
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import Route, route_for, routes

_WILDCARDS = ("*", "?")
# A segment of a path the catalog can route: unreserved characters only, so that no percent-encoded
# byte (an encoded slash), and no dot segment, means one route here and another to a backend's router.
_PLAIN_SEGMENT = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._~-]+")


def check_route(principal: Principal, method: str, resource: str, account_sid: str) -> None:
    route = route_for(method, resource)
    if route is None or account_sid not in principal.account_sids:
        raise Forbidden("These credentials do not grant access to this account.")
    if route.scope not in principal.scopes:
        raise InsufficientScope(f"This route needs the {route.scope} scope, which these credentials do not have.")


@functools.lru_cache(maxsize=1024)
def _arn_base(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:apiId/stage from a method ARN."""
    prefix, _, path = method_arn.partition(":execute-api:")
    region_account_api, *rest = path.split("/")
    if not prefix or not rest or not rest[0]:
        raise ValueError("not an execute-api method ARN")
    return f"{prefix}:execute-api:{region_account_api}/{rest[0]}"


def route_arn(base: str, route: Route, parameters: Mapping[str, str]) -> str:
    """The method ARN of one request to `route` with these path parameters."""
    path = route.resource
    for name in route.parameters:
        path = path.replace("{" + name + "}", parameters[name])
    return f"{base}/{route.method}{path}"


def arn_parameters(route: Route, request_path: str) -> dict[str, str] | None:
    """The path parameters of a method ARN's `/METHOD/path` when it is a request to `route`:
    literal segments equal, each parameter exactly one non-empty segment free of IAM wildcards
    (so the Allow that names this ARN matches this request and no other)."""
    method, _, path = request_path.lstrip("/").partition("/")
    segments = path.split("/")
    expected = route.resource.lstrip("/").split("/")
    if method != route.method or len(segments) != len(expected):
        return None
    parameters: dict[str, str] = {}
    for template_segment, segment in zip(expected, segments, strict=True):
        if template_segment.startswith("{"):
            if not segment or any(wildcard in segment for wildcard in _WILDCARDS):
                return None
            parameters[template_segment[1:-1]] = segment
        elif segment != template_segment:
            return None
    return parameters


def permits(principal: Principal, method: str, resource: str, request_path: str) -> str | None:
    """The account of the request when the principal may call this catalog route on it."""
    target = _target(method, resource, request_path)
    if target is None or not principal.may(*target):
        return None
    return target[0]


# Parsed once per distinct request: a pure function of the request's strings, and on the
# authorizer's every request (bench: iam_policy 4.3 to 1.7 us of CPU next to a stubbed GetItem of 115 us).
@functools.lru_cache(maxsize=1024)
def _target(method: str, resource: str, request_path: str) -> tuple[str, str] | None:
    """(account, scope) of a request to a catalog route, None when it is not one."""
    route = route_for(method, resource)
    parameters = None if route is None else arn_parameters(route, request_path)
    if route is None or parameters is None:
        return None
    return parameters["accountSid"], route.scope


def permits_request(principal: Principal, method: str, path: str) -> bool:
    """Whether the principal may send `method path` (a request path without the stage, as a
    backend receives it) to the catalog route it selects, with the authorizer's own decision
    (`permits`). A path whose segments are not all plain selects no route: refused."""
    resource = _catalog_resource(routes(), method, path)
    return resource is not None and permits(principal, method, resource, f"/{method}{path}") is not None


@functools.lru_cache(maxsize=1024)
def _catalog_resource(catalog: tuple[Route, ...], method: str, path: str) -> str | None:
    """The resource path of the catalog route a request path selects, as API Gateway selects it:
    the same segment count, literal segments equal, and literal segments beating parameters."""
    segments = path.split("/")
    if segments[0] or not all(_PLAIN_SEGMENT.fullmatch(segment) for segment in segments[1:]):
        return None
    best: tuple[int, str] | None = None
    for route in catalog:
        if route.method == method and arn_parameters(route, f"/{method}{path}") is not None:
            literals = len(route.resource.split("/")) - len(route.parameters)
            if best is None or literals > best[0]:
                best = (literals, route.resource)
    return None if best is None else best[1]


# The context key that the gateway's 403 (template.yaml's ACCESS_DENIED) appends to its message,
# as `$context.authorizer.deniedBecause`: a gateway response template substitutes variables only
# (no conditions), and a variable the context lacks is empty.
DENIED_BECAUSE = "deniedBecause"


def denied_because(principal: Principal, method: str, resource: str, request_path: str) -> str | None:
    """Why a refusal happened, when saying so tells the caller only what the route's own
    declaration does: the scope it needs, for a principal that holds the request's account but
    not that scope. None for another account or an unknown route (the refusal stays generic)."""
    target = _target(method, resource, request_path)
    if target is None:
        return None
    account_sid, scope = target
    if account_sid not in principal.account_sids or scope in principal.scopes:
        return None
    return f" This route needs the scope {scope}, which these credentials do not hold."


def _deny(base: str) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{base}/*"}


def iam_policy(principal: Principal, method_arn: str, method: str, resource: str) -> dict[str, Any]:
    """The authorizer's answer: Allow on exactly this request's method ARN, or Deny on all.

    The account and other path parameters are read from the method ARN itself (what API Gateway
    evaluates the policy against). The context carries only the request's account (handlers
    re-check it), never every account a user holds: it stays small however many that is."""
    base = _arn_base(method_arn)
    account_sid = permits(principal, method, resource, method_arn[len(base) :])
    statement: dict[str, Any]
    if account_sid is not None:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
        context = principal.to_context((account_sid,))
    else:
        statement = _deny(base)
        context = principal.to_context(())
        because = denied_because(principal, method, resource, method_arn[len(base) :])
        if because is not None:
            context[DENIED_BECAUSE] = because
    return {
        "principalId": principal.id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }


def http_api_answer(decision: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP API (payload 2.0) answer from an IAM decision. It carries both forms: the simple
    response (`isAuthorized`, read when the authorizer has EnableSimpleResponses) and the IAM
    one (principalId, policyDocument, read otherwise), so one authorizer serves either setting."""
    statements = decision["policyDocument"]["Statement"]
    return {**decision, "isAuthorized": any(statement["Effect"] == "Allow" for statement in statements)}


def http_api_refusal(route_arn: str) -> dict[str, Any]:
    """Refused credentials on an HTTP API: there a Lambda error is a 500, not a 401, so the
    answer is a refusal (403); a request without the Authorization header never gets here
    (API Gateway answers 401 itself when an identity source is missing)."""
    base = _arn_base(route_arn)
    return {
        "isAuthorized": False,
        "principalId": "anonymous",
        "policyDocument": {"Version": "2012-10-17", "Statement": [_deny(base)]},
        "context": {},
    }
