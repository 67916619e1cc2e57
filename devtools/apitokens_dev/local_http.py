"""The local server's HTTP front: HTTP/1.1 on a socket, each request handed to the local gateway
(gateway.py), apart from the development endpoints it answers itself (the JWKS, the GitHub
secret-scanning key list and the OpenAPI document), and one redacted log line per request."""

from __future__ import annotations

import functools
import json
import re
import socket
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from typing_extensions import override

from apitokens.domain import adopted
from apitokens_dev import devkeys
from apitokens_dev.gateway import Gateway, HttpResponse, Request
from apitokens_dev.local_env import JWKS_PATH, ServeError

# API Gateway's own payload limit (10 MB, REST and HTTP APIs), answered with its REQUEST_TOO_LARGE
# gateway response; below it, each handler answers 413 past its own limit (16 KiB for the token
# routes, 1 MiB for GitHub's reports), as in AWS.
MAX_BODY_BYTES = 10 * 1024 * 1024


@functools.cache
def _secrets(token_prefix: str) -> re.Pattern[str]:
    """Token values and JWTs that a client might put in a URL, so that they never reach the log
    however the URL spells them: the deployment's TokenPrefix (and the service's own) in any
    case, a JWT by its "eyJ" header or by its three segments."""
    prefixes = "|".join(dict.fromkeys(map(re.escape, (token_prefix, adopted.DEFAULT_TOKEN_PREFIX))))
    return re.compile(
        rf"({prefixes})_(live|test)_[A-Za-z0-9]+"
        r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*"
        r"|[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
        re.IGNORECASE,
    )


# What a redacted target keeps unescaped: RFC 3986's characters, and the brackets of [redacted].
_LOGGED_AS_IS = "/?#[]@!$&'()*+,;=:-._~"


def redact(target: str) -> str:
    """`target` (a path, a query, a header value) as it may be logged: what it means, not how it
    was spelled. It is percent-decoded until nothing changes (%255F is %5F is _) and
    NFKC-normalised (fullwidth letters), every secret in that is replaced, and the result is
    percent-encoded again, so that no control character or newline reaches the log either."""
    decoded = target
    while (once := unquote(decoded, errors="replace")) != decoded:
        decoded = once  # each round is shorter: this ends
    meaning = unicodedata.normalize("NFKC", decoded)

    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}_{match.group(2)}_[redacted]" if match.group(1) else "[redacted]"

    secrets = _secrets(adopted.current().token_prefix)
    return quote(secrets.sub(replace, meaning), safe=_LOGGED_AS_IS)


@dataclass
class Site:
    gateway: Gateway
    state_dir: Path
    openapi: bytes
    log: IO[str]
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def write_log(self, line: str) -> None:
        # One line at a time: print() writes the text and its newline separately, so lines of
        # concurrent requests (the authorizer's JWKS fetch is one) could run together.
        with self._log_lock:
            self.log.write(line + "\n")
            self.log.flush()


class _MalformedBody(ValueError):
    """Content-Length or chunked framing that cannot be read: the connection cannot go on."""


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 resets connections of a burst of clients.
    request_queue_size = 128
    site: Site

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away: nothing to report
        self.site.write_log(f"apitokens serve: internal error: {type(error).__name__}")


class HttpServer6(HttpServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server: HttpServer

    @override
    def version_string(self) -> str:
        return "apitokens-local"

    @override
    def log_message(self, format: str, *args: Any) -> None:
        # The default log repeats the request line and error details; our own line (below) is
        # the one place requests are logged, redacted.
        return

    def _dispatch(self) -> None:
        started = time.monotonic()
        site = self.server.site
        path, _, query = self.path.partition("?")
        if not path.startswith("/"):  # absolute-form target: http://host/path
            path, query = urlsplit(self.path).path or "/", urlsplit(self.path).query
        refusal: HttpResponse | None = None
        try:
            body = self._read_body()
        except _MalformedBody:
            body, refusal = None, site.gateway.responses.render("DEFAULT_4XX", "-", status=400)
        if body is None:
            # The rest of the body is unread: this connection cannot carry another request.
            response = refusal or site.gateway.responses.render("REQUEST_TOO_LARGE", "-")
            self.close_connection = True
        elif self.command == "GET" and path == JWKS_PATH:
            keys = devkeys.jwks(devkeys.load_or_create_key(site.state_dir))
            response = _json_response(json.dumps(keys).encode("utf-8"))
        elif self.command == "GET" and path == devkeys.GITHUB_KEYS_PATH:
            public_keys = devkeys.github_public_keys(devkeys.github_key(site.state_dir))
            response = _json_response(json.dumps(public_keys).encode("utf-8"))
        elif self.command == "GET" and path == f"/{site.gateway.stage}/openapi.json":
            response = _json_response(site.openapi)
        else:
            target = self.path if self.path.startswith("/") else path
            request = Request(
                method=self.command,
                target=target,
                headers=list(self.headers.items()),
                body=body,
                source_ip=str(self.client_address[0]),
                protocol=self.request_version,
            )
            try:
                response = site.gateway.handle(request)
            except Exception as error:  # a bug of the local gateway itself, not of the functions
                where = traceback.extract_tb(error.__traceback__)[-1]
                # Type and place only: a message could quote a header value.
                site.write_log(
                    f"apitokens serve: local gateway error {type(error).__name__} at {where.filename}:{where.lineno}"
                )
                response = site.gateway.responses.render("DEFAULT_5XX", "-", status=500)
        self._send(response)
        elapsed = (time.monotonic() - started) * 1000
        logged = redact(f"{path}?{query}" if query else path)
        line = f"{self.command} {logged} {response.status} {elapsed:.0f}ms principal={response.principal_type}"
        site.write_log(line)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is larger than MAX_BODY_BYTES (then left unread)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _MalformedBody from None
        if length < 0:
            raise _MalformedBody
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _MalformedBody from None
            if size < 0:
                raise _MalformedBody
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method (do_GET, do_TRACE, ...) reaches the gateway, which answers one the
        # template does not route as API Gateway does, instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


def _json_response(body: bytes) -> HttpResponse:
    return HttpResponse(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body)


def url_host(host: str) -> str:
    """How a client on this machine reaches a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def bind(host: str, port: int) -> HttpServer:
    """The server listening on host:port (IPv6 when host is an IPv6 address), not yet serving."""
    server_class = HttpServer6 if ":" in host else HttpServer
    try:
        return server_class((host, port), _Handler)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
