"""The fixtures of every test folder, on the one harness (tests/harness): the environment, moto's
table from template.yaml, and the functions loaded as Lambda loads them. Tests import the
harness's helpers from tests.harness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import Functions, applied_environment, moto_table


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
