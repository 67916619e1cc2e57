"""The warm-calls section of `make bench`: bench/warm.py's timings of each handler against its own
DynamoDB requests stubbed, as figures, notes and latest.json's warm_ns."""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import client
import verify_warm
import warm
from common import BENCH, CRUD_FUNCTIONS, GOALS, PYTHON, Figure

LIST_PAGE = 20


@dataclass
class WarmSection:
    """bench/warm.py's timings of warm calls: each handler against its own DynamoDB requests stubbed."""

    result: dict[str, Any]
    # bench/client.py's: the authorizer's own DynamoDB client against botocore per GetItem.
    client_result: dict[str, Any] | None = None
    # bench/verify_warm.py's: the verify route against its one GetItem, with the authorizer's goal.
    verify: Figure | None = None

    @classmethod
    def run(cls, batches: int, batch_size: int) -> WarmSection:
        """bench/warm.py in its own interpreter: a heap like a Lambda worker's, not this one's."""
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "warm.json"
            argv = [PYTHON, str(BENCH / "warm.py"), str(output), "--batches", str(batches)]
            argv += ["--batch-size", str(batch_size), "--page", str(LIST_PAGE)]
            completed = subprocess.run(argv, cwd=BENCH.parent, capture_output=True, check=False)
            if completed.returncode != 0:
                raise RuntimeError(f"warm timings failed:\n{completed.stderr.decode(errors='replace')}")
            timings = json.loads(output.read_text(encoding="utf-8"))
        client_result = client.run(batches, batch_size)
        verify = verify_warm.run(batches, batch_size, GOALS["authorizer_warm"])
        return cls(timings, client_result, verify)

    @functools.cached_property
    def timings(self) -> dict[str, warm.Timing]:
        return {name: warm.Timing(**values) for name, values in self.result["timings"].items()}

    @property
    def authorizer(self) -> warm.Timing:
        return self.timings["authorizer"]

    def own_calls(self, function: str) -> warm.Timing:
        """The handler against its own DynamoDB requests alone (stubbed, replayed)."""
        return self.timings[f"{function}_vs_own_calls"]

    def least_attainable(self, function: str) -> warm.Timing:
        return self.timings[f"{function}_floor_with_own_calls"]

    def authorizer_figure(self) -> Figure:
        return Figure(
            "authorizer warm, API token",
            self.authorizer.candidate / 1000,
            self.authorizer.baseline / 1000,
            "us",
            GOALS["authorizer_warm"],
            "handler with its log line (and EMF metric), its own client's transport answering, "
            "vs one stubbed GetItem on a boto3 client",
        )

    def networks_figures(self) -> list[Figure]:
        """The authorizer with a token of 20 allowedIps against its own request (the request's
        source IP in the last network): the same warm goal."""
        timing = self.timings.get("authorizer_allowed_ips")
        if timing is None:
            return []
        return [
            Figure(
                "authorizer warm, API token with 20 allowedIps",
                timing.candidate / 1000,
                timing.baseline / 1000,
                "us",
                GOALS["authorizer_warm"],
                "as above, the source IP checked against all 20 networks of the lookup item",
            )
        ]

    def verify_figures(self) -> list[Figure]:
        return [] if self.verify is None else [self.verify]

    def client_figures(self) -> list[Figure]:
        if self.client_result is None:
            return []
        return client.figures(self.client_result, GOALS["authorizer_client_get_item"])[0]

    def client_notes(self) -> list[str]:
        if self.client_result is None:
            return []
        return client.figures(self.client_result, GOALS["authorizer_client_get_item"])[1]

    def crud_figures(self) -> list[Figure]:
        calls, listed = self.result["calls"], self.result["listed"]
        figures = []
        for function in CRUD_FUNCTIONS:
            own = self.own_calls(function)
            figures.append(
                Figure(
                    f"{function} warm" + (f", page of {listed}" if function == "list_tokens" else ""),
                    own.candidate / 1000,
                    own.baseline / 1000,
                    "us",
                    GOALS["crud_warm"],
                    f"the handler vs its own DynamoDB requests ({', '.join(calls[function])}) stubbed, replayed "
                    f"alone; least attainable with the framework x{self.least_attainable(function).ratio:.3f} "
                    f"(measured)",
                )
            )
        return figures

    def notes(self) -> list[str]:
        return [*self._path_notes(), *self._handler_notes(), *self.client_notes()]

    def _path_notes(self) -> list[str]:
        timings, calls = self.timings, self.result["calls"]
        authorizer, create, listing = self.authorizer, timings["create_token"], timings["list_tokens"]
        create_own, list_own = self.own_calls("create_token"), self.own_calls("list_tokens")
        resource_api = timings["client_vs_resource"]
        hashes = warm.Hashing(**self.result["hashing"])
        get_item_ns = authorizer.baseline
        return [
            "Warm path details:",
            f"  authorizer: {authorizer.lines_per_call:.2f} log lines and "
            f"{authorizer.bytes_per_call:.0f} bytes of stdout per request",
            f"  create_token: {create.lines_per_call:.2f} lines / {create.bytes_per_call:.0f} bytes; "
            f"list_tokens: {listing.lines_per_call:.2f} lines / {listing.bytes_per_call:.0f} bytes per request",
            f"  DynamoDB calls per request: authorizer {calls['authorizer']}, "
            f"create {calls['create_token']}, list {calls['list_tokens']}",
            f"  their own DynamoDB requests alone (stubbed): create {create_own.baseline / 1000:.1f} us "
            f"(x{create_own.baseline / create.baseline:.2f} GetItem; handler x{create_own.ratio:.2f} of it), "
            f"list {list_own.baseline / 1000:.1f} us "
            f"(x{list_own.baseline / listing.baseline:.2f} GetItem; handler x{list_own.ratio:.2f} of it)",
            f"  low-level client GetItem {resource_api.baseline / 1000:.1f} us vs resource API Table.get_item "
            f"{resource_api.candidate / 1000:.1f} us: resource is x{resource_api.ratio:.2f}",
            f"  SHA-256 of a token {hashes.sha256_ns / 1000:.2f} us = {hashes.sha256_ns / get_item_ns:.3f} stubbed "
            f"GetItems; {hashes.scrypt_parameters} {hashes.scrypt_ns / 1e6:.0f} ms = "
            f"{hashes.scrypt_ns / get_item_ns:,.0f} stubbed GetItems",
            f"  authorizer x{authorizer.ratio:.3f} on the thread's CPU clock (the figure), "
            f"x{authorizer.wall_ratio:.3f} on the wall clock",
        ]

    def _handler_notes(self) -> list[str]:
        lines = []
        floor = self.timings.get("framework_floor")
        if floor is not None:
            lines.append(
                f"  framework floor (the handlers' resolver stack, Logger and Metrics decorators, one metric, no "
                f"DynamoDB, no model): {floor.candidate / 1000:.1f} us = x{floor.ratio:.2f} a stubbed GetItem; "
                f"{floor.lines_per_call:.2f} lines / {floor.bytes_per_call:.0f} bytes per request"
            )
        lines.append("  CRUD handlers against their own DynamoDB requests alone (stubbed, replayed; CPU | wall):")
        for function in CRUD_FUNCTIONS:
            own = self.own_calls(function)
            lines.append(
                f"    {function:<14} {own.candidate / 1000:7.1f} us vs {own.baseline / 1000:6.1f} us "
                f"(x{own.ratio:.3f} | x{own.wall_ratio:.3f}; the requests alone: "
                f"x{own.baseline / self.authorizer.baseline:.2f} a stubbed GetItem)"
            )
        lines.append(
            "  least attainable, measured: the framework floor's route making the handler's own requests "
            "and nothing else, vs those requests alone; what the goal leaves for the handler's own work "
            "(parsing, rules, items, audit event, response) and what that work costs today:"
        )
        for function in CRUD_FUNCTIONS:
            own, least = self.own_calls(function), self.least_attainable(function)
            budget = (GOALS["crud_warm"] - least.ratio) * least.baseline / 1000
            leaves = f"goal leaves {budget:6.1f} us" if budget > 0 else "out of reach: the floor alone passes the goal"
            lines.append(
                f"    {function:<14} x{least.ratio:.3f}; {leaves}; own work "
                f"{(own.candidate - least.candidate) / 1000:6.1f} us"
            )
        return lines

    def document(self) -> dict[str, Any]:
        hashes = warm.Hashing(**self.result["hashing"])
        return {"warm_ns": {**self.result["timings"], "sha256_ns": hashes.sha256_ns, "scrypt_ns": hashes.scrypt_ns}}
