"""Soak of `apitokens serve` on its embedded DynamoDB: create+delete pairs over one keep-alive
connection; the server's RSS growth and the latency of the last pairs against the first.

It shows that the server's memory and latency follow the live table, not the pairs ever made:
moto's TransactWriteItems copies tables for its rollback and moto's instance registry would keep
every copy (apitokens_dev.moto_patches stops both). Run alone: .venv/bin/python bench/soak.py [PAIRS]."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common import PYTHON, ROOT

ACCOUNT = "acc_soak00000000000000000000"
WINDOW = 500  # pairs compared at each end (a fifth of a short soak)
_BASE_URL = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/v1")
_DYNAMODB = re.compile(r"DynamoDB: embedded \(moto\) at (\S+), table (\S+)")


@dataclass
class Soak:
    pairs: int
    rss_start_mb: float
    rss_end_mb: float
    window: int
    first_ms: float  # median create+delete of the first `window` pairs
    last_ms: float  # and of the last `window`
    # Items the pairs left in the table on purpose (each change's audit event, kept for
    # AuditRetentionDays): RSS that is data, not a leak.
    items_left: int = 0

    @property
    def kb_per_item_left(self) -> float:
        return self.growth_mb * 1024 / self.items_left if self.items_left else 0.0

    @property
    def growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb

    @property
    def latency_ratio(self) -> float:
        return self.last_ms / self.first_ms

    def as_dict(self) -> dict[str, float]:
        return {
            **asdict(self),
            "growth_mb": self.growth_mb,
            "latency_ratio": self.latency_ratio,
            "kb_per_item_left": self.kb_per_item_left,
        }


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return int(match.group(1)) / 1024


def _item_count(endpoint: str, table: str) -> int:
    """Every item of the embedded table (a Scan: the benchmark's own count, not a product path)."""
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="soak",
        aws_secret_access_key="soak",
    )
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


def window_of(pairs: int) -> int:
    return min(WINDOW, pairs // 5)


def run(pairs: int = 5_000) -> Soak:
    with tempfile.TemporaryDirectory(prefix="apitokens-soak-") as scratch:
        workdir = Path(scratch)
        command = [PYTHON, "-m", "apitokens_dev.cli"]
        stdout_path = workdir / "serve.stdout"
        with stdout_path.open("wb") as stdout:
            server = subprocess.Popen(
                [*command, "serve", "--port", "0"], cwd=workdir, stdout=stdout, stderr=subprocess.DEVNULL
            )
        try:
            deadline = time.monotonic() + 60
            while not (match := _BASE_URL.search(stdout_path.read_text(encoding="utf-8"))):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("apitokens serve did not start")
                time.sleep(0.05)
            jwt_output = subprocess.run(
                [*command, "dev-jwt", "--account", ACCOUNT], cwd=workdir, capture_output=True, text=True, check=True
            )
            headers = {
                "Authorization": f"Bearer {jwt_output.stdout.strip().splitlines()[-1]}",
                "Content-Type": "application/json",
            }
            connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=60)
            path = f"/v1/accounts/{ACCOUNT}/apiTokens"
            body = json.dumps({"name": "soak", "scopes": ["tokens:read"]}).encode()  # bytes: sent with the headers

            def pair() -> float:
                started = time.perf_counter()
                connection.request("POST", path, body=body, headers=headers)
                created = connection.getresponse()
                answer = created.read()
                if created.status != 201:
                    raise RuntimeError(f"create answered {created.status}: {answer[:200]!r}")
                sid = json.loads(answer)["sid"]
                connection.request("DELETE", f"{path}/{sid}", headers=headers)
                deleted = connection.getresponse()
                answer = deleted.read()
                if deleted.status != 200:
                    raise RuntimeError(f"delete of {sid} answered {deleted.status}: {answer[:200]!r}")
                return (time.perf_counter() - started) * 1000

            for _ in range(50):  # warm: every function loaded, caches filled
                pair()
            dynamodb = _DYNAMODB.search(stdout_path.read_text(encoding="utf-8"))
            if dynamodb is None:
                raise RuntimeError("apitokens serve did not name its embedded DynamoDB")
            items_before = _item_count(*dynamodb.groups())
            rss_start = _rss_mb(server.pid)
            latencies = [pair() for _ in range(pairs)]
            rss_end = _rss_mb(server.pid)
            items_left = _item_count(*dynamodb.groups()) - items_before
            connection.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return Soak(
        pairs,
        rss_start,
        rss_end,
        window_of(pairs),
        statistics.median(latencies[: window_of(pairs)]),
        statistics.median(latencies[-window_of(pairs) :]),
        items_left,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
    print(json.dumps(result.as_dict(), indent=2))
