"""Hypothesis settings of the reliability tests, and the functions loaded on moto.

The "ci" profile (the default) is reproducible: derandomized (the examples depend on each test's
code only, never on a seed or on a local example database), no deadline (moto and a busy CI
machine make timings meaningless), and a failure prints the blob that replays it with
`@reproduce_failure`. APITOKENS_RELIABILITY_PROFILE=deep explores ten times as many examples,
randomly, keeping failures in the local database, for runs by hand.

The profiles are applied per test through `examples()`, never loaded globally, so hypothesis
tests elsewhere in the suite keep their own settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.harness import Functions, Wiring, applied_environment, moto_table, reset_table

settings.register_profile(
    "apitokens-reliability-ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "apitokens-reliability-deep",
    parent=settings.get_profile("apitokens-reliability-ci"),
    derandomize=False,
    database=settings.get_profile("default").database,
)

PROFILE = os.environ.get("APITOKENS_RELIABILITY_PROFILE", "ci")
if PROFILE not in ("ci", "deep"):
    raise pytest.UsageError(f"APITOKENS_RELIABILITY_PROFILE must be ci or deep, not {PROFILE!r}")
_SCALE = 10 if PROFILE == "deep" else 1


def examples(count: int, **overrides: Any) -> settings:
    """The active profile with `count` examples (ten times as many under the deep profile)."""
    return settings(settings.get_profile(f"apitokens-reliability-{PROFILE}"), max_examples=count * _SCALE, **overrides)


@dataclass
class Stack:
    """moto's DynamoDB with the table of template.yaml, and every function loaded against it."""

    dynamodb: Any  # a client of the test's own: no fault is ever injected into it
    functions: Functions

    def reset(self) -> None:
        """An empty table again; the functions' clients keep working, as they name the table."""
        reset_table(self.dynamodb)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """One moto and one load of the functions per test module (starting moto and loading six
    functions per test would be most of the run time); tests call reset() for a fresh table.
    The environment is the `environment` fixture's."""
    with pytest.MonkeyPatch.context() as patch, applied_environment(patch), moto_table() as client:
        yield Stack(client, Functions())


@pytest.fixture
def wiring() -> Iterator[Wiring]:
    """Hooks on the functions' clients, all removed after the test whatever happens, so that the
    shared functions of `stack` never carry a fault into the next test."""
    hooks = Wiring()
    yield hooks
    hooks.clear()
