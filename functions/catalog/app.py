"""Custom::ApiTokensCatalog: a protected API's stack declares its scopes and routes, and this
function (the token stack's CatalogServiceToken export) checks and stores them in the token table
(apitokens.wire.custom_resource). Invoked by CloudFormation only, never through the API.
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from typing import Any

    from apitokens.jsonlog import JsonLogger
    from apitokens.settings import get_settings
    from apitokens.store.catalogs import CatalogStore
    from apitokens.store.driver import create_client
    from apitokens.wire.custom_resource import apply, respond

    settings = get_settings()
    logger = JsonLogger(settings.service_name, settings.log_level)
    store = CatalogStore(create_client(settings), settings.table_name)


def handler(event: dict[str, Any], context: Any) -> None:
    logger.start_request(getattr(context, "aws_request_id", None), getattr(context, "function_name", None), None)
    try:
        physical_id, reason = apply(event, store)
    except Exception:
        logger.exception("catalog request failed")
        physical_id = str(event.get("PhysicalResourceId") or f"failed-{event.get('RequestId', '')}")
        reason = "the catalog function failed; see its logs"
    outcome = {"request": event.get("RequestType"), "catalog": physical_id}
    logger.info("catalog refused" if reason else "catalog applied", **outcome, reason=reason)
    respond(event, physical_id, reason)
