"""PUT /accounts/{accountSid}/apiTokens/{apiTokenSid}: name, description, isActive."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.http import create_app, json_response, logger, metrics, parse_body, principal_of, repository
    from apitokens.wire.models import ApiToken, UpdateTokenRequest, build

    build(UpdateTokenRequest, ApiToken)
    app = create_app()
    tokens = repository()


@app.put("/accounts/<account_sid>/apiTokens/<token_sid>")
def update_token(account_sid: str, token_sid: str) -> Response[str]:
    request = parse_body(app, UpdateTokenRequest)
    record = service.update_token(tokens, principal_of(app), account_sid, token_sid, request)
    metrics.add_metric(name="TokensUpdated", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiToken.from_record(record))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
