"""The protected APIs' catalogs: each API's stack declares its scopes and routes in one
Custom::ApiTokensCatalog resource (README: "Protect your own API"), which the token stack's
catalog function checks here and stores in the token table (apitokens.store.catalogs).

A route line is `METHOD PATH SCOPE` as in routes.txt. Its scope is one the token stack's base
scopes, this catalog or another catalog declares; its path no other catalog and not the token
stack owns. Every refusal names the property and line at fault, and nothing is written.

The functions that decide on routes and scopes (the authorizer, token creation, verify) read
the catalogs through CatalogCache: at most once a minute per function instance, never on the
path of each request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from apitokens.domain import scopes
from apitokens.domain.scopes import SCOPE_NAME, CatalogError, Declared, Route

# Routes one catalog may hold: a catalog and its route claims are written in one transaction of
# at most 100 items (the catalog, claims of its new routes, deletions of its dropped ones).
MAX_ROUTES = 45
MAX_SCOPES = 100
# How old the catalogs a function decides with may be, in seconds.
REFRESH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Catalog:
    """One protected API's declaration; catalog_id is its resource's physical id."""

    catalog_id: str
    scopes: tuple[str, ...]
    routes: tuple[Route, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(f"{route.method} {route.resource} {route.scope}" for route in self.routes)


def _strings(value: Any, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CatalogError(f"{name} must be a list of strings")
    if len(value) > limit:
        raise CatalogError(f"{name} lists {len(value)} items; a catalog holds at most {limit}")
    return value


def _declared_scopes(items: list[str], known: frozenset[str]) -> tuple[str, ...]:
    for number, name in enumerate(items, start=1):
        if SCOPE_NAME.fullmatch(name) is None:
            raise CatalogError(f"Scopes item {number} {name!r}: not a scope (name:action, of a-z 0-9 _ -)")
        if items.index(name) != number - 1:
            raise CatalogError(f"Scopes item {number} {name!r}: listed twice")
    return tuple(items)


def check(catalog_id: str, properties: dict[str, Any], others: Sequence[Catalog]) -> Catalog:
    """The catalog of a resource's properties (Scopes, Routes), checked against the token
    stack's own routes and scopes and the `others` catalogs; CatalogError naming the fault."""
    own_scopes = _declared_scopes(_strings(properties.get("Scopes"), "Scopes", MAX_SCOPES), frozenset())
    lines = _strings(properties.get("Routes"), "Routes", MAX_ROUTES)
    known = scopes.known_base_scopes() | set(own_scopes).union(*(other.scopes for other in others))
    owners = {(route.method, route.resource): "the token stack" for route in scopes.base_routes()}
    for other in others:
        owners.update({(route.method, route.resource): f"catalog {other.catalog_id}" for route in other.routes})
    routes: dict[tuple[str, str], Route] = {}
    for number, line in enumerate(lines, start=1):
        try:
            route = scopes.parse_route(line, known)
        except ValueError as error:
            raise CatalogError(f"Routes line {number} {line!r}: {error}") from None
        key = (route.method, route.resource)
        if key in routes:
            raise CatalogError(f"Routes line {number} {line!r}: {route.method} {route.resource} is listed twice")
        if key in owners:
            raise CatalogError(
                f"Routes line {number} {line!r}: {route.method} {route.resource} is a route of {owners[key]}"
            )
        routes[key] = route
    return Catalog(catalog_id, own_scopes, tuple(routes.values()))


def declared(catalogs: Sequence[Catalog]) -> Declared:
    """What the catalogs add to the token stack's scopes and routes."""
    return Declared(
        scopes=frozenset(name for catalog in catalogs for name in catalog.scopes),
        routes=tuple(route for catalog in catalogs for route in catalog.routes),
    )


class CatalogCache:
    """The catalogs' declarations, read again once they are REFRESH_SECONDS old: one read per
    function instance a minute, amortised over its requests. If a refresh fails, the last
    catalogs stand until the next one; if the first fails, the error propagates (the authorizer
    fails closed)."""

    def __init__(
        self,
        read: Callable[[], Sequence[Catalog]],
        clock: Callable[[], float] = time.monotonic,
        max_age: float = REFRESH_SECONDS,
    ) -> None:
        self._read = read
        self._clock = clock
        self._max_age = max_age
        self._declared: Declared | None = None
        self._read_at = 0.0

    def __call__(self) -> Declared:
        now = self._clock()
        if self._declared is not None and now - self._read_at < self._max_age:
            return self._declared
        self._read_at = now
        try:
            self._declared = declared(self._read())
        except Exception:
            if self._declared is None:
                raise
        return self._declared
