"""The sections of `make bench` about data: the lastUsedAt replay and item sizes, the cost model,
DynamoDB cost per operation at scale, audit events, the local server's soak, cascading
revocation and the partition model. Like bench/sections.py's, each measures once and says its own
figures, notes and part of latest.json."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import audit
import costs
import replay
import scale
import soak
from common import GOALS, Figure
from dynamo import read_units, transactional_write_units

SOAK_PAIRS = 5_000
# --quick: a short soak (the full one takes minutes, more on a loaded machine).
SOAK_QUICK_PAIRS = 500
SOAK_GROWTH_MB = 50.0
REPLAY_TOKENS = 100
REPLAY_AUTHORIZATIONS = 60_000
REPLAY_SECONDS = 600.0
REPLAY_CHECK_AUTHORIZATIONS = 2_400
CACHE_TTLS = (0, 60, 300)


def _lookup_copies() -> int:
    """The lookup copies a token gets by default: a touch writes each of them."""
    from apitokens.settings import Settings

    return Settings(table_name="bench").lookup_copies


# -- lastUsedAt replay and item sizes ----------------------------------------------------------


@dataclass
class ReplaySection:
    """Authorizations replayed against the real authorizer, once per cache TTL, on a fake checked
    against moto; the items it stored give the sizes the capacity units are counted on."""

    seeded: replay.Seeded
    replays: dict[int, replay.ReplayResult]
    check_fake: replay.ReplayResult
    check_moto: replay.ReplayResult
    sizes: replay.Sizes
    seconds: float

    @classmethod
    def run(cls) -> ReplaySection:
        started = time.perf_counter()
        seeded, replays, check_fake, check_moto, sizes = replay.run(
            tokens=REPLAY_TOKENS,
            authorizations=REPLAY_AUTHORIZATIONS,
            seconds=REPLAY_SECONDS,
            cache_ttls=CACHE_TTLS,
            check_authorizations=REPLAY_CHECK_AUTHORIZATIONS,
        )
        return cls(seeded, replays, check_fake, check_moto, sizes, time.perf_counter() - started)

    def figure(self) -> Figure:
        main_replay = self.replays[0]  # no authorizer cache: every request reaches the authorizer
        return Figure(
            "lastUsedAt writes / authorizations",
            main_replay.writes,
            main_replay.authorizations,
            "count",
            GOALS["last_used_writes"],
            f"{REPLAY_AUTHORIZATIONS:,} authorizations, {REPLAY_TOKENS} tokens, "
            f"{REPLAY_SECONDS / 60:.0f} simulated minutes",
        )

    def notes(self) -> list[str]:
        check_fake, check_moto = self.check_fake, self.check_moto
        lines = [f"lastUsedAt replay ({self.seconds:.1f} s of run time):"]
        for ttl, result in self.replays.items():
            lines.append(
                f"  cache TTL {ttl:>3} s: {result.invocations:>6,} invocations, {result.writes:>5,} touch "
                f"transactions ({result.writes / result.authorizations:.4f} per request; {result.new_ip_events} "
                f"with a token.used_from_new_ip event), cancelled {result.cancelled}, "
                f"max {result.writes_per_token_max} per token, shortest gap {result.shortest_gap_seconds:.1f} s"
            )
        lines.append(
            f"  check on {check_fake.authorizations:,} authorizations / 10 tokens / {check_fake.seconds:.0f} s: "
            f"moto {check_moto.writes} writes, fake {check_fake.writes} writes: "
            f"{'agree' if check_moto.writes == check_fake.writes else 'DISAGREE'}"
        )
        return [*lines, *self._size_notes()]

    def _size_notes(self) -> list[str]:
        sizes, lookup_copies = self.sizes, _lookup_copies()
        typical_touch_wru = lookup_copies * transactional_write_units(
            sizes.lookup_typical_touched
        ) + transactional_write_units(sizes.token_typical_touched)
        largest_touch_wru = lookup_copies * transactional_write_units(
            sizes.lookup_largest_touched
        ) + transactional_write_units(sizes.token_largest_touched)
        return [
            "Item sizes (bytes as DynamoDB counts them) and capacity units:",
            f"  lookup item {sizes.lookup_typical} B, {sizes.lookup_typical_touched} B with lastUsedAt: "
            f"{read_units(sizes.lookup_typical_touched):g} RRU per strongly consistent GetItem "
            f"(largest the API allows: {sizes.lookup_largest_touched} B)",
            f"  token item {sizes.token_typical} B ({sizes.token_typical_touched} B touched; largest "
            f"{sizes.token_largest_touched} B): a touch of {lookup_copies} lookup copies "
            f"and the token item costs {typical_touch_wru} WRU "
            f"({largest_touch_wru} for the largest)",
        ]

    def document(self) -> dict[str, Any]:
        return {
            "replay": {str(ttl): result.as_dict() for ttl, result in self.replays.items()},
            "replay_check": {"fake": self.check_fake.as_dict(), "moto": self.check_moto.as_dict()},
            "item_sizes_bytes": vars(self.sizes),
        }


# -- cost model --------------------------------------------------------------------------------


@dataclass
class CostSection:
    """Cost per million authorized requests, per cache TTL: the replay's traffic, the authorizer's
    warm CPU time and log bytes, and its memory size; modelled, not measured."""

    memory_mb: int
    scenarios: list[costs.Scenario]

    @classmethod
    def model(cls, replayed: ReplaySection, cpu_ms: float, log_bytes: float, memory_mb: int) -> CostSection:
        sizes, scenarios = replayed.sizes, []
        for ttl, result in replayed.replays.items():
            scenarios.append(
                costs.scenario(
                    f"cache TTL {ttl} s" if ttl else "no authorizer cache",
                    invocation_fraction=result.invocations / result.authorizations,
                    touch_fraction=result.writes / result.authorizations,
                    cpu_ms=cpu_ms,
                    memory_mb=memory_mb,
                    lookup_bytes=sizes.lookup_typical_touched,
                    # A touch writes every lookup copy and the token item.
                    touch_item_bytes=(
                        *(sizes.lookup_typical_touched,) * _lookup_copies(),
                        sizes.token_typical_touched,
                    ),
                    log_bytes=log_bytes,
                    new_ip_event_fraction=result.new_ip_events / result.authorizations,
                    new_ip_event_bytes=result.new_ip_event_bytes_max,
                )
            )
        return cls(memory_mb, scenarios)

    def notes(self) -> list[str]:
        lines = [
            f"Cost per million authorized requests ({costs.REGION}, arm64 {self.memory_mb} MB, replay traffic; "
            f"modelled GetItem {costs.GET_ITEM_MS:g} ms, TransactWriteItems {costs.TRANSACT_WRITE_MS:g} ms):"
        ]
        for item in self.scenarios:
            lines.append(
                f"  {item.name:<20} invocations {item.invocations_per_million:>9,.0f}"
                f"  billed {item.billed_ms_per_invocation:.2f} ms"
                f"  Lambda ${item.lambda_requests_usd + item.lambda_duration_usd:.4f}"
                f"  DynamoDB ${item.dynamodb_reads_usd + item.dynamodb_writes_usd:.4f}"
                f"  logs ${item.logs_usd:.4f}  total ${item.total_usd:.4f}"
                f"  (touches {item.touches_per_million:,.0f}, new-IP events {item.new_ip_events_per_million:,.0f})"
            )
        return lines

    def document(self) -> dict[str, Any]:
        return {
            "cost_model": {
                "assumptions": costs.assumptions(self.memory_mb),
                "scenarios": costs.as_dicts(self.scenarios),
            }
        }


# -- scale and audit -----------------------------------------------------------------------------


@dataclass
class ScaleSection:
    """DynamoDB cost per operation, small data against large (moto)."""

    rows: list[scale.ScaleRow]
    seeding_seconds: float

    @classmethod
    def run(cls) -> ScaleSection:
        rows, seeding_seconds = scale.run()
        return cls(rows, seeding_seconds)

    def notes(self) -> list[str]:
        lines = [f"Scale, {row.name}: {row.detail}" for row in self.rows if row.detail]
        lines += [
            f"Scale, {row.name}, {row.measure}: goal ill-posed as worded: {row.ill_posed}"
            for row in self.rows
            if row.ill_posed
        ]
        return [*lines, f"Scale data made in {self.seeding_seconds:.0f} s"]


@dataclass
class AuditSection:
    """Event bytes and write units per change, with and without its audit event (moto)."""

    change_costs: list[dict[str, Any]]

    @classmethod
    def run(cls) -> AuditSection:
        return cls(audit.run_change_costs())

    def notes(self) -> list[str]:
        lines = ["Audit events: per change, write units without the event (before) and with it (now):"]
        for cost in self.change_costs:
            lines.append(
                f"  {cost['change']:<14} {cost['write_units_before']:>3.0f} -> {cost['write_units_after']:>3.0f} "
                f"WRU, {cost['events']} event(s), {cost['event_bytes']} B"
            )
        return lines

    def document(self) -> dict[str, Any]:
        return {"audit_change_costs": self.change_costs}


# -- soak, cascade, partitions ---------------------------------------------------------------------


@dataclass
class SoakSection:
    """create+delete pairs through `apitokens serve`: latency and RSS, last pairs against first."""

    soaked: soak.Soak
    pairs: int

    @classmethod
    def run(cls, pairs: int) -> SoakSection:
        return cls(soak.run(pairs), pairs)

    def figures(self) -> list[Figure]:
        soaked, pairs = self.soaked, self.pairs
        return [
            Figure(
                "local server soak latency",
                soaked.last_ms,
                soaked.first_ms,
                "ms",
                GOALS["soak_latency"],
                f"median create+delete of the last {soaked.window} of {pairs} pairs vs the first {soaked.window}",
            ),
            Figure(
                "local server soak RSS growth",
                soaked.growth_mb,
                SOAK_GROWTH_MB,
                "MB",
                1.0,
                f"{soaked.rss_start_mb:.0f} -> {soaked.rss_end_mb:.0f} MB over {pairs} pairs (goal: under 50 MB); "
                f"the pairs left {soaked.items_left:,} audit items in the table: "
                f"{soaked.kb_per_item_left:.1f} KB of RSS each",
            ),
        ]

    def document(self) -> dict[str, Any]:
        return {"soak": self.soaked.as_dict()}


@dataclass
class CascadeSection:
    """Cascading revocation at 1 to 1,000 descendants, and the authorizer's reads after rolls (moto)."""

    results: dict[str, Any]

    @classmethod
    def run(cls) -> CascadeSection:
        import cascade

        return cls(cascade.run())

    def scale_rows(self) -> list[scale.ScaleRow]:
        """Two rows of the scale table: cascade writes per descendant, 1 vs 1,000 descendants, and
        the authorizer's reads after rolls and cascades (exactly one)."""
        import cascade

        return [cascade.scale_row(self.results), cascade.authorizer_reads_row(self.results)]

    def notes(self) -> list[str]:
        import cascade

        return [
            "",
            *cascade.report_lines(self.results),
            *(f"Scale, {row.name}: {row.detail}" for row in self.scale_rows()),
        ]

    def document(self) -> dict[str, Any]:
        return {"cascade": self.results}


@dataclass
class PartitionSection:
    """DynamoDB's per-key limits replayed against a hot token, Zipf traffic and keyed creates (moto)."""

    results: dict[str, Any]

    @classmethod
    def run(cls) -> PartitionSection:
        import partitions

        return cls(partitions.run())

    def notes(self) -> list[str]:
        import partitions

        return ["", *partitions.report_lines(self.results)]

    def document(self) -> dict[str, Any]:
        return {"partitions": self.results}
