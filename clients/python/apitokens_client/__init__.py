"""Verify apitokens API tokens from your own service (the verify route, SigV4-signed).

client    ApiTokensClient.verify and its answer (Verification), the errors it raises
guard     the decision a service makes from an Authorization header (401 / 403 / 503)
fastapi   require_scope(...): a FastAPI dependency on the guard (extra `fastapi`)
asgi      ApiTokensMiddleware: the guard for any ASGI application
"""

from apitokens_client.client import (
    ApiTokensClient,
    ApiTokensError,
    NoCredentials,
    RequestRefused,
    ServiceUnavailable,
    Verification,
)

__all__ = [
    "ApiTokensClient",
    "ApiTokensError",
    "NoCredentials",
    "RequestRefused",
    "ServiceUnavailable",
    "Verification",
]
