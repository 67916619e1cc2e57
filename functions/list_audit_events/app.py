"""GET /accounts/{accountSid}/auditEvents: an account's audit events, newest first, paginated,
optionally of one token (apiTokenSid) or one type."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response

    from apitokens.domain import token_api
    from apitokens.rules import service
    from apitokens.wire.audit_models import AuditEvent, AuditEventList, AuditEventsQuery
    from apitokens.wire.http import (
        create_app,
        event_repository,
        json_response,
        lambda_handler,
        parse_query,
        route,
    )
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(AuditEventsQuery, AuditEventList, AuditEvent)
    app = create_app()
    events = event_repository()


@route(app, token_api.LIST_AUDIT_EVENTS)
def list_audit_events(account_sid: str) -> Response[str]:
    page = service.list_audit_events(events, account_sid, parse_query(app, AuditEventsQuery).command())
    return json_response(200, AuditEventList.from_page(page))


handler = lambda_handler(app)
