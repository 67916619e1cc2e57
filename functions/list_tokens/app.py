"""GET /accounts/{accountSid}/apiTokens: an account's tokens, newest first, paginated."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain import service
    from apitokens.wire.http import create_app, json_response, logger, metrics, parse_query, repository
    from apitokens.wire.models import ApiTokenList, ListQuery, build

    build(ListQuery, ApiTokenList)
    app = create_app()
    tokens = repository()


@app.get("/accounts/<account_sid>/apiTokens")
def list_tokens(account_sid: str) -> Response[str]:
    page = service.list_tokens(tokens, account_sid, parse_query(app, ListQuery))
    metrics.add_metric(name="TokensListed", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiTokenList.from_page(page))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
