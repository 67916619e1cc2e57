"""GET /accounts/{accountSid}/apiTokens: an account's tokens, newest first, paginated."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.domain import token_api
    from apitokens.rules import service
    from apitokens.wire.http import (
        create_app,
        json_response,
        lambda_handler,
        metrics,
        parse_query,
        repository,
        route,
    )
    from apitokens.wire.models import ApiTokenList, ListQuery, build

    build(ListQuery, ApiTokenList)
    app = create_app()
    tokens = repository()


@route(app, token_api.LIST_TOKENS)
def list_tokens(account_sid: str) -> Response[str]:
    page = service.list_tokens(tokens, account_sid, parse_query(app, ListQuery).command())
    metrics.add_metric(name="TokensListed", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiTokenList.from_page(page))


handler = lambda_handler(app)
