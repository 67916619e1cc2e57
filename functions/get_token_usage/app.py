"""GET /accounts/{accountSid}/apiTokens/{apiTokenSid}/usage: lastUsedAt and the 5 most recently
seen source IPs of a token."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response

    from apitokens.domain import token_api
    from apitokens.rules import service
    from apitokens.wire.audit_models import TokenUsage
    from apitokens.wire.http import create_app, json_response, lambda_handler, repository, route
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(TokenUsage)
    app = create_app()
    tokens = repository()


@route(app, token_api.GET_TOKEN_USAGE)
def get_token_usage(account_sid: str, api_token_sid: str) -> Response[str]:
    return json_response(200, TokenUsage.from_usage(service.token_usage(tokens, account_sid, api_token_sid)))


handler = lambda_handler(app)
