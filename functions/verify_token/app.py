"""POST /apiTokens/verify: is a token active, and may it do this? (apitokens.auth.verify)

API Gateway authorizes this route with AWS_IAM (a SigV4-signed caller allowed execute-api:Invoke
on it), not with the token authorizer. Always 200 for a well-formed body: the token's principal,
or `{"active": false}` for every refused token alike.

Built as the authorizer is, not on Powertools' resolver, Logger and Metrics: the route answers
a backend on the request path of its own callers, and its goal is the authorizer's (warm, within
x1.4 of its one GetItem: docs/performance.md), which the resolver's stack alone exceeds several
times over. It keeps the handlers' rules: the same body checks and models (apitokens.wire.http),
the same error envelope, one JSON log line with API Gateway's request id and an EMF metric.
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from apitokens.auth.authorizer import Authorizer
    from apitokens.auth.verify import verify
    from apitokens.domain import token_api
    from apitokens.domain.errors import DomainError, InvalidRequest
    from apitokens.jsonlog import JsonLogger, MetricLine
    from apitokens.settings import get_settings
    from apitokens.wire.http import (
        check_event_body,
        error_body,
        error_headers,
        event_body,
        parse_json_body,
        repository_and_catalogs,
        status_for,
    )
    from apitokens.wire.models import build
    from apitokens.wire.verify_models import ActiveToken, ActiveTokenDecision, InactiveToken, VerifyTokenRequest, answer

    build(VerifyTokenRequest, InactiveToken, ActiveToken, ActiveTokenDecision)
    settings = get_settings()
    logger = JsonLogger(settings.service_name, settings.log_level)
    authorizer = Authorizer(settings, repository_and_catalogs(), logger=logger)
    VERIFIED = MetricLine(settings.metrics_namespace, ["TokensVerified"], [[], ["active"]])
    HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    # This route's declaration (method, path, IAM authorization, statuses): its success status.
    OPERATION = token_api.VERIFY_TOKEN


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    logger.start_request(
        getattr(context, "aws_request_id", None),
        getattr(context, "function_name", None),
        request_context.get("requestId"),
    )
    try:
        check_event_body(event)
        request = parse_json_body(event_body(event), VerifyTokenRequest)
        verification = verify(authorizer, request.token, request.question)
    except DomainError as error:
        logger.info("request refused", status=status_for(error), code=error.code)
        details = error.details if isinstance(error, InvalidRequest) else None
        body = error_body(error.code, error.message, details)
        return {"statusCode": status_for(error), "headers": {**HEADERS, **error_headers(error)}, "body": body}
    except Exception:
        logger.exception("unhandled error")
        return {
            "statusCode": 500,
            "headers": dict(HEADERS),
            "body": error_body("internal_error", "An internal error occurred."),
        }
    active = verification.principal is not None
    logger.count("INFO", "token verified", VERIFIED, {"active": "true" if active else "false"})
    return {
        "statusCode": OPERATION.status,
        "headers": dict(HEADERS),
        "body": answer(verification).model_dump_json(by_alias=True),
    }
