"""The authorizer's rows of `make bench` alone, side by side in one run: its cold start against
the bare interpreter and against `import boto3; boto3.client("dynamodb")`, the modules it
loads against the baseline's, its warm API-token request against a stubbed GetItem, and its
own DynamoDB client's CPU per GetItem against botocore's (bench/client.py). Minutes, not the
full bench's half hour; the same code as run.py's sections.

    .venv/bin/python bench/authorizer.py [--rounds 15] [--batches 21] [--batch-size 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import client
import cold
import report
import run
import warm
from common import AUTHORIZER, BENCH, GOALS, PYTHON, Figure, lambda_environment, stage_lambda_tree
from sections import ProbeSection


def warm_authorizer(batches: int, batch_size: int) -> warm.Timing:
    """bench/warm.py's authorizer timing alone, in its own interpreter."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "warm.json"
        argv = [PYTHON, str(BENCH / "warm.py"), str(output), "--batches", str(batches)]
        argv += ["--batch-size", str(batch_size), "--only", "authorizer"]
        completed = subprocess.run(argv, cwd=BENCH.parent, capture_output=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"warm timings failed:\n{completed.stderr.decode(errors='replace')}")
        return warm.Timing(**json.loads(output.read_text(encoding="utf-8"))["timings"]["authorizer"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--batch-size", type=int, default=200)
    arguments = parser.parse_args()
    os.environ.update(lambda_environment(AUTHORIZER))
    from apitokens.domain import tokens
    from apitokens.store.items import lookup_item

    with tempfile.TemporaryDirectory(prefix="apitokens-bench-") as scratch_name:
        scratch = Path(scratch_name)
        tree = stage_lambda_tree(scratch / "lambda", compiled=False)
        token = tokens.generate("at_live_")
        record = client.bench_record()
        run.progress("module probes (fresh interpreters)")
        probes = {
            name: probe
            for name, probe in ProbeSection.run(
                tree, token, lookup_item(record, tokens.digest(token)), scratch
            ).probes.items()
            if name in ("baseline", AUTHORIZER)
        }
        run.progress(f"cold starts: {arguments.rounds} rounds, interleaved")
        cases = {
            case.name: case for case in cold.cases(tree, tree) if case.name in ("interpreter", "baseline", AUTHORIZER)
        }
        cold.measure(list(cases.values()), arguments.rounds)
    run.progress(f"warm: {arguments.batches} batches of {arguments.batch_size} calls per side")
    authorizer_warm = warm_authorizer(arguments.batches, arguments.batch_size)
    client_rows, client_notes = client.figures(
        client.run(arguments.batches, arguments.batch_size), GOALS["authorizer_client_get_item"]
    )
    figures = [
        Figure(
            "authorizer cold start",
            cases[AUTHORIZER].wall,
            cases["baseline"].wall,
            "ms",
            GOALS["authorizer_cold"],
        ),
        Figure(
            "authorizer modules loaded",
            probes[AUTHORIZER]["modules_after_import"],
            probes["baseline"]["modules_after_import"],
            "count",
            GOALS["authorizer_modules"],
        ),
        Figure(
            "authorizer warm, API token",
            authorizer_warm.candidate / 1000,
            authorizer_warm.baseline / 1000,
            "us",
            GOALS["authorizer_warm"],
        ),
        *client_rows,
    ]
    print(report.table(figures))
    for line in [*client.cold_notes(cases), *client_notes]:
        print(line)
    loaded = probes[AUTHORIZER]["after_token"]
    print(f"After one API-token request: boto3 {loaded['boto3']}, botocore {loaded['botocore']}, jwt {loaded['jwt']}")
    return 0 if all(figure.holds for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
