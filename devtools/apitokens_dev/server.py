"""`apitokens serve`: the API on a local HTTP port, through the local gateway (gateway.py), backed
by an embedded DynamoDB (moto's server, in-process) or by a given endpoint.

Besides the API under /v1 it serves three unauthenticated development endpoints: the JWKS of the
development signing key (/.well-known/jwks.json, which the authorizer itself fetches), the
development GitHub secret-scanning key list (/dev/github/secret-scanning-keys, in GitHub's shape,
which the secret-scanning function fetches) and the OpenAPI document (/v1/openapi.json).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from typing_extensions import override

from apitokens_dev import devkeys, template
from apitokens_dev.gateway import Gateway, HttpResponse, Request
from apitokens_dev.moto_rollback import roll_back_moto_transactions_by_item

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_TABLE = "apitokens-local"
REGION = "us-east-1"
JWKS_PATH = "/.well-known/jwks.json"
# API Gateway's own payload limit (10 MB, REST and HTTP APIs), answered with its REQUEST_TOO_LARGE
# gateway response; below it, each handler answers 413 past its own limit (16 KiB for the token
# routes, 1 MiB for GitHub's reports), as in AWS.
MAX_BODY_BYTES = 10 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

# Token values and JWTs that a client might put in a URL never reach the log, however the URL
# spells them: the prefix in any case, a JWT by its "eyJ" header or by its three segments.
_SECRETS = re.compile(
    r"(at)_(live|test)_[A-Za-z0-9]+"
    r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*"
    r"|[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
    re.IGNORECASE,
)
# What a redacted target keeps unescaped: RFC 3986's characters, and the brackets of [redacted].
_LOGGED_AS_IS = "/?#[]@!$&'()*+,;=:-._~"


class ServeError(RuntimeError):
    """The server cannot start; the message says why, without a traceback."""


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

    return quote(_SECRETS.sub(replace, meaning), safe=_LOGGED_AS_IS)


# -- the HTTP front ----------------------------------------------------------------------------


@dataclass
class _Site:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 resets connections of a burst of clients.
    request_queue_size = 128
    site: _Site

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away: nothing to report
        self.site.write_log(f"apitokens serve: internal error: {type(error).__name__}")


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server: _Server

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


SERVE_STATE = "serve.json"


def _json_response(body: bytes) -> HttpResponse:
    return HttpResponse(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body)


# -- DynamoDB ----------------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_dynamodb() -> Iterator[str]:
    """moto's DynamoDB on a free loopback port, for as long as the block runs; yields its URL."""
    from moto.server import ThreadedMotoServer

    # moto's werkzeug server would log every request it answers.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Before the lock: the rollback's backup must be taken inside the atomic request.
    roll_back_moto_transactions_by_item()
    make_moto_dynamodb_atomic()
    stop_moto_dynamodb_instance_tracking()
    drop_empty_moto_partitions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# The backend methods a request of the service reaches (TransactWriteItems calls the others
# itself, hence a reentrant lock).
_MOTO_DYNAMODB_METHODS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "transact_write_items")


