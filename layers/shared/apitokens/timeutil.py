"""UTC time and the one timestamp format on the wire and in the table: 2023-12-01T14:30:00.000Z.

Fixed-width strings in this format sort as the instants they name, so the repository and the
authorizer compare them as strings without parsing.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Reads a timestamp this module wrote (or any ISO 8601 time with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
