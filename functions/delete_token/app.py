"""DELETE /accounts/{accountSid}/apiTokens/{apiTokenSid}: revoke a token, effective on the next request."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.http import create_app, json_response, logger, metrics, principal_of, repository
    from apitokens.wire.models import DeletedApiToken, build

    build(DeletedApiToken)
    app = create_app()
    tokens = repository()


@app.delete("/accounts/<account_sid>/apiTokens/<token_sid>")
def delete_token(account_sid: str, token_sid: str) -> Response[str]:
    service.delete_token(tokens, account_sid, token_sid, principal=principal_of(app))
    metrics.add_metric(name="TokensDeleted", unit=MetricUnit.Count, value=1)
    return json_response(200, DeletedApiToken(sid=token_sid))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
