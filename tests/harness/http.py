"""`apitokens serve` as a user runs it, driven over real HTTP: in a subprocess with its own
working directory (so its .apitokens/ signing key is its own), on a free port; optionally on a
moto DynamoDB that runs in the test process (so a test can read the table and hook moto). Also
the error envelope's checks and the search of the table and the server's logs for secrets."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from apitokens_dev.embedded_db import embedded_dynamodb, scan_table
from tests.harness.lambdas import ACCOUNT, REGION, Reply

STARTUP_SECONDS = 60
# How long a client waits for an answer before calling it "no answer". Not a speed check: the
# last of 64 concurrent creates on a loaded 2-core machine waits for all the others.
ANSWER_SECONDS = 180
# How long a stopped server may take to exit before the harness calls it hung (on a loaded
# machine, finishing the requests in flight and flushing its logs is slow).
STOP_SECONDS = 90
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
            with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as response:
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
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=ANSWER_SECONDS)
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

    def token_works(self, token: str) -> bool:
        """Whether `token` (one with tokens:read) still lists the harness account's tokens (200);
        refused is 401, anything else fails the test."""
        status = self.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=token).status
        assert status in (200, 401)
        return status == 200

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def assert_stopped_cleanly(self, status: int) -> None:
        """The server exited with `status` 0, no traceback and none of its secrets in its stderr."""
        _, stderr = self.logs()
        assert status == 0, stderr
        assert "Traceback" not in stderr, stderr
        leaked = [secret[:12] for secret in self.secrets if secret in stderr]
        assert not leaked, f"secrets in the server's stderr: {leaked}"

    def stop_cleanly(self) -> None:
        """Stops the server as a user does (SIGTERM); it must stop cleanly."""
        self.assert_stopped_cleanly(self.stop(signal.SIGTERM))


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


# -- on an embedded moto ----------------------------------------------------------------------

# The handlers' logs (JSON on stdout) at their most verbose, so the search for secrets covers
# everything an operator could turn on.
SERVER_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "DEBUG"}

# What may never appear in an answer: a stack trace, a driver's name, a path on the server.
_INTERNALS = re.compile(r"Traceback|botocore|boto3|moto|File \"|\.py\b|/work/|site-packages|/home/|/tmp/")
# A token value: a prefix followed by at least one token character ("at_test_[redacted]" is fine).
TOKEN_VALUE = re.compile(r"at_(?:live|test)_[A-Za-z0-9]")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass
class HttpStack:
    """`apitokens serve` on a table of its own in an in-process moto server."""

    server: LocalServer
    dynamodb: Any  # the test's own boto3 client of that moto server
    table: str
    endpoint: str

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (a Scan: the test's view, never the service's), in key order."""
        return scan_table(self.dynamodb, self.table)


@contextlib.contextmanager
def http_stack(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[HttpStack]:
    """moto's server in this process (apitokens_dev.embedded_db.embedded_dynamodb), and
    `apitokens serve --dynamodb-endpoint` on a new table in it. moto's servers in one process
    share their data, so the table's name is unique and the table is deleted afterwards.

    On exit the server must stop cleanly, and neither the table nor its logs may hold a secret."""
    table = f"apitokens-{name}-{uuid.uuid4().hex[:8]}"
    with embedded_dynamodb() as endpoint:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's dummy credentials
        )
        server = start_server(
            tmp_path_factory.mktemp(name),
            "--dynamodb-endpoint",
            endpoint,
            "--table",
            table,
            environment=SERVER_ENVIRONMENT,
        )
        stack = HttpStack(server, client, table, endpoint)
        try:
            yield stack
        finally:
            status = server.stop(signal.SIGTERM)
            items = stack.items()
            client.delete_table(TableName=table)
        server.assert_stopped_cleanly(status)
        problems = leak_problems(server, items)
        assert not problems, problems


