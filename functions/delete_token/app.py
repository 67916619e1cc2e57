"""DELETE /accounts/{accountSid}/apiTokens/{apiTokenSid}: revoke a token, effective on the next request."""

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
        principal_of,
        repository,
        route,
    )
    from apitokens.wire.models import DeletedApiToken, DeleteQuery, build

    build(DeleteQuery, DeletedApiToken)
    app = create_app()
    tokens = repository()


@route(app, token_api.DELETE_TOKEN)
def delete_token(account_sid: str, api_token_sid: str) -> Response[str]:
    query = parse_query(app, DeleteQuery)
    service.delete_token(
        tokens, account_sid, api_token_sid, principal=principal_of(app), keep_successor=query.keep_successor
    )
    metrics.add_metric(name="TokensDeleted", unit=MetricUnit.Count, value=1)
    return json_response(200, DeletedApiToken(sid=api_token_sid))


handler = lambda_handler(app)
