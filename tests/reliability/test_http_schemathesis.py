"""Schemathesis against the running local server: the OpenAPI document it serves
(/v1/openapi.json) drives generated requests through the real gateway, authorizer and handlers.

One `st run` (the CLI, as a subprocess of this interpreter: it runs all four phases, examples,
coverage, fuzzing and the stateful phase whose links make use-after-free testable) over every
operation, deterministic (`--generation-deterministic`: the same requests on every run, no
example database) and bounded (`--max-examples`), with a dev JWT. Its NDJSON report is read
back, and each test below asserts one property over all of it, naming the request that breaks
it.

Checks run: the CHECKS below. Left out, as they contradict documented behaviour:
- unsupported_method (ST204): a method the template does not route is API Gateway's own
  MISSING_AUTHENTICATION_TOKEN answer (403, per GatewayResponses), not a 405;
- positive_data_acceptance (ST202): some schema-valid bodies are refused by documented rules a
  JSON Schema cannot state: an expiresAt in the past (400), an Idempotency-Key reused with another
  body (422);
- object_level_authorization needs a second principal's auth context, max_response_time is
  a timing, allow_header_conformance concerns 405s (none here): each would be vacuous or flaky.

The accountSid path parameter is pinned to the dev JWT's account (any other is the policy's 403,
and test_http_bad_input covers those).

Links: the served document links every response carrying a token's `sid` to the operations
that take an `apiTokenSid` (apitokens_dev.openapi), so the stateful phase follows a created token
through get, update and delete, and use-after-free is testable (tests/unit/test_openapi_links.py
checks they are there: without them every get, update and delete would hit a random sid).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.harness import ACCOUNT, HttpStack, LocalServer, consistency_problems, http_stack, leak_problems

pytestmark = pytest.mark.e2e

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)
MAX_EXAMPLES = 20
# Enough scenarios that a created token's links to get, update and delete are each followed: which
# transitions the deterministic scenarios draw depends on every operation's parameters (DELETE's
# keepSuccessor among them), and fewer can leave get by sid unreached.
STATEFUL_EXAMPLES = 100
OPERATIONS = {
    "GET /accounts/{accountSid}/apiTokens",
    "POST /accounts/{accountSid}/apiTokens",
    "GET /accounts/{accountSid}/apiTokens/{apiTokenSid}",
    "PUT /accounts/{accountSid}/apiTokens/{apiTokenSid}",
    "DELETE /accounts/{accountSid}/apiTokens/{apiTokenSid}",
}
JWT_VARIABLE = "APITOKENS_SCHEMATHESIS_JWT"
CONFIG = f"""
[auth.openapi.bearerAuth]
bearer = "${{{JWT_VARIABLE}}}"

[parameters]
"path.accountSid" = "{ACCOUNT}"

# Scenarios of up to 10 linked calls with valid data (the other phases send the invalid data):
# long enough to create, use, update, delete and use again.
[phases.stateful]
max-steps = 10

