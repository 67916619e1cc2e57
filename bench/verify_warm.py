"""The verify route warm (POST /apiTokens/verify, functions/verify_token), against its own
DynamoDB request: one stubbed strongly consistent GetItem of the token's lookup item on the
function's client, with the authorizer's goal (GOALS["authorizer_warm"] in common.py).

As bench/warm.py (whose recording and interleaving it uses): its own interpreter, the token
created and the function's DynamoDB traffic recorded once against moto, then the function and
the bare GetItem timed in alternating batches with exactly those responses stubbed. The timed
request asks the route question (method + path), the costliest form.

    python bench/verify_warm.py [OUTPUT.json]     # alone; run.py calls run()
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import BENCH, PYTHON, CountingSink, Figure, lambda_context, lambda_environment
from warm import Response, Timing, find_client, interleaved, load_event, load_function, record_calls

FUNCTION = "verify_token"


def prepare() -> tuple[Callable[[], Any], Any, list[Response], Callable[[], Any], list[Response]]:
    """(the verify call, its client, its recorded responses, the bare GetItem, its response)."""
    from moto import mock_aws

    from apitokens.settings import get_settings
    from apitokens_dev.template import table_create_arguments

    context = lambda_context()
    with mock_aws():
        import boto3

        table = get_settings().table_name
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_create_arguments(table))
        get_settings.cache_clear()
        create, _ = load_function("create_token")
        verify, namespace = load_function(FUNCTION)
        client = find_client(namespace)
        create_event = load_event("create_token")
        body = {**json.loads(create_event["body"]), "scopes": ["metrics:read"]}
        created = json.loads(create({**create_event, "body": json.dumps(body)}, context)["body"])
        verify_event = load_event(FUNCTION)
        question = {"method": "GET", "path": f"/accounts/{created['accountSid']}/metrics"}
        verify_event["body"] = json.dumps({"token": created["token"], **question})
        verify(verify_event, context)  # the first use writes lastUsedAt; the next is steady state
        answer, script, requests = record_calls(client, lambda: verify(verify_event, context))
        if json.loads(answer["body"]).get("allowed") is not True:
            raise RuntimeError(f"the verify route did not allow a valid token: {answer.get('body')}")
        if [method for method, _ in requests] != ["get_item"]:
            raise RuntimeError(f"the verify route made {requests!r}, not one GetItem")
        [(_, read)] = requests

    def get_item() -> Any:
        return client.get_item(**read)

    return functools.partial(verify, verify_event, context), client, script, get_item, script


def measure(batches: int, batch_size: int) -> Timing:
    os.environ.update(lambda_environment(FUNCTION))
    sink = CountingSink()
    with contextlib.redirect_stdout(sink):  # the function's logger binds stdout when created
        call, client, script, get_item, get_item_script = prepare()
        gc.collect()
        gc.freeze()
        timing = interleaved(
            client,
            candidate=call,
            candidate_script=script,
            baseline=get_item,
            baseline_script=get_item_script,
            sink=sink,
            batches=batches,
            batch_size=batch_size,
        )
    sink.close()
    return timing


def figure(timing: Timing, goal: float) -> Figure:
    return Figure(
        "verify route warm, route question",
        timing.candidate / 1000,
        timing.baseline / 1000,
        "us",
        goal,
        "POST /apiTokens/verify with its log line (and EMF metric) vs its one GetItem, stubbed, on its client",
    )


def run(batches: int, batch_size: int, goal: float) -> Figure:
    """This module in its own interpreter (a heap like a Lambda worker's): the table's row."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "verify.json"
        argv = [PYTHON, str(BENCH / "verify_warm.py"), str(output), "--batches", str(batches)]
        argv += ["--batch-size", str(batch_size)]
        completed = subprocess.run(argv, cwd=BENCH.parent, capture_output=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"verify timings failed:\n{completed.stderr.decode(errors='replace')}")
        return figure(Timing(**json.loads(output.read_text(encoding="utf-8"))), goal)


def main() -> None:
    parser = argparse.ArgumentParser(description="the verify route's warm figure")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--goal", type=float, default=1.4, help="the authorizer's warm goal (common.GOALS)")
    arguments = parser.parse_args()
    timing = measure(arguments.batches, arguments.batch_size)
    if arguments.output:
        Path(arguments.output).write_text(json.dumps(asdict(timing)), encoding="utf-8")
        return
    row = figure(timing, arguments.goal)
    print(
        f"{row.name}: {row.value:.1f} us vs {row.baseline:.1f} us, x{row.ratio:.3f} (goal x{row.goal}, "
        f"{'holds' if row.holds else 'MISSED'}); wall clock x{timing.wall_ratio:.3f}; "
        f"{timing.lines_per_call:.2f} log lines, {timing.bytes_per_call:.0f} bytes of stdout per request",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
