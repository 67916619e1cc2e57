"""The sections of `make bench` about what Lambda loads: module probes, cold starts and the
deployment's size (warm calls: bench/warm_section.py). Each measures once and says its own figures
(the goals' rows), its notes and its part of latest.json; bench/report.py puts them in order.

The sections about data (replay, costs, scale, audit, soak, cascade, partitions) are in
bench/data_sections.py; Measured holds one run's sections together.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cold
import scale
import size
import warm
from common import AUTHORIZER, CRUD_FUNCTIONS, GOALS, Figure, child_environment
from data_sections import (
    AuditSection,
    CascadeSection,
    CostSection,
    PartitionSection,
    ReplaySection,
    ScaleSection,
    SoakSection,
)
from warm_section import WarmSection

# What the functions loaded beyond the runtime before the layers were trimmed (sam build, unzipped).
PREVIOUS_DEPLOYMENT_MB = 74.0
# The bare interpreter, the framework alone and the precompiled authorizer are notes, not goals:
# the first cold-start run measures them; later runs time only the goals' cases (a goal's rounds,
# baseline beside, are unchanged).
NOTE_ONLY_CASES = ("interpreter", "framework", f"{AUTHORIZER}+pyc")


@dataclass
class Options:
    """How much to measure: the command line of bench/run.py."""

    rounds: int = 15
    runs: int = 3
    sam_build: Path | None = None
    batches: int = 21
    batch_size: int = 200
    quick: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "sam_build": None if self.sam_build is None else str(self.sam_build)}


def _flags(present: dict[str, bool], names: tuple[str, ...] = ("pydantic", "jwt", "aws_xray_sdk")) -> str:
    return ", ".join(f"{name} {'LOADED' if present[name] else 'absent'}" for name in names)


# -- module probes -----------------------------------------------------------------------------


def _jwt_refused_by_algorithm() -> str:
    """A well-formed HS256 JWT: the authorizer must load PyJWT to read it, then refuses its
    algorithm before any key fetch, so the probe needs no network."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'bench'})}.{part({'sub': 'user_bench'})}.c2lnbmF0dXJl"


@dataclass
class ProbeSection:
    """Which modules each function loads, in a fresh interpreter with the code laid out as in Lambda."""

    probes: dict[str, Any]

    @classmethod
    def run(cls, tree: Path, token: str, lookup_item: dict[str, Any], scratch: Path) -> ProbeSection:
        layer = tree / "opt" / "python"
        item = {name: value for name, value in lookup_item.items() if name != "lastUsedAt"}
        given = scratch / "probe-input.json"
        given.write_text(
            json.dumps(
                {
                    "lookup_item": item,
                    # Aimed at the token's own account: the policy is for the one request.
                    "token_event": warm.with_authorization(
                        scale.event_for("authorizer_api_token", item["accountSid"]["S"]), f"Bearer {token}"
                    ),
                    "jwt_event": warm.with_authorization(
                        warm.load_event("authorizer_jwt"), f"Bearer {_jwt_refused_by_algorithm()}"
                    ),
                }
            ),
            encoding="utf-8",
        )
        probes = {"baseline": cold.probe(None, None, child_environment(AUTHORIZER), None)}
        probes[AUTHORIZER] = cold.probe(tree / "functions" / AUTHORIZER, layer, child_environment(AUTHORIZER), given)
        for function in CRUD_FUNCTIONS:
            probes[function] = cold.probe(tree / "functions" / function, layer, child_environment(function), None)
        return cls(probes)

    def modules_figure(self) -> Figure:
        return Figure(
            "authorizer modules loaded",
            self.probes[AUTHORIZER]["modules_after_import"],
            self.probes["baseline"]["modules_after_import"],
            "count",
            GOALS["authorizer_modules"],
            "len(sys.modules) after the import",
        )

    def notes(self) -> list[str]:
        auth_probe = self.probes[AUTHORIZER]
        jwt_only_when_needed = not auth_probe["after_token"]["jwt"] and auth_probe["after_jwt"]["jwt"]
        baseline_modules = self.probes["baseline"]["modules_after_import"]
        lines = [
            "Authorizer imports (fresh interpreter, code laid out as in Lambda):",
            f"  after import:                  {_flags(auth_probe['after_import'])}",
            f"  after one API-token request:   {_flags(auth_probe['after_token'])} "
            f"(decision {auth_probe['token_decision']}, lastUsedAt touch taken)",
            f"  after one JWT:                 jwt {'LOADED' if auth_probe['after_jwt']['jwt'] else 'absent'} "
            f"(JWT path loads PyJWT only when a JWT arrives: "
            f"{'yes' if jwt_only_when_needed else 'NO'}; "
            f"outcome {auth_probe['jwt_outcome']!r})",
            f"  aws_lambda_powertools loaded by the authorizer: "
            f"{'yes' if auth_probe['after_import']['aws_lambda_powertools'] else 'no'}",
            f"Modules after import (baseline {baseline_modules}):",
        ]
        for function in (AUTHORIZER, *CRUD_FUNCTIONS):
            probe = self.probes[function]
            lines.append(
                f"  {function:<14} {probe['modules_after_import']:>4}  "
                f"(x{probe['modules_after_import'] / baseline_modules:.3f}; "
                f"{_flags(probe['after_import'])})"
            )
        return lines

    def document(self) -> dict[str, Any]:
        return {"probes": self.probes}


