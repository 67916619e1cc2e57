"""EventBridge Pipe enrichment: DynamoDB stream records of audit items -> audit events (the
detail of each bus event). apitokens.store.audit_stream has the logic."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from apitokens.store.audit_stream import transform


def handler(event: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    return transform(event)
