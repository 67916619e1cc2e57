"""`apitokens serve`: the API on a local HTTP port, through the local gateway (gateway.py), backed
by an embedded DynamoDB (embedded_db: moto's server, in-process) or by a given endpoint.

Besides the API under /v1 it serves three unauthenticated development endpoints (local_http): the
JWKS of the development signing key (/.well-known/jwks.json, which the authorizer itself fetches),
the development GitHub secret-scanning key list (/dev/github/secret-scanning-keys, in GitHub's
shape, which the secret-scanning function fetches) and the OpenAPI document (/v1/openapi.json).
The functions' environment, keys and table come from local_env.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

from apitokens_dev import devkeys, template
from apitokens_dev.catalogs import apply_catalogs
from apitokens_dev.embedded_db import embedded_dynamodb
from apitokens_dev.gateway import Gateway
from apitokens_dev.local_env import (
    DEFAULT_TABLE,
    JWKS_PATH,
    ServeError,
    development_keys,
    ensure_table,
    local_environment,
    remove_serve_state,
    write_serve_state,
)
from apitokens_dev.local_http import Site, bind, url_host

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServeError", "banner", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def banner(
    base_url: str, root_url: str, dynamodb: str, table: str, jwt: str, *, endpoint: str = "", apis: tuple[str, ...] = ()
) -> str:
    account = devkeys.example_account()
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
    parameter_overrides: dict[str, str] | None = None,
) -> int:
    """Runs until Ctrl-C or SIGTERM; the exit status (0 on a requested stop)."""
    # Ctrl-C stops the server even when it was started from a shell that ignores SIGINT (a
    # background job or a CI runner), which a child process would otherwise inherit.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _stop)
    key = development_keys(state_dir)
    httpd = bind(host, port)
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
                    overrides=parameter_overrides,
                )
            )
            from apitokens.settings import get_deployment, get_settings

            get_settings.cache_clear()
            get_deployment.cache_clear()
            get_deployment()
            ensure_table(endpoint, table)
            apply_catalogs(apis, endpoint, table)
            write_serve_state(state_dir, endpoint, table)
            from apitokens_dev.openapi import build_openapi

            httpd.site = Site(
                gateway=Gateway.from_template(
                    cache_ttl=authorizer_cache_ttl, apis=apis, iam_credentials=devkeys.dev_credentials(state_dir)
                ),
                state_dir=state_dir,
                openapi=json.dumps(build_openapi(base_url), indent=2).encode("utf-8"),
                log=log,
            )
            dynamodb = f"embedded (moto) at {endpoint}" if embedded else endpoint
            jwt = devkeys.mint_jwt(key, [devkeys.example_account()])
            names = tuple(str(path) for path in apis)
            print(banner(base_url, root_url, dynamodb, table, jwt, endpoint=endpoint, apis=names), file=out, flush=True)
            httpd.serve_forever()
    except KeyboardInterrupt:
        print("apitokens serve: stopped", file=log, flush=True)
    finally:
        httpd.server_close()
        remove_serve_state(state_dir)
    return 0
