"""From the table's stream to the audit event bus (template.yaml: AuditEventsPipe).

The pipe keeps only new audit items (FILTER_PATTERN, the same text as its FilterCriteria) and
hands them, in batches, to the enrichment function, which turns each DynamoDB stream record into
the event itself (`transform`); the pipe then puts each on the bus with source `apitokens` and
the event type as detail-type. A failed batch is retried from the stream (at least once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apitokens.store import audit_items

SOURCE = "apitokens"
FILTER_PATTERN: dict[str, Any] = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["audit"]}}}}


def transform(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The audit events of stream records (as the pipe passes them: a list of records). A
    record that is not a new audit item (the filter should have dropped it) is skipped."""
    events = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or image.get("type") != {"S": "audit"}:
            continue
        events.append(audit_items.document_from_item(image))
    return events


def bus_entry(event: Mapping[str, Any], bus_name: str) -> dict[str, Any]:
    """What the pipe puts on the bus for one event (PutEvents entry), for tests and docs."""
    import json

    return {"Source": SOURCE, "DetailType": event["type"], "Detail": json.dumps(event), "EventBusName": bus_name}
