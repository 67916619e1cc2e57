"""UTC time and the one timestamp format on the wire and in the table: 2023-12-01T14:30:00.000Z.

Fixed-width strings in this format sort as the instants they name, so the repository and the
authorizer compare them as strings without parsing.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4)
def _whole_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def timestamp_from_epoch(seconds: float) -> str:
    """format_timestamp for a time.time() value, cheaply: the authorizer and its log lines call
    it on every request, and within one second only the milliseconds change."""
    # Rounded to the microsecond first, as datetime.fromtimestamp does: 0.123 must not read 0.122.
    whole, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    return f"{_whole_second(whole)}.{micros // 1000:03d}Z"
