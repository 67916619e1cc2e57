"""`.apitokens/serve.json`, where `apitokens serve` leaves its DynamoDB endpoint and table for
`apitokens run-scheduled`: a server that has stopped (its endpoint no longer answers) or a file
that is not a server's state is one line naming the fix, never a traceback."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from apitokens_dev import cli
from apitokens_dev.local_env import SERVE_STATE, read_serve_state, remove_serve_state, write_serve_state


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def listening() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def run_scheduled(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main(["run-scheduled", "expiry", "--state-dir", str(state_dir)])
    return status, capsys.readouterr().err


def test_a_stopped_server_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    write_serve_state(tmp_path, endpoint, "apitokens-local")
    status, err = run_scheduled(tmp_path, capsys)
    assert status == 2
    [line] = err.strip().splitlines()
    assert line == (
        f"apitokens run-scheduled: error: {tmp_path / SERVE_STATE} names a server that has stopped "
        f"(nothing answers at {endpoint}): start `apitokens serve` in this directory, "
        "or pass --dynamodb-endpoint and --table"
    )


@pytest.mark.parametrize("content", ["", "{", '{"endpoint": "http://127.0.0.1:1"}', "[]"])
def test_a_file_that_is_not_a_servers_state_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    (tmp_path / SERVE_STATE).write_text(content, encoding="utf-8")
    status, err = run_scheduled(tmp_path, capsys)
    assert status == 2
    [line] = err.strip().splitlines()
    assert "is not a server's state: start `apitokens serve` in this directory" in line


def test_no_state_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_scheduled(tmp_path, capsys)
    assert status == 2
    [line] = err.strip().splitlines()
    assert f"no {tmp_path / SERVE_STATE}: start `apitokens serve`" in line


def test_a_running_servers_state_is_read(tmp_path: Path, listening: str) -> None:
    write_serve_state(tmp_path, listening, "apitokens-local")
    assert read_serve_state(tmp_path) == (listening, "apitokens-local")


def test_a_server_removes_its_own_state_when_it_stops_and_only_its_own(tmp_path: Path, listening: str) -> None:
    write_serve_state(tmp_path, listening, "apitokens-local")
    remove_serve_state(tmp_path)
    assert not (tmp_path / SERVE_STATE).exists()
    other = {"endpoint": listening, "table": "apitokens-local", "pid": os.getpid() + 1}
    (tmp_path / SERVE_STATE).write_text(json.dumps(other), encoding="utf-8")
    remove_serve_state(tmp_path)
    assert json.loads((tmp_path / SERVE_STATE).read_text(encoding="utf-8")) == other
