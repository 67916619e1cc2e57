"""PUT /accounts/{accountSid}/apiTokens/{apiTokenSid}: name, description, isActive."""

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
        parse_body,
        principal_of,
        repository,
        route,
    )
    from apitokens.wire.models import ApiToken, UpdateTokenRequest, build

    build(UpdateTokenRequest, ApiToken)
    app = create_app()
    tokens = repository()


@route(app, token_api.UPDATE_TOKEN)
def update_token(account_sid: str, api_token_sid: str) -> Response[str]:
    request = parse_body(app, UpdateTokenRequest)
    record = service.update_token(tokens, principal_of(app), account_sid, api_token_sid, request.command())
    metrics.add_metric(name="TokensUpdated", unit=MetricUnit.Count, value=1)
    return json_response(200, ApiToken.from_record(record))


handler = lambda_handler(app)
