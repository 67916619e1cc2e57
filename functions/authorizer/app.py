"""API Gateway REQUEST authorizer: a user JWT or an API token in, an IAM policy out.

Refused credentials raise "Unauthorized" (API Gateway's 401); any other error propagates and
API Gateway answers AUTHORIZER_FAILURE (503): never an allow. Nothing here logs the
Authorization header or a token value.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from apitokens.authorizer import Authorizer
from apitokens.errors import Unauthenticated
from apitokens.repository import TokenRepository
from apitokens.settings import get_settings
from apitokens.tracing import enable_if_configured

logger = Logger()
settings = get_settings()
enable_if_configured(settings)
authorizer = Authorizer(settings, TokenRepository.from_settings(settings), logger=logger)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        decision = authorizer.decide(event)
    except Unauthenticated:
        logger.info("credentials refused")
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for 401
    except Exception:
        logger.exception("authorizer failure: refusing")
        raise
    logger.info(
        "credentials accepted",
        extra={"principal_type": decision["context"]["principalType"], "principal_id": decision["principalId"]},
    )
    return decision
