"""A structured log line for the authorizer's hot path: one JSON object per line on stdout, in
the shape of Powertools' (level, location-free message, timestamp, service, request id, cold
start, extra keys).

A line may also be a CloudWatch Embedded Metric Format document (`count`): CloudWatch
turns its metric values into metrics, with no PutMetricData call and no Powertools import.

The CRUD handlers use Powertools' Logger. The authorizer runs on every API request, and
Powertools' Logger (with the package it imports) costs it about one DynamoDB read per request
and 40 modules at cold start (docs/performance.md), so it writes its few lines itself.
Callers pass only values that are safe to log: never a header, a token or a JWT.
"""

from __future__ import annotations

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


class MetricLine:
    """One kind of EMF line: counts (unit Count) of `names` under each set of dimension names;
    `service` is always a dimension, as in Powertools' Metrics.

    Its directive is the same at every request, so it is JSON-encoded once, here, and spliced
    into each line as text (`JsonLogger.count`): encoding the nested directive was about 40% of
    encoding the authorizer's line (docs/performance.md, "Authorizer warm")."""

    def __init__(self, namespace: str, names: Sequence[str], dimension_sets: Sequence[Sequence[str]]) -> None:
        self.names = tuple(names)
        sets = [["service", *dimension_names] for dimension_names in dimension_sets]
        directive = [
            {"Namespace": namespace, "Dimensions": sets, "Metrics": [{"Name": n, "Unit": "Count"} for n in names]}
        ]
        self.directive_json = _ENCODER.encode(directive)


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

    def _write(self, level: str, message: str, fields: Mapping[str, Any], metric: MetricLine | None = None) -> None:
        if _LEVELS[level] < self._threshold:
            return
        now = time.time()
        document = {
            "level": level,
            "message": message,
            "timestamp": timestamp_from_epoch(now),
            "service": self._service,
            **self._request,
            **fields,
        }
        self._emit(document, now, metric)

    def _emit(self, document: Mapping[str, Any], now: float, metric: MetricLine | None) -> None:
        text = _ENCODER.encode(document)
        if metric is not None:
            # The object's closing brace gives way to the pre-encoded EMF member (MetricLine).
            text = f'{text[:-1]},"_aws":{{"Timestamp":{int(now * 1000)},"CloudWatchMetrics":{metric.directive_json}}}}}'
        # sys.stdout looked up at each call: Lambda (and pytest) may replace it.
        sys.stdout.write(text + "\n")

    def count(self, level: str, message: str, metric: MetricLine, dimensions: Mapping[str, str], **fields: Any) -> None:
        """A line that is also an EMF document: each of `metric`'s names counted once, under
        these dimension values (strings, as EMF requires).

        Below the log level the line is not written but the metric still is, as a line holding
        only the EMF document (service, dimension values, counts), as Powertools' Metrics writes
        its own: a quieter LogLevel must not silence the alarms built on these metrics."""
        counts = {**dimensions, **dict.fromkeys(metric.names, 1)}
        if _LEVELS[level] < self._threshold:
            self._emit({"service": self._service, **counts}, time.time(), metric)
            return
        self._write(level, message, {**fields, **counts}, metric)

    def info(self, message: str, **fields: Any) -> None:
        self._write("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._write("WARNING", message, fields)

    def exception(self, message: str, metric: MetricLine | None = None, **fields: Any) -> None:
        """An ERROR line with the exception's type and traceback (code locations, no values),
        counting `metric` when given."""
        error_type, _, _ = sys.exc_info()
        fields = {
            **fields,
            "exception_name": getattr(error_type, "__name__", None),
            "exception": traceback.format_exc(),
        }
        if metric is not None:
            fields.update(dict.fromkeys(metric.names, 1))
        self._write("ERROR", message, fields, metric)
