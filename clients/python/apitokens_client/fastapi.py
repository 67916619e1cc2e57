"""FastAPI: `Depends(require_scope("metrics:read"))` on a route whose path names the account
(`{accountSid}` by default) lets through only a Bearer token active and holding that scope on
that account, and answers 401 / 403 / 503 otherwise in the apitokens error shape (once
`install(app)` has registered its handler; without it FastAPI's own `{"detail": ...}` shape).
The dependency's value is the Verification (account, token sid, scopes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from apitokens_client import guard
from apitokens_client.client import ApiTokensClient, Verification


class GuardRefusal(HTTPException):
    def __init__(self, refusal: guard.Refusal) -> None:
        super().__init__(refusal.status, detail=refusal.body, headers=refusal.headers or None)
        self.refusal = refusal


@functools.cache
def default_client() -> ApiTokensClient:
    """The client of $APITOKENS_URL, made on first use and shared."""
    return ApiTokensClient.from_environment()


def install(app: FastAPI) -> None:
    """Refusals answer in the apitokens error shape (`{"error": {"code", "message"}}`)."""

    async def render(request: Request, error: Exception) -> JSONResponse:
        refusal = error.refusal if isinstance(error, GuardRefusal) else guard.unavailable()
        return JSONResponse(refusal.body, status_code=refusal.status, headers=refusal.headers)

    app.add_exception_handler(GuardRefusal, render)


def require_scope(
    scope: str, *, client: ApiTokensClient | None = None, account_parameter: str = "accountSid"
) -> Callable[[Request], Verification]:
    """A dependency: the request's Bearer token must hold `scope` on the account of the path
    parameter `account_parameter`."""

    def dependency(request: Request) -> Verification:
        account = request.path_params.get(account_parameter)
        if account is None:
            raise LookupError(f"require_scope guards routes with a {{{account_parameter}}} path parameter")
        try:
            token = guard.bearer_token(request.headers.get("authorization"))
            return guard.check(client or default_client(), token, required_scope=scope, account_sid=str(account))
        except guard.Refusal as refusal:
            raise GuardRefusal(refusal) from None

    return dependency
