"""The report of `make bench` (bench/report.py) from sections with made-up measurements: every
goal's row in the table's order, every section's notes in the report's order, and latest.json's
parts, without running the benchmark (its sections take most of half an hour)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
CRUD = ("list_tokens", "get_token", "create_token", "update_token", "delete_token")


@pytest.fixture(scope="module")
def bench() -> Iterator[SimpleNamespace]:
    sys.path.insert(0, str(BENCH))
    try:
        import costs
        import data_sections
        import replay
        import report
        import scale
        import sections
        import size
        import soak
        import warm_section

        yield SimpleNamespace(
            costs=costs,
            data_sections=data_sections,
            replay=replay,
            report=report,
            scale=scale,
            sections=sections,
            size=size,
            soak=soak,
            warm_section=warm_section,
        )
    finally:
        sys.path.remove(str(BENCH))


def _case(cold: ModuleType, name: str, wall: float) -> Any:
    return cold.Case(name, "", Path(), {}, wall_ms=[wall, wall], cpu_ms=[wall / 2])


def _timing(candidate: float, baseline: float) -> dict[str, Any]:
    return {"candidate_ns": [candidate], "baseline_ns": [baseline], "lines_per_call": 1.0, "bytes_per_call": 300.0}


def _probe(modules: int) -> dict[str, Any]:
    loaded = {"pydantic": False, "jwt": False, "aws_xray_sdk": False, "aws_lambda_powertools": False}
    return {
        "modules_after_import": modules,
        "after_import": loaded,
        "after_token": loaded,
        "after_jwt": {**loaded, "jwt": True},
        "token_decision": "Allow",
        "jwt_outcome": "refused",
    }


def _replay(bench: SimpleNamespace, ttl: int, writes: int) -> Any:
    result = bench.replay.ReplayResult(60_000, 100, 600.0, ttl, invocations=60_000 // (ttl + 1), writes=writes)
    result.new_ip_events = 3
    return result


def measured(bench: SimpleNamespace) -> Any:
    import cold

    names = ("baseline", "interpreter", "framework", "authorizer", "authorizer+pyc", *CRUD)
    cases = {name: _case(cold, name, 200.0 + 10 * index) for index, name in enumerate(names)}
    cold_section = bench.sections.ColdSection(3, [cases], cases, {name: {} for name in ("baseline", "authorizer")})
    cold_section.profiles.update({"create_token": {}, "list_tokens": {}})
    timings = {"authorizer": _timing(1300, 1000), "create_token": _timing(1000, 900)}
    timings |= {"list_tokens": _timing(1100, 900), "client_vs_resource": _timing(2000, 1000)}
    for function in CRUD:
        timings[f"{function}_vs_own_calls"] = _timing(4000, 3000)
        timings[f"{function}_floor_with_own_calls"] = _timing(3500, 3000)
    warm = bench.warm_section.WarmSection(
        {
            "timings": timings,
            "hashing": {"sha256_ns": 500.0, "scrypt_ns": 1e8, "scrypt_parameters": "scrypt"},
            "calls": {name: ["GetItem"] for name in ("authorizer", *CRUD)},
            "listed": 20,
        }
    )
    replays = {ttl: _replay(bench, ttl, writes=900) for ttl in (0, 60, 300)}
    sizes = bench.replay.Sizes(300, 340, 500, 540, 900, 1100)
    replayed = bench.data_sections.ReplaySection(
        None, replays, _replay(bench, 0, 40), _replay(bench, 0, 40), sizes, 12.0
    )
    deployment = bench.size.DeploymentSize("sam build", {"SharedLayer": 30_000_000, "TracingLayer": 2_000_000}, 1, [])
    row = bench.scale.ScaleRow("list", "reads", "10", "10,000", 1.0, 1.0, 1.0, detail="same page")
    soaked = bench.soak.Soak(500, 100.0, 120.0, 50, 10.0, 11.0, items_left=1000)
    cascade_results: dict[str, Any] = {"cascade": [], "authorizer_reads": {}}
    return bench.sections.Measured(
        bench.sections.Options(quick=True),
        replayed,
        bench.sections.ProbeSection({name: _probe(400) for name in ("baseline", "authorizer", *CRUD)}),
        cold_section,
        bench.sections.DeploymentSection(deployment),
        bench.data_sections.ScaleSection([row], 5.0),
        bench.data_sections.AuditSection([]),
        warm,
        bench.data_sections.CostSection.model(replayed, 1.3, 300.0, 128),
        bench.data_sections.SoakSection(soaked, 500),
        MadeUpCascade(cascade_results),
        bench.data_sections.PartitionSection({"traces": [], "write_units_per_operation": {}}),
    )


class MadeUpCascade:
    """The cascade section over made-up results: no cascade rows (cascade.py reads real ones)."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results

    def scale_rows(self) -> list[Any]:
        return []

    def notes(self) -> list[str]:
        return ["", "Cascading revocation (made up)"]

    def document(self) -> dict[str, Any]:
        return {"cascade": self.results}


def test_the_table_has_every_goal_in_order(bench: SimpleNamespace) -> None:
    names = [figure.name for figure in bench.report.figures(measured(bench))]
    assert names == [
        "authorizer cold start",
        "authorizer modules loaded",
        "authorizer warm, API token",
        *(f"{function} cold start, worst of 1" for function in CRUD),
        *(f"{function} warm" + (", page of 20" if function == "list_tokens" else "") for function in CRUD),
        "deployment size, tracing off",
        "lastUsedAt writes / authorizations",
        "local server soak latency",
        "local server soak RSS growth",
    ]


def test_the_notes_follow_the_sections_order(bench: SimpleNamespace) -> None:
    lines = bench.report.notes(measured(bench), 10.0, {"replay": 3.0})
    openings = [
        "Authorizer imports",
        "Modules after import",
        "Cold starts, median of 3",
        "Imports the baseline does not load",
        "Warm path details:",
        "Deployment size (sam build):",
        "lastUsedAt replay",
        "Item sizes",
        "Cost per million authorized requests",
        "Scale, list: same page",
        "Scale data made in 5 s",
        "Audit events: per change",
        "Cascading revocation (made up)",
        "Run time 10 s",
        "QUICK RUN",
    ]
    found = [next(index for index, line in enumerate(lines) if line.startswith(opening)) for opening in openings]
    assert found == sorted(found)
    assert "a touch of 8 lookup copies and the token item costs 18 WRU" in "\n".join(lines)


def test_latest_json_holds_every_part(bench: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.report, "RESULTS", tmp_path)
    bench.report.write(measured(bench), 10.0, {"replay": 3.0})
    document = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert list(document) == [
        "generated_at", "python", "machine", "settings", "figures", "table", "scale", "audit_change_costs",
        "scale_table", "deployment_bytes", "cold_runs", "notes", "probes", "cold_starts_ms", "imports_added_ms",
        "warm_ns", "replay", "replay_check", "item_sizes_bytes", "soak", "cascade", "section_seconds", "partitions",
        "cost_model",
    ]  # fmt: skip
    assert document["settings"]["quick"] is True
    assert len(document["figures"]) == 17
    assert [scenario["name"] for scenario in document["cost_model"]["scenarios"]] == [
        "no authorizer cache",
        "cache TTL 60 s",
        "cache TTL 300 s",
    ]
