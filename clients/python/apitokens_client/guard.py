"""What a service answers a request from its Authorization header, the framework aside: the
verified token, or a Refusal in the apitokens error shape (`{"error": {"code", "message"}}`):

  401 unauthorized          no Bearer credential, or a token the service does not take
  403 forbidden             an active token without the scope on the account (or the route)
  503 service_unavailable   the verify route could not answer: never an allow
"""

from __future__ import annotations

import json
import logging

from apitokens_client.client import ApiTokensClient, ApiTokensError, RequestRefused, Verification

logger = logging.getLogger("apitokens_client")
# The length past which a credential is no token; the service checks the rest.
MAX_CREDENTIAL_LENGTH = 8192


class Refusal(Exception):
    """The answer a guarded request gets instead of the application's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": "Bearer"}
        if self.status == 503:
            return {"Retry-After": "1"}
        return {}

    @property
    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def json_bytes(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")


def unauthorized() -> Refusal:
    return Refusal(401, "unauthorized", "Missing or invalid credentials.")


def forbidden() -> Refusal:
    return Refusal(403, "forbidden", "These credentials do not grant access to this account or route.")


def unavailable() -> Refusal:
    return Refusal(503, "service_unavailable", "Authorization is temporarily unavailable; retry shortly.")


def bearer_token(authorization: str | None) -> str:
    """The credential of an `Authorization: Bearer ...` header, or the 401."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential or len(credential) > MAX_CREDENTIAL_LENGTH:
        raise unauthorized()
    return credential


def check(
    client: ApiTokensClient,
    token: str,
    *,
    required_scope: str | None = None,
    account_sid: str | None = None,
    method: str | None = None,
    path: str | None = None,
) -> Verification:
    """The verification of `token` for this question, or the Refusal to answer with."""
    try:
        verification = client.verify(
            token, required_scope=required_scope, account_sid=account_sid, method=method, path=path
        )
    except RequestRefused as refused:
        if refused.status == 400:
            raise forbidden() from None  # a question the service cannot ask: no account or route matches
        logger.warning("apitokens refused this service's request: %s", refused)
        raise unavailable() from None
    except ApiTokensError as error:
        logger.warning("apitokens is unavailable: %s", error)
        raise unavailable() from None
    if not verification.active:
        raise unauthorized()
    if not verification.allowed:
        raise forbidden()
    return verification
