"""What every part of the benchmark shares: paths, the Lambda environment, the Lambda-like code
tree, the result record, and small statistics helpers.

Kept free of boto3, moto and the handlers at import time: bench/probe.py runs in a fresh
interpreter and must not see modules this file would drag in.
"""

from __future__ import annotations

import compileall
import io
import os
import py_compile
import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
EVENTS = ROOT / "events"
LAYER_SOURCE = ROOT / "layers" / "shared" / "apitokens"
FUNCTIONS_SOURCE = ROOT / "functions"
RESULTS = BENCH / "results"
PYTHON = os.environ.get("BENCH_PYTHON") or str(ROOT / ".venv" / "bin" / "python")

AUTHORIZER = "authorizer"
CRUD_FUNCTIONS = ("list_tokens", "get_token", "create_token", "update_token", "delete_token")
TABLE_NAME = "apitokens-bench"

# The goals of `make bench`: the largest ratio of each figure to its baseline that meets it.
GOALS = {
    "authorizer_cold": 0.40,
    "authorizer_modules": 0.40,
    "authorizer_warm": 1.4,
    "authorizer_client_get_item": 0.5,
    "crud_cold": 1.6,
    "crud_warm": 1.5,
    "last_used_writes": 0.017,
    "soak_latency": 1.3,
    "deployment_mb": 40.0,
}


@dataclass
class Figure:
    """One row of the table: a measured value divided by a baseline measured in the same run."""

    name: str
    value: float
    baseline: float
    unit: str
    goal: float
    detail: str = ""
    ratio: float = field(init=False)
    holds: bool = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.value / self.baseline if self.baseline else float("inf")
        self.holds = self.ratio <= self.goal

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _resolve(value: Any, parameters: Mapping[str, Any]) -> str:
    """A template environment value as Lambda would see it, parameters at their defaults."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in parameters:
            return str(parameters[name].get("Default", ""))
        return TABLE_NAME  # the only other Ref in the environment is the table
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return ""


def lambda_environment(function: str) -> dict[str, str]:
    """The function's environment from template.yaml (Globals plus its own), with dummy AWS
    credentials: the variables the code reads come from the template, so the benchmark follows it."""
    from apitokens_dev.template import load_template

    template = load_template()
    parameters = template.get("Parameters", {})
    variables: dict[str, Any] = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        code_uri = str(properties.get("CodeUri", "")).rstrip("/")
        if resource.get("Type") == "AWS::Serverless::Function" and code_uri.endswith(f"/{function}"):
            variables.update(properties.get("Environment", {}).get("Variables", {}))
    env = {name: _resolve(value, parameters) for name, value in variables.items()}
    env.update(
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        # Dummies: botocore wants credentials to sign, and nothing leaves the machine.
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_SESSION_TOKEN="bench",
    )
    return env


def use_moto_environment(table: str) -> None:
    """This process's environment for a benchmark that drives the layer in process on moto:
    the table, the live environment, dummy credentials (nothing leaves the machine), and no
    DynamoDB endpoint or lookup-copy count from the caller's shell (the defaults are measured)."""
    os.environ.update(
        {
            "TABLE_NAME": table,
            "TOKEN_ENVIRONMENT": "live",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "MAX_TOKENS_PER_ACCOUNT": "10000",
        }
    )
    os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
    os.environ.pop("LOOKUP_COPIES", None)


def child_environment(function: str) -> dict[str, str]:
    """The environment of a cold-start subprocess: the caller's PATH and locale, the function's
    variables, no PYTHONPATH, and no .pyc writing (Lambda's code directories are read-only)."""
    keep = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {**keep, **lambda_environment(function), "PYTHONDONTWRITEBYTECODE": "1"}


def stage_lambda_tree(destination: Path, *, compiled: bool) -> Path:
    """Lays the code out as Lambda runs it: the layer's package in opt/python, precompiled to
    unchecked-hash .pyc as layers/shared/Makefile builds it, and each function's code in
    functions/<name> (its working directory), as source only, as `sam build` copies it;
    `compiled` precompiles the functions' code too."""
    if destination.exists():
        shutil.rmtree(destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(LAYER_SOURCE, destination / "opt" / "python" / "apitokens", ignore=ignore)
    for function in (AUTHORIZER, *CRUD_FUNCTIONS):
        shutil.copytree(FUNCTIONS_SOURCE / function, destination / "functions" / function, ignore=ignore)
    for directory in (destination / "opt", *([destination / "functions"] if compiled else [])):
        compileall.compile_dir(directory, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return destination


class CountingSink(io.TextIOBase):
    """Stands in for the Lambda runtime's stdout: counts log lines and bytes, and still pays one
    write(2) per call (to /dev/null) as a real stream would."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0
        self.bytes = 0
        self._fd = os.open(os.devnull, os.O_WRONLY)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.lines += text.count("\n")
        self.bytes += len(data)
        os.write(self._fd, data)
        return len(text)

    def reset(self) -> None:
        self.lines = 0
        self.bytes = 0

    def close(self) -> None:
        os.close(self._fd)
        super().close()


def lambda_context() -> Any:
    """A Lambda context for one invocation (the local gateway's own)."""
    from apitokens_dev.gateway import LambdaContext

    return LambdaContext("apitokens-bench", "5d8f6f2b-0000-4000-8000-000000000000", 1024, 10)
