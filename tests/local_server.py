"""Shared by every test that drives `apitokens serve` over real HTTP (tests/e2e, tests/reliability):
the server as a user runs it, in a subprocess with its own working directory (so its
.apitokens/ signing key is its own), on a free port."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ACCOUNT = "acc_abc123def456ghi789jkl012"
OTHER_ACCOUNT = "acc_zyx987wvu654tsr321qpo000"
STARTUP_SECONDS = 60
_BASE_URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+)/v1")


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`apitokens ARGS` run as a user runs it (python -m works in any venv layout)."""
    return subprocess.run(
        [sys.executable, "-m", "apitokens_dev.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class LocalServer:
    root_url: str
    workdir: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    # Every token value a test saw, so that the log checks can look for each.
    secrets: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def jwt(self, *args: str) -> str:
        """A development JWT from `apitokens dev-jwt ARGS` in the server's directory (its last line)."""
        arguments = args or ("--account", ACCOUNT)
        token = cli("dev-jwt", *arguments, cwd=self.workdir).stdout.strip().splitlines()[-1]
        self.secrets.append(token)
        return token

    def request(self, method: str, path: str, **options: Any) -> Reply:
        """A request to `path` under the stage (/v1)."""
        return self.call(method, self.base_url + path, **options)

    def call(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw_body
        all_headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
                )
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode())

    def send(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Reply:
        """A request exactly as given: `target` (path and query from the root, e.g. /v1/...) is sent
        unnormalised, every header as listed (repeats too), and no header is added but Host and,
        with a body, Content-Length. For what urllib would not send: two Authorization headers, a
        body without Content-Type, a path with `..` or `%00`."""
        address = urlsplit(self.root_url)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            # The server may answer (413) before reading a body it will not take: read that answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.endheaders(body)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            connection.close()

    def create_token(self, jwt: str, account: str = ACCOUNT, **fields: Any) -> dict[str, Any]:
        payload = {"name": "e2e token", "scopes": ["tokens:read"], **fields}
        reply = self.request("POST", f"/accounts/{account}/apiTokens", token=jwt, body=payload)
        assert reply.status == 201, reply.text
        created: dict[str, Any] = reply.body
        self.secrets.append(created["token"])
        return created

    def logs(self) -> tuple[str, str]:
        return (
            self.stdout_path.read_text(encoding="utf-8", errors="replace"),
            self.stderr_path.read_text(encoding="utf-8", errors="replace"),
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_server(workdir: Path, *extra: str, environment: Mapping[str, str] | None = None) -> LocalServer:
    """`apitokens serve --port 0 EXTRA`, with `environment` over this process's own."""
    workdir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = workdir / "serve.stdout", workdir / "serve.stderr"
    environment = {**os.environ, **(environment or {}), "PYTHONUNBUFFERED": "1"}
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "apitokens_dev.cli", "serve", "--port", "0", *extra],
            cwd=workdir,
            stdout=stdout,
            stderr=stderr,
            env=environment,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        match = _BASE_URL.search(stdout_path.read_text(encoding="utf-8", errors="replace"))
        if match:
            return LocalServer(match.group(1), workdir, process, stdout_path, stderr_path)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    pytest.fail(f"apitokens serve did not start:\n{stdout_path.read_text()}\n{stderr_path.read_text()}")
