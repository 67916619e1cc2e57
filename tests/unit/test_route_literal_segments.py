"""A method ARN names a catalog route only when each literal segment of its path is the route's
segment exactly: `/accounts/{a}/metrics` must not allow `/accounts/{a}/metricsAdmin` (a longer
name), nor `/accounts/{a}/metric` (a shorter one), whatever routes a team's catalog adds."""

from __future__ import annotations

import pytest

from apitokens.auth import policy
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import ALL_SCOPES, ROUTES, Route

ACCOUNT = "acc_abc123def456ghi789jkl012"
TOKEN_SID = "tok_abc123def456ghi789jkl012"
BASE = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1"
# A route of the kind a team catalog adds next to the product's routes.
METRICS = Route("GET", "/accounts/{accountSid}/metrics", "metrics:read")


def request_path(route: Route, segments: list[str]) -> str:
    return f"/{route.method}/" + "/".join(segments)


def filled(route: Route) -> list[str]:
    """The route's path with every parameter given a value, as segments."""
    values = {"accountSid": ACCOUNT, "apiTokenSid": TOKEN_SID}
    return [
        values.get(segment[1:-1], "x1") if segment.startswith("{") else segment
        for segment in route.resource.lstrip("/").split("/")
    ]


def altered_literals(route: Route) -> list[tuple[int, str]]:
    """(index, segment) for each literal segment of the route made longer and made shorter."""
    altered = []
    for index, segment in enumerate(route.resource.lstrip("/").split("/")):
        if not segment.startswith("{"):
            altered += [(index, segment + "Admin"), (index, segment[:-1]), (index, "x" + segment)]
    return altered


def test_a_literal_segment_with_a_suffix_is_not_the_route() -> None:
    assert policy.arn_parameters(METRICS, f"/GET/accounts/{ACCOUNT}/metrics") == {"accountSid": ACCOUNT}
    assert policy.arn_parameters(METRICS, f"/GET/accounts/{ACCOUNT}/metricsAdmin") is None
    assert policy.arn_parameters(METRICS, f"/GET/accountsX/{ACCOUNT}/metrics") is None


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.resource}")
def test_every_catalog_route_matches_its_literal_segments_exactly(route: Route) -> None:
    segments = filled(route)
    assert policy.arn_parameters(route, request_path(route, segments)) is not None
    for index, segment in altered_literals(route):
        changed = [*segments[:index], segment, *segments[index + 1 :]]
        assert policy.arn_parameters(route, request_path(route, changed)) is None, changed


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.resource}")
def test_the_authorizer_denies_a_method_arn_whose_literal_segment_differs(route: Route) -> None:
    everything = Principal("user", "user_1", frozenset({ACCOUNT}), ALL_SCOPES)
    segments = filled(route)
    exact = f"{BASE}{request_path(route, segments)}"
    allowed = policy.iam_policy(everything, exact, route.method, route.resource)
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    for index, segment in altered_literals(route):
        changed = [*segments[:index], segment, *segments[index + 1 :]]
        decision = policy.iam_policy(everything, f"{BASE}{request_path(route, changed)}", route.method, route.resource)
        assert decision["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{BASE}/*"}
        ], changed
