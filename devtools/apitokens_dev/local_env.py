"""The local server's environment: what template.yaml gives the functions, with the local stage's
values over it (table, endpoint, JWT issuer and keys, region, credentials, proxy bypass), the
development keys and the table it serves, and the state file `apitokens run-scheduled` reads."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apitokens_dev import devkeys, template

DEFAULT_TABLE = "apitokens-local"
REGION = "us-east-1"
JWKS_PATH = "/.well-known/jwks.json"
# Where `apitokens serve` writes its endpoint and table, under the state directory.
SERVE_STATE = "serve.json"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServeError(RuntimeError):
    """The server cannot start; the message says why, without a traceback."""


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK


def template_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """What template.yaml gives its functions with these parameter overrides (else the defaults),
    all functions merged: they share this one process, as their environments share names and values."""
    functions = [route.function for route in template.api_routes()] + [template.default_authorizer()[0]]
    environment: dict[str, str] = {}
    for logical_id in functions:
        environment.update(template.function_environment(logical_id, overrides=overrides))
    return environment


def local_environment(
    *,
    table: str,
    endpoint: str,
    jwks_url: str,
    embedded: bool,
    github_keys_url: str = "",
    overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """The functions' environment from template.yaml (with the token stack's parameter
    overrides), with the local stage's values over it."""
    environment = {
        **template_environment(overrides),
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


def development_keys(state_dir: Path) -> Any:
    """The development JWT signing key, made on first use, and the GitHub secret-scanning key
    beside it (made too, so that the key list this server publishes exists from the start)."""
    key = devkeys.load_or_create_key(state_dir)
    devkeys.github_key(state_dir)
    return key


def write_serve_state(state_dir: Path, endpoint: str, table: str) -> None:
    """`apitokens run-scheduled` run from the same directory finds this server's table here."""
    state = {"endpoint": endpoint, "table": table, "pid": os.getpid()}
    (state_dir / SERVE_STATE).write_text(json.dumps(state), encoding="utf-8")


def remove_serve_state(state_dir: Path) -> None:
    """When the server stops: its state names an endpoint that is gone (unless another server
    has written its own since)."""
    state_file = state_dir / SERVE_STATE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(state_file.read_text(encoding="utf-8")).get("pid") == os.getpid():
            state_file.unlink()


def _answers(endpoint: str) -> bool:
    """Whether something listens at `endpoint` (a TCP connection within a second)."""
    parts = urlsplit(endpoint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1):
            return True
    except (OSError, ValueError):
        return False


def read_serve_state(state_dir: Path) -> tuple[str, str]:
    """The DynamoDB endpoint and table of the `apitokens serve` last started from `state_dir`; a
    ValueError of one line when there is none, or when its endpoint no longer answers (the
    server stopped, and with it its embedded DynamoDB)."""
    state_file = state_dir / SERVE_STATE
    fix = "start `apitokens serve` in this directory, or pass --dynamodb-endpoint and --table"
    if not state_file.exists():
        raise ValueError(f"no {state_file}: {fix}")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        endpoint, table = str(state["endpoint"]), str(state["table"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"{state_file} is not a server's state: {fix}") from None
    if not _answers(endpoint):
        raise ValueError(f"{state_file} names a server that has stopped (nothing answers at {endpoint}): {fix}")
    return endpoint, table


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
