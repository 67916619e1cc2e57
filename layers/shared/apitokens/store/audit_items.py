"""The audit event's item: where an event document (domain/audit.py) lives in the table, and
how it is read back (from a Query, or a stream record's NewImage).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from apitokens.store import keys


def _value(value: Any) -> dict[str, Any]:
    """A plain JSON value as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [_value(entry) for entry in value]}
    if isinstance(value, Mapping):
        return {"M": {str(name): _value(entry) for name, entry in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain JSON value (the inverse of _value)."""
    kind, data = next(iter(value.items()))
    if kind == "NULL":
        return None
    if kind == "N":
        number = float(data)
        return int(number) if number.is_integer() else number
    if kind == "L":
        return [_plain(entry) for entry in data]
    if kind == "M":
        return {name: _plain(entry) for name, entry in data.items()}
    return data


def event_item(document: Mapping[str, Any], retention_days: int, now_epoch: float | None = None) -> dict[str, Any]:
    """The audit item: in its account's partition (listing newest first), with the keys of the
    per-token index (GSI1) and the per-type index (GSI2), expiring after `retention_days`."""
    account_sid, token_sid, sid = document["accountSid"], document["apiTokenSid"], document["sid"]
    expiration = int(now_epoch if now_epoch is not None else time.time()) + retention_days * 86_400
    return {
        **keys.event_key(account_sid, sid),
        "type": {"S": "audit"},
        "eventType": {"S": document["type"]},
        keys.BY_TOKEN_PK: {"S": keys.token_events_pk(account_sid, token_sid)},
        keys.BY_TOKEN_SK: {"S": keys.event_sk(sid)},
        keys.BY_TYPE_PK: {"S": keys.type_events_pk(account_sid, document["type"])},
        keys.BY_TYPE_SK: {"S": keys.event_sk(sid)},
        "expiration": {"N": str(expiration)},
        "event": _value(document),
    }


def event_put(document: Mapping[str, Any], retention_days: int) -> dict[str, Any]:
    """The TransactWriteItems entry that records `document`; a fresh sid never exists yet."""
    return {"Put": {"Item": event_item(document, retention_days), "ConditionExpression": "attribute_not_exists(PK)"}}


def document_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The event of an audit item (as read from the table or a stream record's NewImage)."""
    document: dict[str, Any] = _plain(item["event"])
    return document
