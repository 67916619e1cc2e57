"""GET /accounts/{accountSid}/apiTokens/{apiTokenSid}/usage: lastUsedAt and the 5 most recently
seen source IPs of a token."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.audit_models import TokenUsage
    from apitokens.wire.http import create_app, json_response, logger, metrics, repository
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(TokenUsage)
    app = create_app()
    tokens = repository()


@app.get("/accounts/<account_sid>/apiTokens/<token_sid>/usage")
def get_token_usage(account_sid: str, token_sid: str) -> Response[str]:
    return json_response(200, TokenUsage.from_usage(service.token_usage(tokens, account_sid, token_sid)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
