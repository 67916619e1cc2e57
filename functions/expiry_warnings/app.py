"""Scheduled daily: token.expiring / token.expired audit events (apitokens.rules.expiry)."""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.domain.timeutil import utcnow
    from apitokens.rules import expiry
    from apitokens.settings import get_settings
    from apitokens.store.event_repository import EventRepository

    logger = Logger()
    tokens = EventRepository.from_settings(get_settings())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = expiry.sweep(tokens, utcnow())
    logger.info("expiry sweep", extra={"items_read": result.items_read, "expiring": result.expiring})
    return {"itemsRead": result.items_read, "expiring": result.expiring, "expired": result.expired}
