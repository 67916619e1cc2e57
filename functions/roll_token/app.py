"""POST /accounts/{accountSid}/apiTokens/{apiTokenSid}/roll: a new token replaces this one.

The new token (its value in this response only) copies name, description, scopes and expiresAt;
the old one keeps working for `gracePeriodSeconds` (default 0). Idempotency-Key as on create.
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.domain import token_api
    from apitokens.rules.idempotency import HEADER, IdempotentCreate
    from apitokens.settings import get_settings
    from apitokens.wire.http import (
        body_bytes,
        create_app,
        json_response,
        lambda_handler,
        metrics,
        parse_body,
        principal_of,
        repository,
        route,
    )
    from apitokens.wire.models import ApiToken, RolledApiToken, RollTokenRequest, build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(RollTokenRequest, RolledApiToken, ApiToken)
    app = create_app()
    roller = IdempotentCreate(repository(), get_settings())


@route(app, token_api.ROLL_TOKEN)
def roll_token(account_sid: str, api_token_sid: str) -> Response[str]:
    # The body is optional: none means the defaults.
    request = parse_body(app, RollTokenRequest) if body_bytes(app).strip() else RollTokenRequest()
    key = app.current_event.headers.get(HEADER)
    outcome = roller.roll(
        principal_of(app),
        account_sid,
        api_token_sid,
        request.command(),
        idempotency_key=key,
        lambda_context=app.lambda_context,
    )
    if outcome.replayed:
        return json_response(200, ApiToken.from_record(outcome.record), {"Idempotent-Replayed": "true"})
    metrics.add_metric(name="TokensRolled", unit=MetricUnit.Count, value=1)
    return json_response(201, RolledApiToken.from_roll(outcome.record, outcome.secret, api_token_sid))


handler = lambda_handler(app)
