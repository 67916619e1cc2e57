"""Kept for imports written before tests/harness: the local-server helpers live in tests.harness."""

from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer, Reply, cli, start_server

__all__ = ["ACCOUNT", "OTHER_ACCOUNT", "LocalServer", "Reply", "cli", "start_server"]
