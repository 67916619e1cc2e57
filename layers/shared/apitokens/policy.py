"""Access decisions from the one route -> scope table (scopes.ROUTES).

The authorizer turns a principal into an IAM policy that allows exactly the routes its accounts
and scopes permit, so a cached decision (AuthorizerCacheTtl > 0) can never open another route.
Handlers re-check the same table against the context (defence in depth).
"""

from __future__ import annotations

import functools
from typing import Any

from apitokens.errors import Forbidden, InsufficientScope
from apitokens.principal import Principal
from apitokens.scopes import ROUTES, Route, route_for


def check_route(principal: Principal, method: str, resource: str, account_sid: str) -> None:
    route = route_for(method, resource)
    if route is None or account_sid not in principal.account_sids:
        raise Forbidden("These credentials do not grant access to this account.")
    if route.scope not in principal.scopes:
        raise InsufficientScope(f"This route needs the {route.scope} scope, which these credentials do not have.")


def _arn_base(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:apiId/stage from a method ARN."""
    prefix, _, path = method_arn.partition(":execute-api:")
    region_account_api, *rest = path.split("/")
    if not prefix or not rest or not rest[0]:
        raise ValueError("not an execute-api method ARN")
    return f"{prefix}:execute-api:{region_account_api}/{rest[0]}"


def route_arn(base: str, route: Route, account_sid: str) -> str:
    path = route.resource.replace("{accountSid}", account_sid)
    # Any other path parameter (a token sid) is one wildcard segment.
    segments = ["*" if segment.startswith("{") else segment for segment in path.strip("/").split("/")]
    return f"{base}/{route.method}/{'/'.join(segments)}"


@functools.lru_cache(maxsize=1024)
def _allowed_resources(base: str, account_sids: frozenset[str], scopes: frozenset[str]) -> tuple[str, ...]:
    # Cached: a warm authorizer sees the same few principals again and again.
    return tuple(
        route_arn(base, route, account_sid)
        for account_sid in sorted(account_sids)
        for route in ROUTES
        if route.scope in scopes
    )


def iam_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """The authorizer's answer: Allow on every permitted route of every account, or one Deny."""
    base = _arn_base(method_arn)
    resources = _allowed_resources(base, principal.account_sids, principal.scopes)
    statement: dict[str, Any]
    if resources:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": list(resources)}
    else:
        statement = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{base}/*"}
    return {
        "principalId": principal.id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": principal.to_context(),
    }
