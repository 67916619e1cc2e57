"""examples/fastapi-service over HTTP: uvicorn started as docs/protect-your-api.md says, configured by
APITOKENS_URL and the AWS credential variables of `apitokens dev-credentials`, guarding
GET /accounts/{accountSid}/metrics/summary with metrics:read through the local server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ACCOUNT, OTHER_ACCOUNT, PROJECT_ROOT, LocalServer, Reply, assert_error, cli

pytestmark = pytest.mark.e2e

STARTUP_SECONDS = 60
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


def start_example(workdir: Path, environment: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    log = workdir / "uvicorn.log"
    uvicorn = Path(sys.executable).parent / "uvicorn"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(uvicorn), "--app-dir", "examples/fastapi-service", "app:app", "--port", "0"],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        match = _LISTENING.search(log.read_text(errors="replace"))
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    pytest.fail(f"the example did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def example(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exports = cli("dev-credentials", cwd=server.workdir).stdout.splitlines()
    credentials = dict(line.removeprefix("export ").split("=", 1) for line in exports)
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "APITOKENS_"))}
    environment.update(credentials)
    environment["APITOKENS_URL"] = server.base_url
    process, url = start_example(tmp_path_factory.mktemp("example"), environment)
    yield url
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def get(url: str, token: str | None) -> Reply:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode())


def summary(example: str, account: str = ACCOUNT) -> str:
    return f"{example}/accounts/{account}/metrics/summary"


def test_a_metrics_read_token_gets_the_summary(server: LocalServer, jwt: str, example: str) -> None:
    token = server.create_token(jwt, scopes=["metrics:read"])
    reply = get(summary(example), token["token"])
    assert reply.status == 200, reply.text
    assert reply.body["accountSid"] == ACCOUNT
    assert reply.body["servedFor"] == token["sid"]


def test_a_token_without_the_scope_is_403(server: LocalServer, jwt: str, example: str) -> None:
    token = server.create_token(jwt, scopes=["tokens:read"])["token"]
    assert_error(get(summary(example), token), 403, "forbidden")


def test_another_accounts_path_is_403(server: LocalServer, jwt: str, example: str) -> None:
    token = server.create_token(jwt, scopes=["metrics:read"])["token"]
    assert_error(get(summary(example, OTHER_ACCOUNT), token), 403, "forbidden")
    assert_error(get(summary(example, "acc_" + "x" * 100), token), 403, "forbidden")


@pytest.mark.parametrize("credential", [None, "at_test_unknown", "not-a-token", "revoked", "a user JWT"])
def test_no_token_or_a_refused_one_is_401(server: LocalServer, jwt: str, example: str, credential: str | None) -> None:
    if credential == "revoked":
        token = server.create_token(jwt, scopes=["metrics:read"])
        server.request("DELETE", f"/accounts/{ACCOUNT}/apiTokens/{token['sid']}", token=jwt)
        credential = token["token"]
    elif credential == "a user JWT":
        credential = jwt
    reply = get(summary(example), credential)
    assert_error(reply, 401, "unauthorized")
    assert reply.headers.get("www-authenticate") == "Bearer"
