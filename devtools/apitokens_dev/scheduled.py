"""`apitokens run-scheduled`: a scheduled function's work, once, against the local server's table."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apitokens_dev.local_env import REGION, read_serve_state


def _target(state_dir: Path, endpoint: str | None, table: str | None) -> tuple[str, str]:
    if endpoint and table:
        return endpoint, table
    served_endpoint, served_table = read_serve_state(state_dir)
    return endpoint or served_endpoint, table or served_table


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--now {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError("--now must name its time zone, e.g. 2030-12-01T00:00:00Z")
    return moment.astimezone(UTC)


def run_expiry(state_dir: Path, now: str | None, endpoint: str | None, table: str | None) -> dict[str, Any]:
    """The expiry sweep at `now`; what it read and emitted."""
    moment = _now(now)
    endpoint, table = _target(state_dir, endpoint, table)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    from apitokens.rules import expiry
    from apitokens.settings import Settings
    from apitokens.store.event_repository import EventRepository

    settings = Settings(
        table_name=table, dynamodb_endpoint_url=endpoint, aws_region=os.environ.get("AWS_REGION", REGION)
    )
    result = expiry.sweep(EventRepository.from_settings(settings), moment)
    return {
        "itemsRead": result.items_read,
        "queries": result.queries,
        "expiring": result.expiring,
        "expired": result.expired,
    }