# -- cold starts -------------------------------------------------------------------------------


def _cold_ratio(function: str, run: dict[str, cold.Case]) -> float:
    return run[function].wall / run["baseline"].wall


@dataclass
class ColdSection:
    """Fresh interpreters importing each function, interleaved with the baseline, in consecutive runs."""

    rounds: int
    runs: list[dict[str, cold.Case]]
    cases: dict[str, cold.Case]  # all rounds of all runs together, for the authorizer and the notes
    profiles: dict[str, dict[str, float]]

    @classmethod
    def run(cls, tree: Path, compiled_tree: Path, rounds: int, runs: int) -> ColdSection:
        measured: list[dict[str, cold.Case]] = []
        for run_index in range(runs):
            run_cases = {case.name: case for case in cold.cases(tree, compiled_tree)}
            if run_index:
                for note_only in NOTE_ONLY_CASES:
                    del run_cases[note_only]
            cold.measure(list(run_cases.values()), rounds, seed=6 + run_index)
            measured.append(run_cases)
        cases = {case.name: case for case in cold.cases(tree, compiled_tree)}
        for run_cases in measured:
            for name, case in run_cases.items():
                cases[name].wall_ms.extend(case.wall_ms)
                cases[name].cpu_ms.extend(case.cpu_ms)
        profiles = {
            name: cold.import_profile(cases[name]) for name in ("baseline", AUTHORIZER, "create_token", "list_tokens")
        }
        return cls(rounds, measured, cases, profiles)

    def authorizer_figure(self) -> Figure:
        return Figure(
            "authorizer cold start",
            self.cases[AUTHORIZER].wall,
            self.cases["baseline"].wall,
            "ms",
            GOALS["authorizer_cold"],
            "fresh interpreter importing functions/authorizer/app.py vs boto3 + one DynamoDB client",
        )

    def crud_figures(self) -> list[Figure]:
        figures = []
        for function in CRUD_FUNCTIONS:
            # The run in which this handler's ratio was worst: the goal holds in each run.
            worst = max(self.runs, key=functools.partial(_cold_ratio, function))
            figures.append(
                Figure(
                    f"{function} cold start, worst of {len(self.runs)}",
                    worst[function].wall,
                    worst["baseline"].wall,
                    "ms",
                    GOALS["crud_cold"],
                    f"fresh interpreter importing functions/{function}/app.py, the worst of {len(self.runs)} runs",
                )
            )
        return figures

    def notes(self) -> list[str]:
        cases, baseline, interpreter = self.cases, self.cases["baseline"], self.cases["interpreter"]
        lines = [
            f"Cold starts, median of {self.rounds} interleaved rounds "
            f"(wall | CPU user+sys | wall net of bare interpreter start {interpreter.wall:.0f} ms):"
        ]
        for name in ("baseline", AUTHORIZER, f"{AUTHORIZER}+pyc", *CRUD_FUNCTIONS):
            case = cases[name]
            net = (case.wall - interpreter.wall) / (baseline.wall - interpreter.wall)
            lines.append(
                f"  {name:<16} {case.wall:7.1f} ms x{case.wall / baseline.wall:.3f} | "
                f"{case.cpu:7.1f} ms x{case.cpu / baseline.cpu:.3f} | net x{net:.3f}"
            )
        lines.append(f"  (the layer precompiled as layers/shared/Makefile ships it; {AUTHORIZER}+pyc: its app.py too)")
        framework = cases["framework"]
        lines.append(
            f"  framework alone (Powertools' event handler, Logger, Metrics, pydantic and one model, the "
            f"baseline's client, no collection during init; no product code) {framework.wall:.1f} ms "
            f"x{framework.wall / baseline.wall:.3f}: "
            f"the least a CRUD cold start could be; the goal leaves the product's own code "
            f"{GOALS['crud_cold'] * baseline.wall - framework.wall:.1f} ms"
        )
        lines.append(f"  each run's wall ratio ({len(self.runs)} consecutive runs of {self.rounds} rounds):")
        for name in (AUTHORIZER, *CRUD_FUNCTIONS):
            ratios = " ".join(f"x{run[name].wall / run['baseline'].wall:.3f}" for run in self.runs)
            lines.append(f"    {name:<14} {ratios}")
        lines.append("Imports the baseline does not load (python -X importtime, one run; package modules/self time):")
        for name in (AUTHORIZER, "create_token", "list_tokens"):
            added = cold.added_imports(self.profiles[name], self.profiles["baseline"])
            total = sum(ms for _, ms in added.values())
            parts = ", ".join(f"{top} {count}/{ms:.0f} ms" for top, (count, ms) in list(added.items())[:6])
            lines.append(f"  {name:<14} {total:5.0f} ms: {parts}")
        return lines

    def runs_document(self) -> dict[str, Any]:
        return {
            "cold_runs": [{name: case.wall / run["baseline"].wall for name, case in run.items()} for run in self.runs]
        }

    def document(self) -> dict[str, Any]:
        return {
            "cold_starts_ms": {name: {"wall": case.wall_ms, "cpu": case.cpu_ms} for name, case in self.cases.items()},
            "imports_added_ms": {
                name: cold.added_imports(self.profiles[name], self.profiles["baseline"])
                for name in self.profiles
                if name != "baseline"
            },
        }


