"""Roll, cascading revocation and both leak endpoints over real HTTP through `apitokens serve`,
with `apitokens dev-leak-report` producing the signed GitHub request."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from apitokens.domain.tokens import digest
from apitokens.wire.leak_models import MAX_GITHUB_REPORT_BYTES, MAX_REPORTED
from apitokens_dev import devkeys
from tests.harness import ACCOUNT, LocalServer, cli, start_server
from tests.integration.test_leak_reports import largest_report

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
WRITER = ["tokens:read", "tokens:write", "tokens:delete"]


def test_a_token_rolls_itself_with_a_grace_period(server: LocalServer, jwt: str) -> None:
    old = server.create_token(jwt, scopes=WRITER)
    rolled = server.request(
        "POST",
        f"{TOKENS}/{old['sid']}/roll",
        token=old["token"],
        body={"gracePeriodSeconds": 600},
        headers={"Idempotency-Key": "http-roll-1"},
    )
    assert rolled.status == 201, rolled.text
    server.secrets.append(rolled.body["token"])
    assert rolled.body["rolledFrom"] == old["sid"]
    assert rolled.body["createdBy"] == {"type": "token", "id": old["sid"]}
    assert server.token_works(old["token"])
    assert server.token_works(rolled.body["token"])
    replay = server.request(
        "POST",
        f"{TOKENS}/{old['sid']}/roll",
        token=old["token"],
        body={"gracePeriodSeconds": 600},
        headers={"Idempotency-Key": "http-roll-1"},
    )
    assert (replay.status, replay.headers["idempotent-replayed"]) == (200, "true")
    assert "token" not in replay.body
    # Without a body, as the optional body allows: no grace, the successor stops at once.
    again = server.send("POST", f"/v1{TOKENS}/{rolled.body['sid']}/roll", [("Authorization", f"Bearer {jwt}")])
    assert again.status == 201, again.text
    server.secrets.append(json.loads(again.text)["token"])
    assert not server.token_works(rolled.body["token"])


def test_deleting_a_token_revokes_what_it_created(server: LocalServer, jwt: str) -> None:
    parent = server.create_token(jwt, scopes=WRITER)
    child = server.create_token(parent["token"], scopes=WRITER)
    grandchild = server.create_token(child["token"], scopes=["tokens:read"])
    assert server.request("DELETE", f"{TOKENS}/{parent['sid']}", token=jwt).status == 200
    assert not server.token_works(child["token"])
    assert not server.token_works(grandchild["token"])
    got = server.request("GET", f"{TOKENS}/{grandchild['sid']}", token=jwt).body
    assert (got["isActive"], got["revokedReason"]) == (False, "parent_revoked")


def _signed_request(server: LocalServer, *found: str) -> tuple[list[tuple[str, str]], bytes]:
    """What `apitokens dev-leak-report` prints: headers, a blank line, the body, a curl line."""
    printed = cli("dev-leak-report", *found, "--base-url", server.base_url, cwd=server.workdir).stdout
    header_block, body, curl = printed.strip().split("\n\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in header_block.splitlines())]
    assert curl.startswith(f"curl -s -X POST {server.base_url}/secret-scanning/github")
    return headers, body.encode()


def test_github_secret_scanning_through_the_local_server(server: LocalServer, jwt: str) -> None:
    leaked = server.create_token(jwt, scopes=WRITER)
    child = server.create_token(leaked["token"])
    headers, body = _signed_request(server, leaked["token"], "at_live_notours")
    answer = server.send("POST", "/v1/secret-scanning/github", headers, body)
    assert answer.status == 200, answer.text
    feedback = json.loads(answer.text)
    assert [(entry["token_hash"], entry["label"]) for entry in feedback] == [
        (digest(leaked["token"]), "true_positive"),
        (digest("at_live_notours"), "false_positive"),
    ]
    assert not server.token_works(leaked["token"])
    assert not server.token_works(child["token"])
    # A tampered body under the same signature changes nothing.
    other = server.create_token(jwt)
    forged = body.replace(leaked["token"].encode(), other["token"].encode())
    refused = server.send("POST", "/v1/secret-scanning/github", headers, forged)
    assert refused.status == 401
    assert server.token_works(other["token"])
    stdout, stderr = server.logs()
    assert leaked["token"] not in stdout + stderr


def test_anyone_can_revoke_a_found_token_and_is_throttled(tmp_path: Path) -> None:
    # A server of its own: draining the route's burst would throttle the module's other tests.
    server = start_server(tmp_path)
    try:
        revoke_and_throttle(server, server.jwt())
    finally:
        server.stop_cleanly()


def revoke_and_throttle(server: LocalServer, jwt: str) -> None:
    found = server.create_token(jwt)
    revoked = server.request("POST", "/credentials/revoke", body={"tokens": [found["token"]]})
    assert revoked.status == 202, revoked.text
    unknown = server.request("POST", "/credentials/revoke", body={"tokens": ["at_test_whatever"]})
    assert (unknown.status, unknown.text) == (202, revoked.text)
    assert not server.token_works(found["token"])
    # Far more at once than the template's burst (UnauthenticatedBurstLimit, 20) lets through.
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(lambda _: server.request("POST", "/credentials/revoke", body={"tokens": ["x"]}), range(80))
        )
    throttled = [reply for reply in statuses if reply.status == 429]
    assert throttled
    assert throttled[0].body["error"]["code"] == "too_many_requests"


def test_leak_reports_take_any_string_and_revoke_the_real_tokens(server: LocalServer, jwt: str) -> None:
    odd = ["é", "a\x00b", "😀", "\u202e"]
    found = server.create_token(jwt)
    revoked = server.request("POST", "/credentials/revoke", body={"tokens": [*odd, found["token"]]})
    assert revoked.status == 202, revoked.text
    assert not server.token_works(found["token"])
    raw = json.dumps({"tokens": odd}, ensure_ascii=False).encode("utf-8")
    assert server.send("POST", "/v1/credentials/revoke", [("Content-Type", "application/json")], raw).status == 202
    reported = server.create_token(jwt)
    printable = [value for value in odd if "\x00" not in value]  # a command-line argument holds no NUL
    headers, body = _signed_request(server, *printable, reported["token"])
    answer = server.send("POST", "/v1/secret-scanning/github", headers, body)
    assert answer.status == 200, answer.text
    labels = [entry["label"] for entry in json.loads(answer.text)]
    assert labels == ["false_positive"] * len(printable) + ["true_positive"]
    assert not server.token_works(reported["token"])
    # What is not a JSON list of strings is a 400 that changes nothing: a lone surrogate (not
    # Unicode text), bytes that are not UTF-8.
    bystander = server.create_token(jwt)
    for bad in (b'{"tokens": ["\\ud800"]}', b'{"tokens": ["\xff"]}'):
        refused = server.send("POST", "/v1/credentials/revoke", [("Content-Type", "application/json")], bad)
        assert refused.status == 400, refused.text
        assert json.loads(refused.text)["error"]["code"] == "invalid_request"
    assert server.token_works(bystander["token"])


def test_a_github_report_up_to_its_limit_is_taken_and_a_larger_one_is_413(server: LocalServer, jwt: str) -> None:
    key = devkeys.github_key(server.workdir / devkeys.STATE_DIR)
    reported = server.create_token(jwt)
    headers, body = largest_report(key, reported["token"], MAX_GITHUB_REPORT_BYTES)
    answer = server.send("POST", "/v1/secret-scanning/github", list(headers.items()), body)
    assert answer.status == 200, answer.text[:300]
    feedback = json.loads(answer.text)
    assert len(feedback) == MAX_REPORTED
    assert feedback[-1]["label"] == "true_positive"
    assert not server.token_works(reported["token"])
    bystander = server.create_token(jwt)
    headers, body = largest_report(key, bystander["token"], MAX_GITHUB_REPORT_BYTES + 1)
    refused = server.send("POST", "/v1/secret-scanning/github", list(headers.items()), body)
    assert refused.status == 413
    assert json.loads(refused.text)["error"]["code"] == "payload_too_large"
    assert server.token_works(bystander["token"])


@pytest.mark.parametrize("stage", ["", "/", "/v1/"])
def test_the_printed_curl_line_reports_with_or_without_the_stage_in_the_base_url(
    server: LocalServer, jwt: str, stage: str
) -> None:
    leaked = server.create_token(jwt)
    root = server.base_url.removesuffix("/v1")
    printed = cli("dev-leak-report", leaked["token"], "--base-url", root + stage, cwd=server.workdir).stdout
    curl = printed.strip().split("\n\n")[-1]
    assert curl.startswith(f"curl -s -X POST {server.base_url}/secret-scanning/github ")
    sent = subprocess.run(["/bin/sh", "-c", curl], capture_output=True, text=True, timeout=60, check=True)
    assert [entry["label"] for entry in json.loads(sent.stdout)] == ["true_positive"]
    assert not server.token_works(leaked["token"])
