"""The route catalog's edges (scopes.py's mutation survivors): every HTTP method a
route may use, the catalog named in its errors, the handlers' named routes all in the catalog,
and routes that nobody can change once loaded."""

from __future__ import annotations

import dataclasses

import pytest

from apitokens.domain import scopes
from apitokens.domain.scopes import (
    ROUTES,
    CatalogError,
    Route,
    load_catalog,
    parse_catalog,
    route_for,
    token_api_routes,
)

# API Gateway's methods a catalog line may name (ANY is not one: a route names its method).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@pytest.mark.parametrize("method", METHODS)
def test_every_http_method_may_be_a_routes_method(method: str) -> None:
    (route,) = parse_catalog(f"{method} /accounts/{{accountSid}}/buckets buckets:read")
    assert route == Route(method, "/accounts/{accountSid}/buckets", "buckets:read")


@pytest.mark.parametrize("method", ["ANY", "get", "TRACE", "CONNECT"])
def test_other_methods_are_refused(method: str) -> None:
    with pytest.raises(CatalogError, match=f"line 1: unknown method '{method}'"):
        parse_catalog(f"{method} /accounts/{{accountSid}}/buckets buckets:read")


def test_errors_name_the_catalog_and_its_line() -> None:
    bad = "GET /accounts/{accountSid}/buckets buckets:read\nGET /accounts/{accountSid}/x nope:read\n"
    with pytest.raises(CatalogError, match=r"^routes\.txt line 2: unknown scope 'nope:read'"):
        parse_catalog(bad)
    with pytest.raises(CatalogError, match=r"^extra\.txt line 2: "):
        parse_catalog(bad, "extra.txt")


def test_the_account_alone_is_a_route_and_comments_and_blank_lines_are_not() -> None:
    routes = parse_catalog("\n# the account\nGET /accounts/{accountSid} tokens:read  # itself\n\n")
    assert routes == (Route("GET", "/accounts/{accountSid}", "tokens:read"),)
    assert routes[0].parameters == ("accountSid",)


def test_the_shipped_catalog_loads_as_the_service_uses_it() -> None:
    assert token_api_routes() + load_catalog() == ROUTES
    assert len(ROUTES) == len({(route.method, route.resource) for route in ROUTES})


@pytest.mark.parametrize("name", ["TOKENS", "TOKEN", "ROLL", "USAGE", "AUDIT_EVENTS"])
def test_the_handlers_named_routes_are_catalog_routes(name: str) -> None:
    resource = getattr(scopes, name)
    assert any(route.resource == resource for route in ROUTES)
    assert any(route_for(route.method, resource) == route for route in ROUTES if route.resource == resource)


def test_a_routes_parameters_are_its_braced_segments_in_order() -> None:
    route = Route("GET", "/accounts/{accountSid}/apiTokens/{apiTokenSid}/usage", "tokens:read")
    assert route.parameters == ("accountSid", "apiTokenSid")


def test_a_loaded_route_cannot_be_changed() -> None:
    """Every request's decision reads the same Route objects: none may be altered at run time."""
    route = route_for("GET", scopes.TOKENS)
    assert route is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.scope = "tokens:read"  # type: ignore[misc]
    assert hash(route) == hash(Route(route.method, route.resource, route.scope))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "FETCH /accounts/{accountSid}/m metrics:read",
            "routes.txt line 1: unknown method 'FETCH' (one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT)",
        ),
        ("GET /metrics metrics:read", "routes.txt line 1: path '/metrics' must start with /accounts/{accountSid}"),
        (
            "GET /accounts/{accountSid}//m metrics:read",
            "routes.txt line 1: path '/accounts/{accountSid}//m' has an empty or malformed segment",
        ),
        (
            "GET /accounts/{accountSid}/m/{x}/{x} metrics:read",
            "routes.txt line 1: path '/accounts/{accountSid}/m/{x}/{x}' repeats a path parameter",
        ),
        (
            "GET /accounts/{accountSid}/m metrics:read\nGET /accounts/{accountSid}/m buckets:read",
            "routes.txt line 2: GET /accounts/{accountSid}/m is listed twice",
        ),
        ("# nothing\n", "routes.txt lists no route"),
    ],
)
def test_a_refused_catalog_says_exactly_what_to_fix(text: str, message: str) -> None:
    """The service refuses to start on a bad catalog: the message is all the operator gets."""
    with pytest.raises(CatalogError) as refused:
        parse_catalog(text)
    assert str(refused.value) == message


def test_an_unknown_scope_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(CatalogError) as refused:
        parse_catalog("GET /accounts/{accountSid}/m metrics:fly")
    message = str(refused.value)
    assert message.startswith(
        "routes.txt line 1: unknown scope 'metrics:fly' (known: buckets:read, buckets:write, buckets:delete, "
    )
    assert message.endswith(", tokens:read, tokens:write, tokens:delete)")