[phases.stateful.generation]
max-examples = {STATEFUL_EXAMPLES}
mode = "positive"
"""
RUN_TIMEOUT_SECONDS = 300


@dataclass
class Exchange:
    """One request schemathesis sent and the answer it got."""

    phase: str
    operation: str  # "METHOD /path/{template}", or "-" when outside the schema (an undeclared method)
    method: str
    uri: str
    authorized: bool
    body: str | None
    status: int | None
    response: str
    timestamp: float

    def reproduce(self) -> str:
        data = f" -d {self.body!r}" if self.body else ""
        auth = " -H 'Authorization: Bearer <dev JWT>'" if self.authorized else ""
        return f"curl -X {self.method}{auth} -H 'Content-Type: application/json'{data} '{self.uri}'"


@dataclass
class Failure:
    check: str
    title: str
    message: str
    exchange: Exchange | None

    def describe(self) -> str:
        request = self.exchange.reproduce() if self.exchange else "(no request recorded)"
        answer = f"{self.exchange.status} {self.exchange.response[:300]}" if self.exchange else ""
        return f"{self.check}: {self.title}: {self.message[:300]}\n  {request}\n  -> {answer}"


@dataclass
class Run:
    exit_code: int
    output: str
    summary: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    replays_of_deleted: list[Exchange] = field(default_factory=list)
    checks: Counter[str] = field(default_factory=Counter)
    # Stateful scenarios: the requests sent on a token after its successful DELETE.
    after_delete: list[Exchange] = field(default_factory=list)

    def failed(self, *checks: str) -> list[str]:
        return [failure.describe() for failure in self.failures if failure.check in checks]


def _decode(payload: Any) -> str | None:
    if payload is None:
        return None
    if isinstance(payload, dict) and "$base64" in payload:
        return base64.b64decode(payload["$base64"]).decode("utf-8", errors="replace")
    return str(payload)


def _scenario_exchanges(finished: dict[str, Any]) -> tuple[dict[str, Exchange], set[str]]:
    """One scenario's exchanges by case id, in order, and the sids its idempotent replays answered."""
    recorder = finished["recorder"]
    by_case: dict[str, Exchange] = {}
    replayed: set[str] = set()
    for case_id, interaction in recorder.get("interactions", {}).items():
        case = recorder["cases"][case_id]["value"]
        request, response = interaction["request"], interaction.get("response") or {}
        exchange = Exchange(
            phase=finished["phase"],
            operation=f"{case['method'].upper()} {case['path']}",
            method=request["method"],
            uri=request["uri"],
            authorized="Authorization" in (request.get("headers") or {}),
            body=_decode(request.get("body")),
            status=response.get("status_code"),
            response=_decode(response.get("content")) or "",
            timestamp=interaction["timestamp"],
        )
        by_case[case_id] = exchange
        headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
        if "true" in str(headers.get("idempotent-replayed", "")) and exchange.status == 200:
            replayed.add(json.loads(exchange.response)["sid"])
    return by_case, replayed


def _record_check(run: Run, check: dict[str, Any], exchange: Exchange | None, replayed: set[str]) -> None:
    """Counts one check of one exchange, and keeps it when it failed."""
    run.checks[check["name"]] += 1
    if check["status"] == "success":
        return
    info = check.get("failure_info") or {}
    failure = info.get("failure") or {}
    if (
        check["name"] == "ensure_resource_availability"
        and exchange is not None
        and urlsplit(exchange.uri).path.rsplit("/", 1)[-1] in replayed
    ):
        # A retry with an Idempotency-Key replays the first answer even once that
        # token is deleted (as Stripe does): not a lost resource.
        run.replays_of_deleted.append(exchange)
        return
    run.failures.append(
        Failure(
            check["name"],
            str(failure.get("title") or failure.get("code") or check["status"]),
            str(failure.get("message") or info),
            exchange,
        )
    )


def _read_report(path: Path, run: Run) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        by_case, replayed = _scenario_exchanges(finished)
        for case_id, checks in finished["recorder"].get("checks", {}).items():
            for check in checks:
                _record_check(run, check, by_case.get(case_id), replayed)
        scenario = list(by_case.values())
        run.exchanges += scenario
        if finished["phase"] == "stateful":
            run.after_delete += _after_delete(scenario)


def _after_delete(scenario: list[Exchange]) -> list[Exchange]:
    """The exchanges of a stateful scenario that reached a resource after a DELETE of it answered 200."""
    after: list[Exchange] = []
    deleted: set[str] = set()
    for exchange in sorted(scenario, key=lambda exchange: exchange.timestamp):
        resource = urlsplit(exchange.uri).path
        if resource in deleted:
            after.append(exchange)
        if exchange.method == "DELETE" and exchange.status == 200:
            deleted.add(resource)
    return after


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpStack]:
    with http_stack(tmp_path_factory, "schemathesis") as stack:
        yield stack


