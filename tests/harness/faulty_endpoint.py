"""A DynamoDB endpoint over real HTTP that misbehaves on cue, for the authorizer's own client
(apitokens.store.dynamodb_http): a keep-alive HTTP/1.1 server on loopback that passes each
request on to moto's server, unless a fault is queued for its operation:

  error:C:N    DynamoDB's error answer of code C with HTTP status N (error:ThrottlingException:400)
  drop         the connection closed once the request is read, with no answer
  slow:S       the answer held back S seconds (past the client's read timeout)
  bad-crc32    moto's answer with a wrong x-amz-crc32 checksum

`close_idle_connections()` closes every kept-alive connection between requests, as a load
balancer or DynamoDB does to an idle one. Every request's operation is recorded (`attempts`)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.harness.faults import LEAK_MARKER

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB
    server: _Server

    def log_message(self, *_: Any) -> None:
        return None

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
        fault = self.server.next_fault(operation)
        self.server.attempts.append(operation)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.startswith("error:"):
            _, code, error_status = fault.split(":")
            error = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": LEAK_MARKER}
            self._answer(int(error_status), error)
            return
        if fault.startswith("slow:"):
            time.sleep(float(fault.partition(":")[2]))
        status, headers, answer = self.server.forward(dict(self.headers.items()), body)
        if fault == "bad-crc32":
            headers["x-amz-crc32"] = "1"
        self._send(status, headers, answer)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(payload).encode())

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = (str(parts.hostname), int(parts.port or 80))
        self.lock = threading.Lock()
        self.faults: dict[str, list[str]] = {}
        self.attempts: list[str] = []
        self.open_connections: set[socket.socket] = set()

    def next_fault(self, operation: str) -> str:
        with self.lock:
            queued = self.faults.get(operation) or []
            return queued.pop(0) if queued else ""

    def forward(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            upstream.request("POST", "/", body, {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP})
            response = upstream.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            upstream.close()


class FaultyEndpoint:
    """The running endpoint: its URL, the faults to come and the attempts it saw."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"

    @property
    def attempts(self) -> list[str]:
        return self._server.attempts

    def fail(self, operation: str, *faults: str) -> None:
        """The next requests of `operation` meet these faults, in order; later ones pass."""
        with self._server.lock:
            self._server.faults.setdefault(operation, []).extend(faults)

    def close_idle_connections(self) -> int:
        """Closes every open connection (between requests, so each is idle); how many."""
        with self._server.lock:
            connections = list(self._server.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return len(connections)


@contextlib.contextmanager
def faulty_endpoint(upstream: str) -> Iterator[FaultyEndpoint]:
    """A FaultyEndpoint in front of `upstream` (moto's server URL) while the block runs."""
    server = _Server(upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FaultyEndpoint(server)
    finally:
        server.shutdown()
        server.server_close()
