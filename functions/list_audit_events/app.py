"""GET /accounts/{accountSid}/auditEvents: an account's audit events, newest first, paginated,
optionally of one token (apiTokenSid) or one type."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.audit_models import AuditEvent, AuditEventList, AuditEventsQuery
    from apitokens.wire.http import create_app, event_repository, json_response, logger, metrics, parse_query
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(AuditEventsQuery, AuditEventList, AuditEvent)
    app = create_app()
    events = event_repository()


@app.get("/accounts/<account_sid>/auditEvents")
def list_audit_events(account_sid: str) -> Response[str]:
    page = service.list_audit_events(events, account_sid, parse_query(app, AuditEventsQuery))
    return json_response(200, AuditEventList.from_page(page))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
