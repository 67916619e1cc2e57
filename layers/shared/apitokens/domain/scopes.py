"""The scope catalog (the deployment's BaseScopes: the 19 scopes below by default) and the route
catalog: which scope each route of every API behind the authorizer needs.

routes() is the token API's own routes (token_api.OPERATIONS, each declared once there) followed
by the other APIs' routes, data in routes.txt next to this module (one line a route; this module
parses and validates it, CatalogError names the bad line), those whose scope the deployment
knows. The authorizer decides from routes(), the handlers re-check it, and the local gateway and
the OpenAPI document read it. ROUTES and ALL_SCOPES are the default deployment's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from apitokens.domain import adopted, token_api

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
# The default BaseScopes.
ALL_SCOPES: frozenset[str] = frozenset(SCOPES)
# A scope is name:action, lowercase letters, digits, _ and -.
SCOPE_NAME = re.compile(r"[a-z0-9_-]+:[a-z0-9_-]+")


def scope_catalog() -> dict[str, str]:
    """The deployment's scopes, each with its description (one of its own: its name); the
    base scopes first, then the catalogs' (apitokens.domain.catalogs)."""
    catalog = dict(_base_catalog(adopted.current().base_scopes))
    for name in sorted(_declared().scopes - catalog.keys()):
        catalog[name] = name
    return catalog


def known_base_scopes() -> frozenset[str]:
    """The token stack's own scopes (BaseScopes)."""
    return _known_scopes(adopted.current().base_scopes)


def known_scopes() -> frozenset[str]:
    """Every scope the deployment knows, its base scopes' and its catalogs': a token may hold
    these, a JWT's others count for nothing."""
    return _known(adopted.current().base_scopes, _declared())


def is_known_scope(name: str) -> bool:
    """Whether the deployment knows the scope; the catalogs are consulted only for a name the
    base scopes lack (a request on the token stack's own scopes never waits for them)."""
    return name in known_base_scopes() or name in _declared().scopes


def unknown_scopes(names: Iterable[str]) -> list[str]:
    """The names among `names` that the deployment does not know, in their order."""
    return [name for name in names if not is_known_scope(name)]


@dataclass(frozen=True, eq=False)
class Declared:
    """What the protected APIs' catalogs add to the base scopes and routes. Compared (and cached
    on) by identity: one object per refresh of the catalogs (apitokens.domain.catalogs)."""

    scopes: frozenset[str] = frozenset()
    routes: tuple[Route, ...] = ()


_NOTHING_DECLARED = Declared()


def _nothing_declared() -> Declared:
    return _NOTHING_DECLARED


# Called at every lookup: the catalogs' declarations as they stand (a function's init sets the
# source, which refreshes them at most once a minute); none by default.
_declared: Callable[[], Declared] = _nothing_declared


def use_declarations(source: Callable[[], Declared] | None) -> None:
    """Where the lookups below find the catalogs' declarations from now on (None: nowhere)."""
    global _declared  # noqa: PLW0603 - the one process-wide source, set at a function's init
    _declared = source or _nothing_declared


@functools.lru_cache(maxsize=8)
def _known(names: tuple[str, ...] | None, declared: Declared) -> frozenset[str]:
    return _known_scopes(names) | declared.scopes


@functools.cache
def _base_catalog(names: tuple[str, ...] | None) -> dict[str, str]:
    return dict(SCOPES) if names is None else {name: SCOPES.get(name, name) for name in names}


@functools.cache
def _known_scopes(names: tuple[str, ...] | None) -> frozenset[str]:
    return frozenset(_base_catalog(names))


class CatalogError(ValueError):
    """routes.txt holds a line that is not a valid route: the service refuses to start."""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    # API Gateway resource path, as in the API's template; {accountSid} is always the account.
    resource: str
    scope: str

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(segment[1:-1] for segment in self.resource.split("/") if segment.startswith("{"))


CATALOG_PATH = Path(__file__).with_name("routes.txt")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
ACCOUNT_PREFIX = "/accounts/{accountSid}"
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9]*\}")


