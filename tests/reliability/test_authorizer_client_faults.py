"""The authorizer's own DynamoDB client (apitokens.store.dynamodb_http) against faults on the
wire: the authorizer function, loaded as Lambda loads it, talks over real HTTP to an endpoint
that passes its requests on to moto unless told to misbehave (tests/harness/faulty_endpoint).

As botocore's standard retry mode: throttling and 5xx answers, dropped connections, timeouts and
a bad crc32 are retried, three attempts in all, with jittered backoff; what persists fails closed
(any exception but "Unauthorized": API Gateway's AUTHORIZER_FAILURE, 503), with nothing of the
driver's error in it; a connection the server closed while idle is replaced before it is used.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from apitokens.domain.errors import StoreUnavailable
from apitokens.store.dynamodb_http import HttpDynamoDBClient
from apitokens_dev.template import default_authorizer, dynamodb_clients, load_module
from tests.harness import (
    LEAK_MARKER,
    ROUTES,
    authorizer_environment,
    authorizer_event,
    lambda_context,
    moto_server_url,
)
from tests.harness.faulty_endpoint import FaultyEndpoint, faulty_endpoint
from tests.reliability.conftest import Stack

GET_ITEM, TRANSACT = "GetItem", "TransactWriteItems"
ATTEMPTS = 3  # botocore's standard mode as store/driver.create_client configures it
THROTTLED = "error:ThrottlingException:400"


@dataclass
class Authorizer:
    """The authorizer function loaded against the faulty endpoint, with its client at hand."""

    module: ModuleType
    client: HttpDynamoDBClient
    endpoint: FaultyEndpoint
    secret: str
    slept: list[float]

    def authorize(self) -> dict[str, Any]:
        event = copy.deepcopy(authorizer_event(f"Bearer {self.secret}", ROUTES[0]))
        decision: dict[str, Any] = self.module.handler(event, lambda_context())
        return decision

    def fails_closed(self) -> BaseException:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - any exception but "Unauthorized"
            self.authorize()
        assert str(raised.value) != "Unauthorized"
        assert LEAK_MARKER not in str(raised.value)
        return raised.value


@pytest.fixture
def authorizer(stack: Stack) -> Iterator[Authorizer]:
    stack.reset()
    created = stack.functions.create(scopes=["tokens:read"])
    assert created.status == 201, created.body
    with faulty_endpoint(moto_server_url()) as endpoint:
        _, code_uri, handler = default_authorizer()
        with authorizer_environment(endpoint.url):
            module = load_module(code_uri, handler)
        (client,) = dynamodb_clients(vars(module))
        assert isinstance(client, HttpDynamoDBClient)
        slept: list[float] = []
        client.sleep = slept.append
        client.jitter = lambda: 1.0  # the backoff's upper bound, so the delays are known
        client.connect_timeout = client.read_timeout = 0.5
        yield Authorizer(module, client, endpoint, created.body["token"], slept)
        client.close()


def test_a_persistently_throttled_read_is_retried_then_fails_closed(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, *[THROTTLED] * ATTEMPTS)
    failure = authorizer.fails_closed()
    assert isinstance(failure, StoreUnavailable)
    assert authorizer.endpoint.attempts == [GET_ITEM] * ATTEMPTS
    # Throttling backs off from 1 s, doubling (rand(0, 1) x min(2^(n-1), 20) s; rand is 1 here).
    assert authorizer.slept == [1.0, 2.0]


def test_a_throttle_that_passes_is_absorbed_by_the_retries(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, THROTTLED, THROTTLED)
    assert authorizer.authorize()["principalId"]
    assert authorizer.endpoint.attempts == [GET_ITEM] * ATTEMPTS + [TRANSACT]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_fail_closed(authorizer: Authorizer, status: int) -> None:
    authorizer.endpoint.fail(GET_ITEM, *[f"error:InternalServerError:{status}"] * ATTEMPTS)
    assert isinstance(authorizer.fails_closed(), StoreUnavailable)
    assert authorizer.endpoint.attempts == [GET_ITEM] * ATTEMPTS
    # Other failures back off from DynamoDB's 25 ms.
    assert authorizer.slept == [0.025, 0.05]


def test_a_server_error_that_passes_is_absorbed(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, "error:InternalServerError:500")
    assert authorizer.authorize()["principalId"]
    assert authorizer.endpoint.attempts == [GET_ITEM, GET_ITEM, TRANSACT]


def test_a_refusal_of_the_request_is_not_retried_and_fails_closed(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, "error:AccessDeniedException:400")
    assert isinstance(authorizer.fails_closed(), StoreUnavailable)
    assert authorizer.endpoint.attempts == [GET_ITEM]
    assert authorizer.slept == []


def test_a_connection_dropped_mid_request_is_retried_on_a_new_one(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, "drop")
    assert authorizer.authorize()["principalId"]
    assert authorizer.endpoint.attempts == [GET_ITEM, GET_ITEM, TRANSACT]
    assert authorizer.client.connections_opened == 2


def test_a_connection_closed_between_requests_is_replaced_before_use(authorizer: Authorizer) -> None:
    assert authorizer.authorize()["principalId"]
    assert authorizer.client.connections_opened == 1  # one kept-alive connection for both calls
    assert authorizer.endpoint.close_idle_connections() == 1
    assert authorizer.authorize()["principalId"]
    # No failed attempt: the closed connection was noticed and a new one opened.
    assert authorizer.endpoint.attempts == [GET_ITEM, TRANSACT, GET_ITEM]
    assert authorizer.client.connections_opened == 2
    assert authorizer.slept == []


def test_a_slow_endpoint_past_the_timeout_fails_closed(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, *["slow:1.5"] * ATTEMPTS)
    assert isinstance(authorizer.fails_closed(), StoreUnavailable)
    assert authorizer.endpoint.attempts == [GET_ITEM] * ATTEMPTS


def test_an_answer_failing_its_crc32_check_is_retried(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(GET_ITEM, "bad-crc32")
    assert authorizer.authorize()["principalId"]
    assert authorizer.endpoint.attempts == [GET_ITEM, GET_ITEM, TRANSACT]


def test_a_throttled_last_used_write_never_fails_the_request(authorizer: Authorizer) -> None:
    authorizer.endpoint.fail(TRANSACT, *[THROTTLED] * ATTEMPTS)
    assert authorizer.authorize()["principalId"]
    assert authorizer.endpoint.attempts == [GET_ITEM] + [TRANSACT] * ATTEMPTS
