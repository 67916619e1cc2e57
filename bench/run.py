"""`make bench`: the product's performance figures, each a ratio to a baseline measured side by
side in the same run, printed as one table and written to bench/results/latest.json.

Not a test: nothing here asserts a timing. A goal that does not hold is reported, with the
evidence needed to find out why (docs/performance.md explains every figure). The sections
measure (bench/sections.py, bench/data_sections.py); bench/report.py prints and writes.

    .venv/bin/python bench/run.py [--rounds 15] [--runs 3] [--batches 21] [--batch-size 200]
                                  [--sam-build .aws-sam/build] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import report
from common import AUTHORIZER, lambda_environment, stage_lambda_tree
from data_sections import (
    SOAK_PAIRS,
    SOAK_QUICK_PAIRS,
    AuditSection,
    CascadeSection,
    CostSection,
    PartitionSection,
    ReplaySection,
    ScaleSection,
    SoakSection,
)
from sections import ColdSection, DeploymentSection, Measured, Options, ProbeSection
from warm_section import WarmSection

SECTION_SECONDS: dict[str, float] = {}
_section: list[tuple[str, float]] = []


def progress(message: str, section: str | None = None) -> None:
    """Prints where the run is; `section` starts a new timed section (the run's last lines say
    how long each took)."""
    now = time.perf_counter()
    if section is not None:
        if _section:
            name, since = _section.pop()
            SECTION_SECONDS[name] = SECTION_SECONDS.get(name, 0.0) + now - since
        _section.append((section, now))
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def authorizer_memory_mb() -> int:
    from apitokens_dev.template import default_authorizer, load_template, resource

    logical_id, _, _ = default_authorizer()
    memory = resource(logical_id)["Properties"].get("MemorySize")
    return int(memory or load_template()["Globals"]["Function"].get("MemorySize", 128))


def options(argv: list[str] | None = None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rounds", type=int, default=defaults.rounds, help="cold-start rounds per run (each case once per round)"
    )
    parser.add_argument(
        "--runs", type=int, default=defaults.runs, help="consecutive cold-start runs (a CRUD goal holds in each)"
    )
    parser.add_argument("--sam-build", type=Path, help="measure the deployment size in this sam build output")
    parser.add_argument("--batches", type=int, default=defaults.batches, help="warm batches per side")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="calls per warm batch")
    parser.add_argument("--quick", action="store_true", help="few rounds, for developing the benchmark")
    chosen = Options(**vars(parser.parse_args(argv)))
    if chosen.quick:
        chosen.rounds, chosen.runs, chosen.batches, chosen.batch_size = 3, 1, 5, 100
    return chosen


def measure(chosen: Options) -> Measured:
    """Every section, in the order that keeps the machine's state out of the timings: the
    fresh-interpreter sections first, the moto-heavy ones after, the local server's soak late."""
    memory_mb = authorizer_memory_mb()
    with tempfile.TemporaryDirectory(prefix="apitokens-bench-") as scratch_name:
        scratch = Path(scratch_name)
        tree = stage_lambda_tree(scratch / "lambda", compiled=False)
        compiled_tree = stage_lambda_tree(scratch / "lambda-pyc", compiled=True)
        progress("lastUsedAt replay: seeding through moto, checking the fake against moto, replaying", section="replay")
        replayed = ReplaySection.run()
        progress("module probes (fresh interpreters)", section="probes")
        probes = ProbeSection.run(tree, replayed.seeded.tokens[0], replayed.seeded.typical_lookup, scratch)
        progress(
            f"cold starts: {chosen.runs} consecutive runs of {chosen.rounds} rounds, interleaved",
            section="cold starts",
        )
        cold_starts = ColdSection.run(tree, compiled_tree, chosen.rounds, chosen.runs)
        progress("deployment size: the layers built as sam build builds them", section="deployment size")
        deployment = DeploymentSection.run(scratch / "layers", chosen.sam_build)
    progress("scale: DynamoDB cost per operation, small data vs large (moto)", section="scale")
    scaled = ScaleSection.run()
    progress("audit: event bytes and write units per change, with and without the event (moto)", section="audit")
    audited = AuditSection.run()
    progress(f"warm: {chosen.batches} batches of {chosen.batch_size} calls per side, interleaved", section="warm")
    warm_calls = WarmSection.run(chosen.batches, chosen.batch_size)
    modelled = CostSection.model(
        replayed, warm_calls.authorizer.candidate / 1e6, warm_calls.authorizer.bytes_per_call, memory_mb
    )
    soak_pairs = SOAK_QUICK_PAIRS if chosen.quick else SOAK_PAIRS
    progress(f"soak: {soak_pairs} create+delete pairs through apitokens serve", section="soak")
    soaked = SoakSection.run(soak_pairs)
    progress("cascade and authorizer reads after rolls (moto)", section="cascade")
    cascaded = CascadeSection.run()
    progress("partition model: hot token, Zipf, keyed creates (moto, sampled)", section="partitions")
    partitioned = PartitionSection.run()
    return Measured(
        chosen,
        replayed,
        probes,
        cold_starts,
        deployment,
        scaled,
        audited,
        warm_calls,
        modelled,
        soaked,
        cascaded,
        partitioned,
    )


def main() -> int:
    chosen = options()
    started = time.perf_counter()
    os.environ.update(lambda_environment(AUTHORIZER))
    measured = measure(chosen)
    progress("report", section="report")
    written = report.write(measured, time.perf_counter() - started, SECTION_SECONDS)
    progress(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
