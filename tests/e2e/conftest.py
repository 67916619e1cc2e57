"""The local server as a user runs it, one per test module (tests/harness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ACCOUNT, LocalServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One server per test module; it must stop cleanly on SIGTERM (exit 0, no traceback, no secret logged)."""
    local = start_server(tmp_path_factory.mktemp("serve"))
    yield local
    local.stop_cleanly()


@pytest.fixture(scope="module")
def jwt(server: LocalServer) -> str:
    """A development JWT for ACCOUNT with every scope."""
    return server.jwt("--account", ACCOUNT)