def parse_route(line: str, known: Collection[str] = SCOPES.keys()) -> Route:
    """One route line, METHOD PATH SCOPE, whose scope is one of `known`; ValueError saying why not."""
    fields = line.split()
    if len(fields) != 3:
        raise ValueError("expected three fields: METHOD PATH SCOPE")
    method, resource, scope = fields
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (one of {', '.join(sorted(METHODS))})")
    _check_path(resource)
    if scope not in known:
        listed = sorted(known) if isinstance(known, set | frozenset) else known
        raise ValueError(f"unknown scope {scope!r} (known: {', '.join(listed)})")
    return Route(method, resource, scope)


def _check_path(resource: str) -> None:
    if resource != ACCOUNT_PREFIX and not resource.startswith(ACCOUNT_PREFIX + "/"):
        raise ValueError(f"path {resource!r} must start with {ACCOUNT_PREFIX}")
    segments = resource[1:].split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ValueError(f"path {resource!r} has an empty or malformed segment")
    parameters = [segment for segment in segments if segment.startswith("{")]
    if len(parameters) != len(set(parameters)):
        raise ValueError(f"path {resource!r} repeats a path parameter")


def parse_catalog(text: str, source: str = "routes.txt") -> tuple[Route, ...]:
    """Routes of a catalog text; CatalogError for a malformed line, an unknown scope or a
    route listed twice."""
    routes: dict[tuple[str, str], Route] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            route = parse_route(line)
        except ValueError as error:
            raise CatalogError(f"{source} line {number}: {error}") from None
        if (route.method, route.resource) in routes:
            raise CatalogError(f"{source} line {number}: {route.method} {route.resource} is listed twice")
        routes[(route.method, route.resource)] = route
    if not routes:
        raise CatalogError(f"{source} lists no route")
    return tuple(routes.values())


def load_catalog(path: Path = CATALOG_PATH) -> tuple[Route, ...]:
    return parse_catalog(path.read_text(encoding="utf-8"), path.name)


def token_api_routes() -> tuple[Route, ...]:
    """The token API's routes behind the authorizer (the public ones need no scope)."""
    return tuple(
        Route(operation.method, operation.path, operation.scope)
        for operation in token_api.OPERATIONS
        if operation.scope is not None
    )


def _catalog() -> tuple[Route, ...]:
    own = token_api_routes()
    others = load_catalog()
    declared = {(route.method, route.resource) for route in own}
    for route in others:
        if (route.method, route.resource) in declared:
            raise CatalogError(f"{CATALOG_PATH.name}: {route.method} {route.resource} is a route of the token API")
    return own + others


ROUTES: tuple[Route, ...] = _catalog()
TOKENS = token_api.TOKENS
TOKEN = token_api.TOKEN
ROLL = token_api.ROLL
USAGE = token_api.USAGE
AUDIT_EVENTS = token_api.AUDIT_EVENTS


def base_routes() -> tuple[Route, ...]:
    """The token stack's own routes: ROUTES but those whose scope its base scopes lack."""
    return _base_routes(adopted.current().base_scopes)


def routes() -> tuple[Route, ...]:
    """The deployment's routes: its own, then its catalogs'."""
    return _routes(adopted.current().base_scopes, _declared())


def route_for(method: str, resource: str) -> Route | None:
    """The route of a request; the catalogs are consulted only for one the token stack lacks."""
    key = (method.upper(), resource)
    names = adopted.current().base_scopes
    return _base_routes_by_key(names).get(key) or _routes_by_key(names, _declared()).get(key)


@functools.cache
def _base_routes_by_key(names: tuple[str, ...] | None) -> dict[tuple[str, str], Route]:
    return {(route.method, route.resource): route for route in _base_routes(names)}


@functools.cache
def _base_routes(names: tuple[str, ...] | None) -> tuple[Route, ...]:
    known = _known_scopes(names)
    return tuple(route for route in ROUTES if route.scope in known)


@functools.lru_cache(maxsize=8)
def _routes(names: tuple[str, ...] | None, declared: Declared) -> tuple[Route, ...]:
    return _base_routes(names) + declared.routes


@functools.lru_cache(maxsize=8)
def _routes_by_key(names: tuple[str, ...] | None, declared: Declared) -> dict[tuple[str, str], Route]:
    return {(route.method, route.resource): route for route in _routes(names, declared)}
