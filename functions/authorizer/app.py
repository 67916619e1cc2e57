"""API Gateway REQUEST authorizer (REST API, and HTTP API payload 2.0): a user JWT or an API
token in, an IAM policy (and, for an HTTP API, isAuthorized) out.

Refused credentials raise "Unauthorized" (the REST API's 401; an HTTP API gets a refusal, its
403, as there a Lambda error is a 500); any other error propagates and
API Gateway answers AUTHORIZER_FAILURE (503): never an allow. Nothing here logs the
Authorization header or a token value.

Its one log line per request carries API Gateway's request id, the outcome (with the refusal's
reason code: for operators only, the 401 body is the same for every cause) and, as Embedded
Metric Format, the CredentialsAccepted / CredentialsRefused counts.
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from apitokens.auth.authorizer import Authorizer
    from apitokens.domain import catalogs, scopes
    from apitokens.domain.errors import StoreUnavailable, Unauthenticated
    from apitokens.jsonlog import JsonLogger, MetricLine
    from apitokens.settings import get_settings
    from apitokens.store.catalogs import CatalogStore
    from apitokens.store.dynamodb_http import HttpDynamoDBClient
    from apitokens.store.repository import TokenRepository
    from apitokens.tracing import enable_if_configured

    settings = get_settings()
    # Not Powertools' Logger: it would cost every API request about a DynamoDB read (jsonlog.py).
    logger = JsonLogger(settings.service_name, settings.log_level)
    enable_if_configured(settings)
    # Not boto3: the standard library's DynamoDB client keeps botocore out of the cold start
    # (apitokens/store/dynamodb_http.py).
    dynamodb = HttpDynamoDBClient.from_settings(settings)
    authorizer = Authorizer(settings, TokenRepository.from_settings(settings, dynamodb), logger=logger)
    # The protected APIs' catalogs: one Query through the same client at most once a minute.
    scopes.use_declarations(catalogs.CatalogCache(CatalogStore(dynamodb, settings.table_name).read_all))
    ACCEPTED = MetricLine(settings.metrics_namespace, ["CredentialsAccepted"], [[], ["principal_type"]])
    REFUSED = MetricLine(settings.metrics_namespace, ["CredentialsRefused"], [[], ["reason"]])
    FAILED = MetricLine(settings.metrics_namespace, ["AuthorizerFailures"], [[]])
    # The token store failed the request (StoreUnavailableAlarm counts these, with the handlers').
    STORE_FAILED = MetricLine(settings.metrics_namespace, ["AuthorizerFailures", "StoreUnavailable"], [[]])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    logger.start_request(
        getattr(context, "aws_request_id", None),
        getattr(context, "function_name", None),
        request_context.get("requestId") if isinstance(request_context, dict) else None,
    )
    try:
        decision = authorizer.decide(event)
    except Unauthenticated as refusal:
        logger.count("INFO", "credentials refused", REFUSED, {"reason": refusal.reason})
        refusal_response = authorizer.refusal(event)
        if refusal_response is not None:
            return refusal_response
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for 401
    except Exception as error:
        logger.exception(
            "authorizer failure: refusing", metric=STORE_FAILED if isinstance(error, StoreUnavailable) else FAILED
        )
        raise
    logger.count(
        "INFO",
        "credentials accepted",
        ACCEPTED,
        {"principal_type": decision["context"]["principalType"]},
        principal_id=decision["principalId"],
    )
    return decision
