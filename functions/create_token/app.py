"""POST /accounts/{accountSid}/apiTokens: a new token; its value is in this response only.

With an Idempotency-Key header a retry creates nothing new (apitokens.domain.idempotency).
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain.idempotency import HEADER, IdempotentCreate
    from apitokens.settings import get_settings
    from apitokens.wire.http import create_app, json_response, logger, metrics, parse_body, principal_of, repository
    from apitokens.wire.models import ApiToken, CreatedApiToken, CreateTokenRequest, build

    build(CreateTokenRequest, CreatedApiToken)
    app = create_app()
    creator = IdempotentCreate(repository(), get_settings())


@app.post("/accounts/<account_sid>/apiTokens")
def create_token(account_sid: str) -> Response[str]:
    request = parse_body(app, CreateTokenRequest)
    key = app.current_event.headers.get(HEADER)
    outcome = creator.create(principal_of(app), account_sid, request, key, app.lambda_context)
    if outcome.replayed:
        return json_response(200, ApiToken.from_record(outcome.record), {"Idempotent-Replayed": "true"})
    metrics.add_metric(name="TokensCreated", unit=MetricUnit.Count, value=1)
    return json_response(201, CreatedApiToken.from_record(outcome.record, outcome.secret))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