class Connection:
    """One keep-alive HTTP connection to the server, already accepted and served once (a GET of
    the JWKS) when the constructor returns. Races start their requests on such connections, so
    that they measure concurrent requests, not how fast the server accepts new connections."""

    def __init__(self, server: LocalServer) -> None:
        address = urlsplit(server.root_url)
        self._connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=ANSWER_SECONDS
        )
        warm = self._send("GET", "/.well-known/jwks.json", {})
        assert warm.status == 200, warm.text

    def request(self, method: str, path: str, *, token: str | None = None, body: Any = None) -> Reply:
        """A request to `path` under the stage (/v1), as LocalServer.request makes it."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        return self._send(method, "/v1" + path, headers, data)

    def _send(self, method: str, target: str, headers: dict[str, str], body: bytes | None = None) -> Reply:
        self._connection.request(method, target, body=body, headers=headers)
        response = self._connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        return Reply(response.status, {name.lower(): value for name, value in response.getheaders()}, text)

    def close(self) -> None:
        self._connection.close()


# -- answers ---------------------------------------------------------------------------------------


def assert_error(reply: Reply, status: int, code: str | tuple[str, ...]) -> dict[str, Any]:
    """`reply` is the documented error: this status, the envelope {"error": {"code", "message"}}
    (and "details" only as a list of {"field", "message"}), this code, and nothing internal."""
    assert reply.status == status, f"{reply.status} {reply.text[:500]}"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    internals = _INTERNALS.search(reply.text)
    assert internals is None, f"{internals.group(0)!r} in {reply.text[:500]}"
    body = json.loads(reply.text)
    assert isinstance(body, dict), body
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details"}, body
    assert isinstance(error.get("message"), str), body
    assert error["message"], body
    assert error.get("code") in ((code,) if isinstance(code, str) else code), body
    if "details" in error:
        assert isinstance(error["details"], list), body
        assert error["details"], body
        for detail in error["details"]:
            assert set(detail) == {"field", "message"}, body
            assert all(isinstance(value, str) for value in detail.values()), body
    return error


# -- secrets -------------------------------------------------------------------------------------


def _banner_jwt(stdout: str) -> str | None:
    """The development JWT the server prints on start, the one JWT its stdout may show."""
    match = re.search(r"^Development JWT for .*\n(\S+)$", stdout, re.MULTILINE)
    return match.group(1) if match else None


def decoded(text: str) -> str:
    """`text` as a reader could decode it: percent-decoded until nothing changes, NFKC-normalised."""
    while (once := unquote(text)) != text:
        text = once
    return unicodedata.normalize("NFKC", text)


def leak_problems(server: LocalServer, items: list[dict[str, Any]]) -> list[str]:
    """Every secret a test saw (server.secrets: token values and JWTs) that appears in the table
    or the logs; any token value in the logs or the table at all; any JWT in the request log
    (stderr, also once decoded: a client may have percent-encoded it) or, but the banner's own,
    on stdout. Empty: no leak."""
    stdout, stderr = server.logs()
    table = json.dumps(items)
    stderr_decoded = decoded(stderr)
    places = {"the table": table, "stdout": stdout, "stderr": stderr, "stderr (decoded)": stderr_decoded}
    problems = [
        f"a secret ({secret[:12]}...) in {place}"
        for secret in dict.fromkeys(server.secrets)
        for place, text in places.items()
        if secret in text
    ]
    problems += [
        f"a token value ({match.group(0)}...) in {place}"
        for place, text in places.items()
        for match in TOKEN_VALUE.finditer(text)
    ]
    problems += [
        f"a JWT ({match[:16]}...) in stderr or the table" for match in JWT.findall(stderr + stderr_decoded + table)
    ]
    banner = _banner_jwt(stdout)
    if banner is None:
        problems.append("no development JWT in the banner")
    problems += [f"a JWT ({match[:16]}...) on stdout" for match in JWT.findall(stdout) if match != banner]
    return problems


# -- moto, hooked in this process ------------------------------------------------------------------


def backend_class() -> Any:
    from moto.dynamodb.models import DynamoDBBackend

    return DynamoDBBackend


@dataclass
class Transaction:
    items: list[dict[str, Any]]
    committed: bool


class TransactionLog:
    """Every TransactWriteItems moto executes, with whether it committed (returned without
    raising), in the order they finish."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self._lock = threading.Lock()
        self.transactions: list[Transaction] = []
        original = backend_class().transact_write_items

        def recorded(backend: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
            committed = False
            try:
                result = original(backend, transact_items, *args, **kwargs)
                committed = True
                return result
            finally:
                with self._lock:
                    self.transactions.append(Transaction(transact_items, committed))

        patch.setattr(backend_class(), "transact_write_items", recorded)

    def committed(self, predicate: Callable[[list[dict[str, Any]]], bool]) -> list[Transaction]:
        with self._lock:
            return [entry for entry in self.transactions if entry.committed and predicate(entry.items)]
