"""The report of `make bench`: the goals' table, the scale table and the notes, printed, and the
same figures with every measurement behind them written to bench/results/latest.json.

The sections (bench/sections.py) measure and each say their own figures and notes; this module
only puts them in the report's order."""

from __future__ import annotations

import json
import platform
import time
from typing import Any

import scale
from common import RESULTS, Figure
from sections import Measured


def _format_value(value: float, unit: str) -> str:
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "us":
        return f"{value:,.1f} us"
    return f"{value:,.1f} {unit}"


def table(figures: list[Figure]) -> str:
    """The goals' table: one row per figure, measured against its baseline, and whether it holds."""
    rows = [("figure", "measured", "baseline", "ratio", "goal", "holds")]
    for figure in figures:
        rows.append(
            (
                figure.name,
                _format_value(figure.value, figure.unit),
                _format_value(figure.baseline, figure.unit),
                f"{figure.ratio:.3f}" if figure.goal >= 0.1 else f"{figure.ratio:.4f}",
                f"<= {figure.goal:g}",
                "yes" if figure.holds else "NO",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def figures(run: Measured) -> list[Figure]:
    """The goals, in the table's order: the authorizer's, the CRUD handlers', then the rest."""
    return [
        run.cold.authorizer_figure(),
        run.probes.modules_figure(),
        run.warm.authorizer_figure(),
        *run.warm.networks_figures(),
        *run.warm.client_figures(),
        *run.warm.verify_figures(),
        *run.cold.crud_figures(),
        *run.warm.crud_figures(),
        run.deployment.figure(),
        run.replay.figure(),
        *run.soak.figures(),
    ]


def scale_rows(run: Measured) -> list[scale.ScaleRow]:
    return [*run.scale.rows, *run.cascade.scale_rows()]


def notes(run: Measured, total_seconds: float, section_seconds: dict[str, float]) -> list[str]:
    """Everything below the tables: what each figure rests on, section by section."""
    lines = [
        *run.probes.notes(),
        *run.cold.notes(),
        *run.warm.notes(),
        *run.deployment.notes(),
        *run.replay.notes(),
        *run.costs.notes(),
        *run.scale.notes(),
        *run.audit.notes(),
        *run.cascade.notes(),
        *run.partitions.notes(),
        "",
        f"Run time {total_seconds:.0f} s; Python {platform.python_version()} on {platform.machine()}; by section: "
        + ", ".join(
            f"{name} {seconds:.0f} s" for name, seconds in sorted(section_seconds.items(), key=lambda kv: -kv[1])
        ),
    ]
    if run.options.quick or run.options.rounds * run.options.runs < 45:
        lines.append("QUICK RUN: fewer rounds than the goals are defined on; do not quote these figures.")
    return lines


def print_report(run: Measured, lines: list[str]) -> None:
    print(table(figures(run)))
    print()
    print("Scale: DynamoDB cost per operation as the data grows (large case / small case)")
    print(scale.table(scale_rows(run)))
    print()
    print("\n".join(lines))


def document(run: Measured, lines: list[str], section_seconds: dict[str, float]) -> dict[str, Any]:
    """What bench/results/latest.json holds: the figures and every measurement behind them."""
    goals = figures(run)
    rows = scale_rows(run)
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "settings": run.options.as_dict(),
        "figures": [figure.as_dict() for figure in goals],
        "table": table(goals),
        "scale": [row.as_dict() for row in rows],
        **run.audit.document(),
        "scale_table": scale.table(rows),
        **run.deployment.document(),
        **run.cold.runs_document(),
        "notes": lines,
        **run.probes.document(),
        **run.cold.document(),
        **run.warm.document(),
        **run.replay.document(),
        **run.soak.document(),
        **run.cascade.document(),
        "section_seconds": section_seconds,
        **run.partitions.document(),
        **run.costs.document(),
    }


def write(run: Measured, total_seconds: float, section_seconds: dict[str, float]) -> str:
    """Prints the report and writes latest.json; returns where it was written."""
    lines = notes(run, total_seconds, section_seconds)
    print_report(run, lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(document(run, lines, section_seconds), indent=2) + "\n", encoding="utf-8")
    return str(path)
