"""GET /accounts/{accountSid}/apiTokens/{apiTokenSid}: one token (never its value)."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.domain import token_api
    from apitokens.rules import service
    from apitokens.wire.http import create_app, json_response, lambda_handler, metrics, repository, route
    from apitokens.wire.models import ApiToken, build

    build(ApiToken)
    app = create_app()
    tokens = repository()


@route(app, token_api.GET_TOKEN)
def get_token(account_sid: str, api_token_sid: str) -> Response[str]:
    record = service.get_token(tokens, account_sid, api_token_sid)
    metrics.add_metric(name="TokensRead", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiToken.from_record(record))


handler = lambda_handler(app)
