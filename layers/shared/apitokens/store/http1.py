"""One kept-alive HTTP/1.1 connection over a socket (TLS for https), for the authorizer's
DynamoDB client (store/dynamodb_http.py): a request out, its answer in (Content-Length or
chunked), the connection kept unless the server says it closes it.

Not http.client: http.client imports the email package to parse headers, about 25 modules, and
with it the authorizer loads 0.45 of the modules `import boto3; boto3.client("dynamodb")` loads,
over the goal of 0.40 (docs/performance.md, "The authorizer's own DynamoDB client"). What
DynamoDB's JSON protocol needs of HTTP/1.1 is this much. Every failure (refused, reset, timed
out, closed early, malformed) is an OSError: the client retries it as a connection failure.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Mapping

_MAX_LINE = 65_536
_MAX_HEADERS = 100


class MalformedResponse(ConnectionError):
    """The server's answer is not HTTP/1.1 as expected (or ended early)."""


class Http1Connection:
    """A connection to one host: opened on first use, reopened when the server closed it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool,
        ca_bundle: str | None = None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self._ca_bundle = ca_bundle
        self._tls_context: ssl.SSLContext | None = None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._sock: socket.socket | None = None
        self._buffer = b""
        # How many connections it opened: a test reads it to see a reconnect.
        self.opened = 0

    def request(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """POSTs `body` and returns (status, lower-cased headers, body). Raises OSError when the
        exchange fails; the connection is then closed (the next request opens another)."""
        try:
            sock = self._connected()
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            sock.sendall(f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
            status, answer_headers, answer = self._response()
        except BaseException:
            self.close()
            raise
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, answer_headers, answer

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buffer = b""

    # -- the socket ----------------------------------------------------------------------------

    def _connected(self) -> socket.socket:
        """The open socket; a new one when there is none or the server closed it while idle
        (an idle connection with something to read has been closed, or is out of step)."""
        if self._sock is not None:
            readable, _, _ = select.select([self._sock], [], [], 0)
            if not readable and not self._buffer:
                return self._sock
            self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                sock = self._context().wrap_socket(sock, server_hostname=self.host)  # handshake: connect timeout
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.opened += 1
        return sock

    def _context(self) -> ssl.SSLContext:
        """The TLS context, made with the first connection as botocore makes its own: loading
        the CA certificates is its cost, and a client that never connects never pays it."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=self._ca_bundle)
        return self._tls_context

    def _read_some(self) -> bytes:
        if self._sock is None:
            raise MalformedResponse("not connected")
        data = self._sock.recv(65_536)
        if not data:
            raise MalformedResponse("the server closed the connection before answering")
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_LINE:
                raise MalformedResponse("header line too long")
            self._buffer += self._read_some()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._buffer += self._read_some()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _response(self) -> tuple[int, dict[str, str], bytes]:
        while True:
            version, _, rest = self._line().partition(b" ")
            code = rest[:3]
            if not version.startswith(b"HTTP/1.") or not code.isdigit():
                raise MalformedResponse("not an HTTP/1.1 status line")
            headers = self._headers()
            if not 100 <= int(code) < 200:  # an interim 1xx answer is followed by the real one
                break
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return int(code), headers, self._chunked()
        length = headers.get("content-length", "0").strip()
        if not length.isdigit():
            raise MalformedResponse("no usable Content-Length")
        return int(code), headers, self._exactly(int(length))

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self._line()
            if not line:
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise MalformedResponse("malformed header line")
            headers[name.strip().lower()] = value.strip()
        raise MalformedResponse("too many headers")

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_text = self._line().partition(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise MalformedResponse("malformed chunk size") from None
            if size == 0:
                self._headers()  # trailers, up to the blank line
                return b"".join(chunks)
            chunks.append(self._exactly(size))
            if self._exactly(2) != b"\r\n":
                raise MalformedResponse("malformed chunk")