# -- deployment size ---------------------------------------------------------------------------


@dataclass
class DeploymentSection:
    """The layers built as sam build builds them, and the functions' code: what Lambda loads."""

    deployment: size.DeploymentSize

    @classmethod
    def run(cls, scratch: Path, sam_build: Path | None) -> DeploymentSection:
        return cls(size.measure(scratch, sam_build))

    def figure(self) -> Figure:
        return Figure(
            "deployment size, tracing off",
            self.deployment.default_bytes / size.MB,
            GOALS["deployment_mb"],
            "MB",
            1.0,
            "shared layer plus the functions' code, unzipped, as sam build ships it; baseline: the goal",
        )

    def notes(self) -> list[str]:
        deployment = self.deployment
        return [
            f"Deployment size ({deployment.source}):",
            f"  shared layer {deployment.layers['SharedLayer'] / size.MB:.1f} MB + functions "
            f"{deployment.functions / size.MB:.2f} MB = {deployment.default_bytes / size.MB:.1f} MB with tracing "
            f"off; tracing layer {deployment.layers['TracingLayer'] / size.MB:.1f} MB, "
            f"{deployment.traced_bytes / size.MB:.1f} MB traced (was {PREVIOUS_DEPLOYMENT_MB:g} MB)",
            "  largest in the shared layer: "
            + ", ".join(f"{name} {bytes_ / size.MB:.1f} MB" for name, bytes_ in deployment.largest),
        ]

    def document(self) -> dict[str, Any]:
        deployment = self.deployment
        return {
            "deployment_bytes": {
                "source": deployment.source,
                "layers": deployment.layers,
                "functions": deployment.functions,
                "tracing_off": deployment.default_bytes,
                "tracing_on": deployment.traced_bytes,
            }
        }


@dataclass
class Measured:
    """One run's sections, for the report."""

    options: Options
    replay: ReplaySection
    probes: ProbeSection
    cold: ColdSection
    deployment: DeploymentSection
    scale: ScaleSection
    audit: AuditSection
    warm: WarmSection
    costs: CostSection
    soak: SoakSection
    cascade: CascadeSection
    partitions: PartitionSection
