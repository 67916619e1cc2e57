"""Cost per million authorized requests: Lambda arm64 + DynamoDB on-demand, from this run's
measured item sizes, write fractions (with and without API Gateway's authorizer cache) and warm
time. Prices and the modelled DynamoDB latencies are stated here once; docs/performance.md
explains them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from dynamo import read_units, transactional_write_units

REGION = "us-east-1"
LAMBDA_ARM64_GB_SECOND = 0.0000133334  # arm64, first pricing tier (7.5 billion GB-seconds a month)
LAMBDA_PER_MILLION_REQUESTS = 0.20
DYNAMODB_PER_MILLION_RRU = 0.125  # on-demand, after the November 2024 price cut
DYNAMODB_PER_MILLION_WRU = 0.625
CLOUDWATCH_LOGS_PER_GB = 0.50  # standard log ingestion, for the one log line per invocation
API_GATEWAY_REST_PER_MILLION = 3.50  # first 333 million requests a month, for scale only
# Lambda gives a function CPU in proportion to memory: one full vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
# Not measurable here: DynamoDB round trips from Lambda in the same region (typical p50 values).
GET_ITEM_MS = 4.0
TRANSACT_WRITE_MS = 12.0


@dataclass
class Scenario:
    name: str
    invocations_per_million: float
    touches_per_million: float
    new_ip_events_per_million: float
    billed_ms_per_invocation: float
    gb_seconds: float
    lambda_requests_usd: float
    lambda_duration_usd: float
    dynamodb_reads_usd: float
    dynamodb_writes_usd: float
    logs_usd: float
    total_usd: float


def billed_ms(cpu_ms: float, memory_mb: int, write_fraction: float) -> float:
    """Mean billed duration: CPU work scaled to the function's CPU share, plus the GetItem round
    trip, plus the TransactWriteItems round trip on the invocations that touch; Lambda rounds
    every invocation up to a whole millisecond."""
    scaled = cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb)
    read_only = math.ceil(scaled + GET_ITEM_MS)
    touching = math.ceil(scaled + GET_ITEM_MS + TRANSACT_WRITE_MS)
    return (1 - write_fraction) * read_only + write_fraction * touching


def scenario(
    name: str,
    *,
    invocation_fraction: float,
    touch_fraction: float,
    cpu_ms: float,
    memory_mb: int,
    lookup_bytes: int,
    touch_item_bytes: tuple[int, ...],
    log_bytes: float,
    new_ip_event_fraction: float = 0.0,
    new_ip_event_bytes: int = 0,
) -> Scenario:
    """Costs of one million authorized requests when `invocation_fraction` of them invoke the
    authorizer (the rest are cache hits) and `touch_fraction` of them write lastUsedAt (and
    recentClients); `new_ip_event_fraction` of them also put a token.used_from_new_ip audit
    event of `new_ip_event_bytes` in the touch's transaction."""
    invocations = 1e6 * invocation_fraction
    touches = 1e6 * touch_fraction
    per_invocation_writes = touch_fraction / invocation_fraction if invocation_fraction else 0.0
    mean_ms = billed_ms(cpu_ms, memory_mb, per_invocation_writes)
    gb_seconds = invocations * mean_ms / 1000 * memory_mb / 1024
    rru = invocations * read_units(lookup_bytes, consistent=True)
    events = 1e6 * new_ip_event_fraction
    wru = touches * sum(transactional_write_units(size) for size in touch_item_bytes)
    wru += events * transactional_write_units(new_ip_event_bytes) if events else 0.0
    costs = {
        "lambda_requests_usd": invocations / 1e6 * LAMBDA_PER_MILLION_REQUESTS,
        "lambda_duration_usd": gb_seconds * LAMBDA_ARM64_GB_SECOND,
        "dynamodb_reads_usd": rru / 1e6 * DYNAMODB_PER_MILLION_RRU,
        "dynamodb_writes_usd": wru / 1e6 * DYNAMODB_PER_MILLION_WRU,
        "logs_usd": invocations * log_bytes / 1e9 * CLOUDWATCH_LOGS_PER_GB,
    }
    return Scenario(
        name=name,
        invocations_per_million=invocations,
        touches_per_million=touches,
        new_ip_events_per_million=events,
        billed_ms_per_invocation=mean_ms,
        gb_seconds=gb_seconds,
        total_usd=sum(costs.values()),
        **costs,
    )


def assumptions(memory_mb: int) -> dict[str, Any]:
    return {
        "region": REGION,
        "lambda_arm64_usd_per_gb_second": LAMBDA_ARM64_GB_SECOND,
        "lambda_usd_per_million_requests": LAMBDA_PER_MILLION_REQUESTS,
        "dynamodb_on_demand_usd_per_million_rru": DYNAMODB_PER_MILLION_RRU,
        "dynamodb_on_demand_usd_per_million_wru": DYNAMODB_PER_MILLION_WRU,
        "cloudwatch_logs_usd_per_gb": CLOUDWATCH_LOGS_PER_GB,
        "api_gateway_rest_usd_per_million": API_GATEWAY_REST_PER_MILLION,
        "authorizer_memory_mb": memory_mb,
        "modelled_get_item_ms": GET_ITEM_MS,
        "modelled_transact_write_ms": TRANSACT_WRITE_MS,
    }


def as_dicts(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    return [asdict(item) for item in scenarios]
