"""The fixtures of every test folder, on the one harness (tests/harness): the environment, moto's
table from template.yaml, and the functions loaded as Lambda loads them. The harness's helpers
are re-exported here for the tests that import them from tests.conftest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import (
    ACCOUNT,
    EVENTS,
    JWKS_URL,
    JWT_AUDIENCE,
    JWT_ISSUER,
    OTHER_ACCOUNT,
    PROJECT_ROOT,
    TABLE,
    TEST_ENVIRONMENT,
    Functions,
    Reply,
    applied_environment,
    lambda_context,
    load_event,
    moto_table,
    proxy_event,
    scan_table,
    user,
)

# The in-process answer's former name.
HttpResult = Reply

__all__ = [
    "ACCOUNT",
    "EVENTS",
    "JWKS_URL",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "OTHER_ACCOUNT",
    "PROJECT_ROOT",
    "TABLE",
    "TEST_ENVIRONMENT",
    "Functions",
    "HttpResult",
    "Reply",
    "lambda_context",
    "load_event",
    "proxy_event",
    "scan_table",
    "user",
]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with applied_environment(monkeypatch) as values:
        yield values


@pytest.fixture
def dynamodb(environment: dict[str, str]) -> Iterator[Any]:
    """A moto DynamoDB with the table exactly as template.yaml defines it."""
    with moto_table() as client:
        yield client


@pytest.fixture
def functions(dynamodb: Any) -> Functions:
    return Functions()