def make_moto_dynamodb_atomic(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Makes every DynamoDB request moto serves atomic: one at a time, under one lock.

    moto's DynamoDBBackend has no lock of its own: its transact_write_items deep-copies the
    table, checks each condition and writes each item in turn, and on a cancellation puts the
    whole copy back, while werkzeug serves each request on its own thread. Two concurrent
    transactions could both pass `tokenCount < :limit`, and a cancelled one could erase another
    one's committed writes. Real DynamoDB runs each request atomically and transactions
    serializably; this gives moto the same guarantee, request by request. `setattr` lets a test
    undo it (pytest's monkeypatch.setattr)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_apitokens_atomic", False):
        return
    lock = threading.RLock()

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def atomic(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return atomic

    for name in _MOTO_DYNAMODB_METHODS:
        setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))
    setattr(DynamoDBBackend, "_apitokens_atomic", True)


class _Untracked(list[Any]):
    """A list that keeps nothing: moto appends every model instance it makes to one of these."""

    @override
    def append(self, instance: Any) -> None:
        return


def stop_moto_dynamodb_instance_tracking(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Stops moto from keeping every DynamoDB model instance it ever makes.

    moto's BaseModel.__new__ appends each instance to its class's `instances_tracked` list (for
    the dashboard of moto's standalone server, which the local server does not serve), and
    nothing takes them out while the process lives. TransactWriteItems deep-copies every table it
    touches for its rollback, and copy.deepcopy makes the Table and each Item through __new__:
    so every transaction left a whole copy of the table reachable, and the server grew by the
    table's size on each create, update and delete. Untracked, a copy is freed when the
    transaction returns. `setattr` lets a test undo it (pytest's monkeypatch.setattr)."""
    from moto.core.model_instances import model_data
    from moto.dynamodb import models  # noqa: F401 - registers the DynamoDB model classes

    for model in model_data["dynamodb"].values():
        if not isinstance(getattr(model, "instances_tracked", None), _Untracked):
            setattr(model, "instances_tracked", _Untracked())


def drop_empty_moto_partitions(setattr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Makes moto forget a partition once its last item is deleted.

    moto's Table.delete_item pops the item from its partition's dict but leaves the empty dict
    behind, so every deleted token left one empty partition (its lookup item has a partition of
    its own), and TransactWriteItems, which deep-copies the table for each of its items, got
    slower with every token ever deleted: the soak's latency grew with the pairs made, not with
    the live table (docs/reliability.md). DynamoDB has no such thing as an empty partition key.
    `setattr` lets a test undo it (pytest's monkeypatch.setattr)."""
    from moto.dynamodb.models.table import Table

    delete_item = Table.delete_item
    if getattr(delete_item, "drops_empty_partitions", False):
        return

    @functools.wraps(delete_item)
    def delete_and_drop_empty(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        item = delete_item(self, hash_key, range_key)
        if range_key and not self.items.get(hash_key, True):
            del self.items[hash_key]
        return item

    delete_and_drop_empty.drops_empty_partitions = True  # type: ignore[attr-defined]
    setattr(Table, "delete_item", delete_and_drop_empty)


def ensure_table(endpoint: str, table: str) -> bool:
    """Creates the table of template.yaml unless it exists; True when it was created."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", REGION),
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=10),
    )
    try:
        try:
            client.describe_table(TableName=table)
        except client.exceptions.ResourceNotFoundException:
            client.create_table(**template.table_create_arguments(table))
            client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            return True
    except (BotoCoreError, ClientError) as error:
        raise ServeError(f"DynamoDB at {endpoint} is not usable: {error}") from None
    return False


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of the table, in key order: a Scan, for tests and benchmarks that look at the
    whole table (the service itself never scans)."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# -- environment -------------------------------------------------------------------------------


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK


def template_environment() -> dict[str, str]:
    """What template.yaml gives its functions with default parameters, all functions merged:
    they share this one process, as their environments share names and values."""
    functions = [route.function for route in template.api_routes()] + [template.default_authorizer()[0]]
    environment: dict[str, str] = {}
    for logical_id in functions:
        environment.update(template.function_environment(logical_id))
    return environment


def local_environment(
    *, table: str, endpoint: str, jwks_url: str, embedded: bool, github_keys_url: str = ""
) -> dict[str, str]:
    """The functions' environment from template.yaml, with the local stage's values over it."""
    environment = {
        **template_environment(),
        "TABLE_NAME": table,
        "DYNAMODB_ENDPOINT_URL": endpoint,
        # The local stage issues and accepts at_test_ tokens only, like a test deployment.
        "TOKEN_ENVIRONMENT": "test",
        "JWKS_URL": jwks_url,
        # The development GitHub key list this server publishes (devkeys.GITHUB_KEYS_PATH).
        "GITHUB_KEYS_URL": github_keys_url,
        "JWT_ISSUER": devkeys.ISSUER,
        "JWT_AUDIENCE": devkeys.AUDIENCE,
        "JWT_ACCOUNTS_CLAIM": devkeys.ACCOUNTS_CLAIM,
        "AWS_REGION": os.environ.get("AWS_REGION") or REGION,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or REGION,
        # Events carry the Authorization header: never logged, whatever the shell says.
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        # The request log line is the local default; handler logs (JSON, stdout) on request.
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL") or "WARNING",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED") or "true",
        "AWS_LAMBDA_FUNCTION_NAME": "apitokens-local",
    }
    if embedded or (_is_loopback(endpoint) and not os.environ.get("AWS_ACCESS_KEY_ID")):
        # moto and DynamoDB Local accept any credentials; AWS itself gets the caller's own.
        environment.update(
            {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
        )
    # The authorizer fetches the JWKS from this server and the handlers may reach DynamoDB over
    # loopback: a proxy configured in the shell must intercept neither.
    no_proxy = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    direct = [*_LOOPBACK, urlsplit(jwks_url).hostname or ""]
    missing = [host for host in dict.fromkeys(direct) if host and host not in no_proxy.split(",")]
    environment["NO_PROXY"] = environment["no_proxy"] = ",".join(filter(None, (no_proxy, *missing)))
    return environment


# -- serve ---------------------------------------------------------------------------------------


def url_host(host: str) -> str:
    """How a client on this machine reaches a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> _Server:
    server_class = _Server6 if ":" in host else _Server
    try:
        return server_class((host, port), _Handler)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def banner(
    base_url: str, root_url: str, dynamodb: str, table: str, jwt: str, *, endpoint: str = "", apis: tuple[str, ...] = ()
) -> str:
    account = devkeys.EXAMPLE_ACCOUNT
    hours = devkeys.DEFAULT_EXPIRES_IN // 3600
    admin = f"apitokens admin create-token --dynamodb-endpoint {endpoint} --table {table} --environment test"
    return "\n".join(
        (
            f"apitokens API listening on {base_url}",
            *(f"  also:     {api} (same stage, same authorizer)" for api in apis),
            f"  DynamoDB: {dynamodb}, table {table}",
            f"  First token: {admin} --account {account} --scope tokens:read --name first",
            f"  JWKS:     {root_url}{JWKS_PATH} (iss {devkeys.ISSUER}, aud {devkeys.AUDIENCE})",
            f"  OpenAPI:  {base_url}/openapi.json",
            "",
            f"Development JWT for {account} (every scope, valid {hours} h; more: apitokens dev-jwt --help):",
            jwt,
            "",
            "Try:",
            f'  curl -s "{base_url}/accounts/{account}/apiTokens" -H "Authorization: Bearer {jwt}"',
            "",
            "Press Ctrl-C to stop.",
            "",
        )
    )


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    dynamodb_endpoint: str | None = None,
    table: str = DEFAULT_TABLE,
    state_dir: Path = devkeys.STATE_DIR,
    out: IO[str] = sys.stdout,
    log: IO[str] = sys.stderr,
    apis: tuple[Path, ...] = (),
    authorizer_cache_ttl: int | None = None,
) -> int:
    """Runs until Ctrl-C or SIGTERM; the exit status (0 on a requested stop)."""
    signal.signal(signal.SIGTERM, _stop)
    key = devkeys.load_or_create_key(state_dir)
    devkeys.github_key(state_dir)
    httpd = _bind(host, port)
    try:
        with contextlib.ExitStack() as stack:
            root_url = f"http://{url_host(host)}:{httpd.server_address[1]}"
            base_url = f"{root_url}/{template.stage_name()}"
            embedded = dynamodb_endpoint is None
            endpoint = dynamodb_endpoint or stack.enter_context(embedded_dynamodb())
            os.environ.update(
                local_environment(
                    table=table,
                    endpoint=endpoint,
                    jwks_url=root_url + JWKS_PATH,
                    embedded=embedded,
                    github_keys_url=root_url + devkeys.GITHUB_KEYS_PATH,
                )
            )
            from apitokens.settings import get_settings

            get_settings.cache_clear()
            ensure_table(endpoint, table)
            # `apitokens run-scheduled` run from the same directory finds this server's table here.
            (state_dir / SERVE_STATE).write_text(json.dumps({"endpoint": endpoint, "table": table}), encoding="utf-8")
            from apitokens_dev.openapi import build_openapi

            httpd.site = _Site(
                gateway=Gateway.from_template(cache_ttl=authorizer_cache_ttl, apis=apis),
                state_dir=state_dir,
                openapi=json.dumps(build_openapi(base_url), indent=2).encode("utf-8"),
                log=log,
            )
            dynamodb = f"embedded (moto) at {endpoint}" if embedded else endpoint
            jwt = devkeys.mint_jwt(key, [devkeys.EXAMPLE_ACCOUNT])
            names = tuple(str(path) for path in apis)
            print(banner(base_url, root_url, dynamodb, table, jwt, endpoint=endpoint, apis=names), file=out, flush=True)
            httpd.serve_forever()
    except KeyboardInterrupt:
        print("apitokens serve: stopped", file=log, flush=True)
    finally:
        httpd.server_close()
    return 0
