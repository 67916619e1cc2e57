"""The DynamoDB driver's edge: the clients, and what they raise translated into domain errors,
here and nowhere else (docs/architecture.md).

Every function but the authorizer uses boto3's low-level client (about 1.5x faster per call than
the resource API), with bounded retries and timeouts well under API Gateway's 29 s. The
authorizer uses its own standard-library client with the same retries and timeouts
(store/dynamodb_http.py), so that its cold start never imports botocore: this module imports
botocore only to build a boto3 client, and recognises botocore's errors only once botocore is
loaded (no botocore exception can exist before).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apitokens.domain.errors import ConcurrentModification, DomainError, StoreUnavailable
from apitokens.settings import Settings
from apitokens.store.dynamodb_http import DynamoDBError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Throttling after the client's own retries, and server-side failures: the caller may retry.
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


def create_client(settings: Settings) -> DynamoDBClient:
    """A DynamoDB client with bounded retries and timeouts well under API Gateway's 29 s."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2,
        read_timeout=3,
        tcp_keepalive=True,
    )
    return boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=config,
    )


def cancellation_codes(error: BaseException) -> list[str]:
    response = getattr(error, "response", {})
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def still_exists(error: BaseException, index: int) -> bool:
    """Whether a cancelled transaction's item `index` was there (its condition asked for
    ReturnValuesOnConditionCheckFailure = ALL_OLD and DynamoDB returned it)."""
    reasons = getattr(error, "response", {}).get("CancellationReasons", [])
    return index < len(reasons) and bool(reasons[index].get("Item"))


def old_item(error: BaseException, index: int) -> dict[str, Any] | None:
    """A cancelled transaction's item `index` as it was, when its condition asked for
    ReturnValuesOnConditionCheckFailure = ALL_OLD and it existed."""
    reasons = getattr(error, "response", {}).get("CancellationReasons", [])
    item = reasons[index].get("Item") if index < len(reasons) else None
    return dict(item) if item else None


def client_errors() -> tuple[type[Exception], ...]:
    """What the DynamoDB clients raise once their retries are spent: botocore's ClientError and
    BotoCoreError (when botocore is loaded) and the authorizer client's DynamoDBError. Called
    in an `except` clause, so only when something was raised."""
    botocore_exceptions = sys.modules.get("botocore.exceptions")
    if botocore_exceptions is None:
        return (DynamoDBError,)
    return (DynamoDBError, botocore_exceptions.ClientError, botocore_exceptions.BotoCoreError)


def domain_error(error: BaseException) -> DomainError:
    """The domain error for what a client raised (after its own retries): a service error
    carries botocore's response shape (Error Code, CancellationReasons), a transport failure
    (botocore's BotoCoreError, DynamoDBUnreachable) none."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return StoreUnavailable()
    code = response["Error"].get("Code", "")
    if code in _RETRYABLE_CODES or code == "TransactionInProgressException":
        return StoreUnavailable()
    if code == "TransactionCanceledException":
        reasons = cancellation_codes(error)
        if any(reason in ("ThrottlingError", "ProvisionedThroughputExceeded") for reason in reasons):
            return StoreUnavailable()
        return ConcurrentModification("The token was changed by another request; retry.")
    # Anything else (validation, access denied, missing table) is a deployment or code fault:
    # still never a stack trace to the caller.
    return StoreUnavailable("The token store rejected the request.")


@contextlib.contextmanager
def driver_errors() -> Iterator[None]:
    """Turns what the clients raise into domain errors; domain errors pass through."""
    try:
        yield
    except client_errors() as error:
        raise domain_error(error) from error
