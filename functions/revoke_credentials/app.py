"""POST /credentials/revoke: anyone who finds a token can revoke it (no authorizer).

Always 202 with the same body for an acceptable report, whatever the tokens were: the answer
tells nothing about validity. Throttled per method at the gateway (template.yaml).
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response

    from apitokens.domain import token_api
    from apitokens.domain.timeutil import format_timestamp, utcnow
    from apitokens.rules import leaks
    from apitokens.settings import get_settings
    from apitokens.wire.http import (
        create_public_app,
        json_response,
        lambda_handler,
        parse_body,
        repository,
        route,
    )
    from apitokens.wire.leak_models import RevokeCredentialsAccepted, RevokeCredentialsRequest
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(RevokeCredentialsRequest, RevokeCredentialsAccepted)
    app = create_public_app("credentials_revoke")
    tokens = repository()


@route(app, token_api.REVOKE_CREDENTIALS)
def revoke_credentials() -> Response[str]:
    request = parse_body(app, RevokeCredentialsRequest)
    findings = [leaks.Finding(token, "api_token", "credentials_revoke", "") for token in request.tokens]
    leaks.report(tokens, get_settings(), findings, format_timestamp(utcnow()))
    return json_response(202, RevokeCredentialsAccepted())


handler = lambda_handler(app)
