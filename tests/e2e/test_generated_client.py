"""A Python client generated from the committed openapi.json (openapi-python-client, at test
time, into a temporary directory) drives `apitokens serve` over HTTP: list, create, get,
update, delete, and a 503 that arrives as a typed ErrorEnvelope, not as an exception about an
undocumented status.

The server runs on a DynamoDB endpoint this test owns (moto's server), so that stopping it
makes the token store fail as an outage would."""

from __future__ import annotations

import datetime
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from apitokens_dev.template import PROJECT_ROOT
from tests.harness import ACCOUNT, LocalServer, start_server

pytestmark = pytest.mark.e2e
# Not apitokens_client: that is the installed client for services (clients/python).
PACKAGE = "apitokens_generated_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\nproject_name_override: apitokens-generated-client\n")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(PROJECT_ROOT / "openapi.json"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},  # its ruff hook
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def dynamodb_server() -> Iterator[ThreadedMotoServer]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    yield moto
    moto.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, dynamodb_server: ThreadedMotoServer) -> Iterator[LocalServer]:
    host, port = dynamodb_server.get_host_and_port()
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    local = start_server(
        tmp_path_factory.mktemp("serve"), "--dynamodb-endpoint", f"http://{host}:{port}", environment=credentials
    )
    yield local
    local.stop_cleanly()


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generated_client_drives_every_operation_and_gets_typed_errors(
    client_package: ModuleType, served: LocalServer, dynamodb_server: ThreadedMotoServer
) -> None:
    models, tokens = module("models"), module("api.api_tokens")
    for name in ("list_api_tokens", "create_api_token", "get_api_token", "update_api_token", "delete_api_token"):
        importlib.import_module(f"{tokens.__name__}.{name}")
    client = client_package.AuthenticatedClient(
        base_url=served.base_url, token=served.jwt("--account", ACCOUNT), raise_on_unexpected_status=True
    )
    request = models.CreateTokenRequest(
        name="generated client",
        scopes=[models.CreateTokenRequestScopesItem("tokens:read")],
        expires_at=datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC),
    )
    created = tokens.create_api_token.sync_detailed(ACCOUNT, client=client, body=request)
    assert created.status_code == 201
    assert isinstance(created.parsed, models.CreatedApiToken)
    served.secrets.append(created.parsed.token)
    sid = created.parsed.sid

    listed = tokens.list_api_tokens.sync(ACCOUNT, client=client, limit=10)
    assert isinstance(listed, models.ApiTokenList)
    assert [record.sid for record in listed.records] == [sid]

    fetched = tokens.get_api_token.sync(ACCOUNT, sid, client=client)
    assert isinstance(fetched, models.ApiToken)
    assert fetched.name == "generated client"

    updated = tokens.update_api_token.sync(
        ACCOUNT, sid, client=client, body=models.UpdateTokenRequest(name="renamed", is_active=False)
    )
    assert isinstance(updated, models.ApiToken)
    assert (updated.name, updated.is_active) == ("renamed", False)

    deleted = tokens.delete_api_token.sync(ACCOUNT, sid, client=client)
    assert isinstance(deleted, models.DeletedApiToken)
    assert deleted.deleted is True

    missing = tokens.get_api_token.sync_detailed(ACCOUNT, sid, client=client)
    assert missing.status_code == 404
    assert missing.parsed.error.code == models.ErrorBodyCode.NOT_FOUND

    dynamodb_server.stop()  # the token store goes away: a declared 503, parsed, not an exception
    outage = tokens.list_api_tokens.sync_detailed(ACCOUNT, client=client)
    assert outage.status_code == 503
    assert isinstance(outage.parsed, models.ErrorEnvelope)
    assert outage.parsed.error.code == models.ErrorBodyCode.SERVICE_UNAVAILABLE
    assert outage.headers["retry-after"]
