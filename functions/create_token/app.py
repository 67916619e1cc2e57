"""POST /accounts/{accountSid}/apiTokens: a new token; its value is in this response only.

With an Idempotency-Key header a retry creates nothing new (apitokens.rules.idempotency).
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.domain import token_api
    from apitokens.rules.idempotency import HEADER, IdempotentCreate
    from apitokens.settings import get_settings
    from apitokens.wire.http import (
        create_app,
        json_response,
        lambda_handler,
        metrics,
        parse_body,
        principal_of,
        repository_and_catalogs,
        route,
    )
    from apitokens.wire.models import ApiToken, CreatedApiToken, CreateTokenRequest, build

    build(CreateTokenRequest, CreatedApiToken)
    app = create_app()
    creator = IdempotentCreate(repository_and_catalogs(), get_settings())


@route(app, token_api.CREATE_TOKEN)
def create_token(account_sid: str) -> Response[str]:
    request = parse_body(app, CreateTokenRequest)
    key = app.current_event.headers.get(HEADER)
    outcome = creator.create(principal_of(app), account_sid, request.command(), key, app.lambda_context)
    if outcome.replayed:
        return json_response(200, ApiToken.from_record(outcome.record), {"Idempotent-Replayed": "true"})
    metrics.add_metric(name="TokensCreated", unit=MetricUnit.Count, value=1)
    return json_response(201, CreatedApiToken.from_record(outcome.record, outcome.secret))


handler = lambda_handler(app)
