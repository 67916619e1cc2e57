"""A structured log line for the authorizer's hot path: one JSON object per line on stdout, in
the shape of Powertools' (level, location-free message, timestamp, service, request id, cold
start, extra keys).

A line may also be a CloudWatch Embedded Metric Format document (`metric_fields`): CloudWatch
turns its metric values into metrics, with no PutMetricData call and no Powertools import.

The CRUD handlers use Powertools' Logger. The authorizer runs on every API request, and
Powertools' Logger (with the package it imports) costs it about one DynamoDB read per request
and 40 modules at cold start (docs/performance.md), so it writes its few lines itself.
Callers pass only values that are safe to log: never a header, a token or a JWT.
"""

from __future__ import annotations

import functools
import json
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from apitokens.domain.timeutil import timestamp_from_epoch

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
# One encoder for every line: json.dumps with options builds a new one at each call.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _directive(namespace: str, names: tuple[str, ...], dimension_sets: tuple[tuple[str, ...], ...]) -> list[Any]:
    # The EMF directive of a kind of line is the same at every request: built once.
    sets = [["service", *dimension_names] for dimension_names in dimension_sets]
    return [{"Namespace": namespace, "Dimensions": sets, "Metrics": [{"Name": n, "Unit": "Count"} for n in names]}]


class JsonLogger:
    def __init__(self, service: str, level: str = "INFO") -> None:
        self._service = service
        self._threshold = _LEVELS.get(level.upper(), 20)
        self._request: dict[str, Any] = {}
        self._cold_start = True

    def start_request(
        self, request_id: str | None, function_name: str | None, correlation_id: str | None = None
    ) -> None:
        """Keys of one invocation; the first invocation of the process is the cold start.
        `correlation_id` is API Gateway's request id: the key Powertools' Logger gives it in the
        handlers' lines, so one query finds a request's authorizer and handler lines."""
        self._request = {
            "cold_start": self._cold_start,
            "function_name": function_name,
            "function_request_id": request_id,
            "correlation_id": correlation_id,
        }
        self._cold_start = False

    def metric_fields(
        self,
        namespace: str,
        metrics: Mapping[str, float],
        dimension_sets: Sequence[Sequence[str]],
        dimensions: Mapping[str, str],
    ) -> dict[str, Any]:
        """Fields that make a log line an EMF document: count `metrics` (unit Count) under each
        set of dimension names; `service` is always a dimension, as in Powertools' Metrics."""
        directive = _directive(namespace, tuple(metrics), tuple(tuple(names) for names in dimension_sets))
        return {
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directive},
            **dimensions,
            **metrics,
        }

    def _write(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self._threshold:
            return
        record = {
            "level": level,
            "message": message,
            "timestamp": timestamp_from_epoch(time.time()),
            "service": self._service,
            **self._request,
            **fields,
        }
        # sys.stdout looked up at each call: Lambda (and pytest) may replace it.
        sys.stdout.write(_ENCODER.encode(record) + "\n")

    def info(self, message: str, **fields: Any) -> None:
        self._write("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._write("WARNING", message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        """An ERROR line with the exception's type and traceback (code locations, no values)."""
        error_type, _, _ = sys.exc_info()
        self._write(
            "ERROR",
            message,
            {**fields, "exception_name": getattr(error_type, "__name__", None), "exception": traceback.format_exc()},
        )