@pytest.fixture(scope="module")
def run(api: HttpStack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_schemathesis(api.server, tmp_path_factory.mktemp("schemathesis-run"))


def run_schemathesis(server: LocalServer, workdir: Path, *options: str) -> Run:
    """`st run` (with `options` after the ones below) against the server; its reports, read."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    reports = workdir / "reports"
    served = server.call("GET", f"{server.base_url}/openapi.json")
    assert served.status == 200, served.text
    document = workdir / "openapi.json"
    document.write_text(json.dumps(served.body), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(document),
        "--url",
        server.base_url,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--request-timeout",
        "30",
        "--report",
        "ndjson,json",
        "--report-dir",
        str(reports),
        # The five operations of the API contract. Roll and the leak-report routes have their
        # own tests (tests/integration/test_lineage_and_roll.py, test_leak_reports.py and
        # tests/e2e/test_roll_and_leaks_http.py); under schemathesis no roll ever succeeded yet.
        "--include-path-regex",
        "^/accounts/[^/]+/apiTokens(/[^/]+)?$",
        "--no-color",
        *options,
    ]
    environment = {**os.environ, JWT_VARIABLE: server.jwt("--account", ACCOUNT)}
    completed = subprocess.run(
        command,
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    summaries = sorted(reports.glob("*.json"))
    streams = sorted(reports.glob("*.ndjson"))
    assert len(summaries) == len(streams) == 1, output
    result = Run(completed.returncode, output, json.loads(summaries[0].read_text(encoding="utf-8")))
    _read_report(streams[0], result)
    # Every token value schemathesis was given, for the search of the logs and the table.
    for exchange in result.exchanges:
        if exchange.status == 201:
            server.secrets.append(json.loads(exchange.response)["token"])
    return result


def test_the_run_completes_over_every_operation(run: Run) -> None:
    summary = run.summary
    assert summary["complete"] is True, run.output
    assert summary["operations"]["selected"] == summary["operations"]["tested"] == len(OPERATIONS), run.output
    assert summary["errors"] == [], run.output
    tested = {exchange.operation for exchange in run.exchanges}
    assert tested >= OPERATIONS
    per_operation = Counter(exchange.operation for exchange in run.exchanges)
    assert all(per_operation[operation] >= MAX_EXAMPLES for operation in OPERATIONS), per_operation
    assert set(CHECKS) == set(run.checks), run.checks  # each check ran, and no other


def test_every_operation_succeeds_at_least_once(run: Run) -> None:
    """So that the schema of every success response was checked, not only the errors'."""
    successes = Counter(exchange.operation for exchange in run.exchanges if 200 <= (exchange.status or 0) < 300)
    assert all(successes[operation] > 0 for operation in OPERATIONS), successes


def test_no_server_error(run: Run) -> None:
    assert run.failed("not_a_server_error") == []
    errors = [exchange.reproduce() for exchange in run.exchanges if exchange.status is None or exchange.status >= 500]
    assert errors == []


def test_responses_conform_to_the_schema(run: Run) -> None:
    checks = ("response_schema_conformance", "status_code_conformance", "content_type_conformance")
    assert run.failed(*checks, "response_headers_conformance") == []


def test_invalid_requests_are_refused(run: Run) -> None:
    assert run.failed("negative_data_rejection", "missing_required_header") == []


def test_authentication_is_never_ignored(run: Run) -> None:
    assert run.failed("ignored_auth") == []
    unauthenticated = [exchange for exchange in run.exchanges if not exchange.authorized]
    assert unauthenticated, "ignored_auth sent no request without credentials"
    assert {exchange.status for exchange in unauthenticated} == {401}


def test_a_deleted_token_stays_deleted(run: Run) -> None:
    assert run.failed("use_after_free", "ensure_resource_availability") == []
    statuses = Counter(exchange.status for exchange in run.after_delete)
    assert statuses[404] > 0, f"the stateful phase never used a deleted token: {statuses}"
    # Never a success; besides 404, only the answers that come before the lookup (bad credentials, bad body).
    assert set(statuses) <= {400, 401, 404}, [exchange.reproduce() for exchange in run.after_delete]


def test_no_other_failure(run: Run) -> None:
    """Whatever check failed, with its reproducing request: none may."""
    assert [failure.describe() for failure in run.failures] == []
    # Schemathesis exits 1 for the replays it took for lost resources (see _read_report) too.
    assert run.exit_code == 0 or (run.exit_code == 1 and run.replays_of_deleted), run.output


def test_after_the_run_the_table_is_consistent_and_holds_no_secret(api: HttpStack, run: Run) -> None:
    items = api.items()
    assert consistency_problems(items) == []
    assert leak_problems(api.server, items) == []
