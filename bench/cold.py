"""Cold starts: a fresh interpreter importing a handler, side by side with a fresh interpreter
creating one boto3 DynamoDB client, and what each import loads.

Every round runs every case once, in a shuffled order, so the machine's noise is spread over all
cases alike; a figure is the median over rounds. Each child leaves with os._exit once its code
has run, as a Lambda worker does not tear its interpreter down after init: the teardown (module
cleanup and a last collection, a sizeable part of the time measured) is no part of a cold start, and counting it
favoured whichever case froze its objects (gc.freeze, apitokens/startup.py) over the others.
Wall time is the figure; the child's CPU time (user + system, from wait4) is printed beside it
because it is less disturbed by other processes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import AUTHORIZER, BENCH, CRUD_FUNCTIONS, PYTHON, child_environment, median

BASELINE_CODE = "import boto3; boto3.client('dynamodb')"
# What any CRUD handler loads before a line of the product's own code: Powertools' event handler
# (the project's framework), Logger and Metrics, pydantic with one model built, and the baseline's
# client, with the collector off during init as in every handler (apitokens/startup.py). Its
# ratio to the baseline is the least a CRUD cold start could be (a note, not a goal).
FRAMEWORK_CODE = """
import gc
gc.disable()
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

class Body(BaseModel):
    name: str

Body(name="n")
Logger()
Metrics()
APIGatewayRestResolver()
import boto3
boto3.client("dynamodb")
gc.freeze()
gc.enable()
"""


@dataclass
class Case:
    name: str
    code: str
    cwd: Path
    env: dict[str, str]
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return median(self.wall_ms)

    @property
    def cpu(self) -> float:
        return median(self.cpu_ms)


def handler_import_code(function_dir: Path, layer_dir: Path) -> str:
    # As in Lambda: the function's code directory first on the path (and the working
    # directory), then the layer's python/ directory; the handler module is app.py.
    return f"import sys; sys.path[0:0] = [{str(function_dir)!r}, {str(layer_dir)!r}]; import app"


def cases(tree: Path, compiled_tree: Path) -> list[Case]:
    layer = tree / "opt" / "python"
    base_env = child_environment(AUTHORIZER)
    result = [
        Case("interpreter", "pass", tree, base_env),
        Case("baseline", BASELINE_CODE, tree, base_env),
        Case("framework", FRAMEWORK_CODE, tree, base_env),
    ]
    for function in (AUTHORIZER, *CRUD_FUNCTIONS):
        directory = tree / "functions" / function
        result.append(Case(function, handler_import_code(directory, layer), directory, child_environment(function)))
    compiled = compiled_tree / "functions" / AUTHORIZER
    result.append(
        Case(
            f"{AUTHORIZER}+pyc",
            handler_import_code(compiled, compiled_tree / "opt" / "python"),
            compiled,
            child_environment(AUTHORIZER),
        )
    )
    return result


# The end of init: no interpreter teardown (see the module's docstring).
EXIT_AFTER_INIT = "\nimport os\nos._exit(0)\n"


def _run_once(case: Case) -> None:
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter_ns()
        child = subprocess.Popen(
            [PYTHON, "-c", case.code + EXIT_AFTER_INIT],
            cwd=case.cwd,
            env=case.env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter_ns() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"cold start of {case.name} failed:\n{errors.read().decode(errors='replace')}")
    case.wall_ms.append(elapsed / 1e6)
    case.cpu_ms.append((usage.ru_utime + usage.ru_stime) * 1e3)


def measure(all_cases: list[Case], rounds: int, seed: int = 6) -> None:
    order = random.Random(seed)
    for index in range(rounds):
        shuffled = list(all_cases)
        order.shuffle(shuffled)
        for case in shuffled:
            _run_once(case)
        print(f"  cold starts: round {index + 1}/{rounds}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)


def probe(function_dir: Path | None, layer_dir: Path | None, env: dict[str, str], given: Path | None) -> dict[str, Any]:
    """bench/probe.py in a fresh interpreter: module counts and which watched packages are loaded."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "probe.json"
        argv = [PYTHON, str(BENCH / "probe.py"), str(output)]
        if function_dir is None or layer_dir is None:
            argv.append("baseline")
            cwd = BENCH.parent
        else:
            argv += [str(function_dir), str(layer_dir)]
            cwd = function_dir
            if given is not None:
                argv.append(str(given))
        completed = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"probe failed:\n{completed.stderr.decode(errors='replace')}")
        probed: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return probed


def import_profile(case: Case) -> dict[str, float]:
    """Per-module import self time (ms) of one `python -X importtime` run of the case: one noisy
    run, read as proportions, not as a figure."""
    completed = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", case.code], cwd=case.cwd, env=case.env, capture_output=True, check=True
    )
    profile: dict[str, float] = {}
    for line in completed.stderr.decode(errors="replace").splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            profile[fields[2].strip()] = int(fields[0]) / 1000
    return profile


def added_imports(candidate: dict[str, float], baseline: dict[str, float]) -> dict[str, tuple[int, float]]:
    """Modules the candidate imports and the baseline does not, by top-level package:
    (count, summed self time in ms), largest first. The handler module itself (app) is left out:
    its self time is mostly creating the DynamoDB client, which the baseline does too."""
    groups: dict[str, tuple[int, float]] = {}
    for name, self_ms in candidate.items():
        if name in baseline or name == "app":
            continue
        top = name.split(".")[0]
        count, total = groups.get(top, (0, 0.0))
        groups[top] = (count + 1, total + self_ms)
    return dict(sorted(groups.items(), key=lambda group: -group[1][1]))
