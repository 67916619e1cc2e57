"""GET /accounts/{accountSid}/apiTokens/{apiTokenSid}: one token (never its value)."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.http import create_app, json_response, logger, metrics, repository
    from apitokens.wire.models import ApiToken, build

    build(ApiToken)
    app = create_app()
    tokens = repository()


@app.get("/accounts/<account_sid>/apiTokens/<token_sid>")
def get_token(account_sid: str, token_sid: str) -> Response[str]:
    record = service.get_token(tokens, account_sid, token_sid)
    metrics.add_metric(name="TokensRead", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiToken.from_record(record))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
