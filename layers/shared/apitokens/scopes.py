"""The scope catalog (the seed's 19 scopes) and the route -> scope table.

ROUTES is the single source of which scope each API route needs: the authorizer builds its IAM
policy from it and the handlers re-check it. A future resource's routes are one line each.
"""

from __future__ import annotations

from dataclasses import dataclass

SCOPES: dict[str, str] = {
    "buckets:read": "View bucket information",
    "buckets:write": "Create and modify buckets",
    "buckets:delete": "Delete buckets",
    "requests:read": "View request data",
    "requests:write": "Modify request metadata (notes, etc.)",
    "requests:delete": "Delete individual requests",
    "metrics:read": "Access analytics and metrics data",
    "redactions:read": "View redaction rules",
    "redactions:write": "Create and modify redaction rules",
    "redactions:delete": "Delete redaction rules",
    "exclusions:read": "View exclusion rules",
    "exclusions:write": "Create and modify exclusion rules",
    "exclusions:delete": "Delete exclusion rules",
    "workflows:read": "View workflow configurations",
    "workflows:write": "Create and modify workflows",
    "workflows:delete": "Delete workflows",
    "tokens:read": "View API token information",
    "tokens:write": "Create and modify API tokens",
    "tokens:delete": "Delete API tokens",
}
ALL_SCOPES: frozenset[str] = frozenset(SCOPES)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    # API Gateway resource path, as in template.yaml; {accountSid} is always the account.
    resource: str
    scope: str


TOKENS = "/accounts/{accountSid}/apiTokens"
TOKEN = "/accounts/{accountSid}/apiTokens/{apiTokenSid}"

ROUTES: tuple[Route, ...] = (
    Route("GET", TOKENS, "tokens:read"),
    Route("POST", TOKENS, "tokens:write"),
    Route("GET", TOKEN, "tokens:read"),
    Route("PUT", TOKEN, "tokens:write"),
    Route("DELETE", TOKEN, "tokens:delete"),
)
_BY_KEY = {(route.method, route.resource): route for route in ROUTES}


def route_for(method: str, resource: str) -> Route | None:
    return _BY_KEY.get((method.upper(), resource))
