"""A plain ASGI middleware for frameworks without FastAPI's dependencies: every HTTP request
must carry an active Bearer token allowed to make it, else 401 / 403 / 503 in the apitokens
error shape, without calling the application.

With `required_scope`, the token must hold that scope on the account that `account_pattern`
finds in the path (its group `accountSid`); without, the service decides the request itself
(method and path, by its route catalog, as its authorizer does). The verification is passed on
in scope["state"]["apitokens"].
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from apitokens_client import guard
from apitokens_client.client import ApiTokensClient, Verification

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Application = Callable[[Scope, Receive, Send], Awaitable[None]]
STATE_KEY = "apitokens"


class ApiTokensMiddleware:
    def __init__(
        self,
        app: Application,
        *,
        client: ApiTokensClient,
        required_scope: str | None = None,
        account_pattern: str = r"/accounts/(?P<accountSid>[^/]+)(?:/.*)?",
    ) -> None:
        self.app = app
        self._client = client
        self._required_scope = required_scope
        self._account = re.compile(account_pattern)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan: nothing to authorize
            return
        try:
            verification = await asyncio.get_running_loop().run_in_executor(None, self._check, scope)
        except guard.Refusal as refusal:
            await _refuse(scope, send, refusal)
            return
        state = dict(scope.get("state") or {})
        state[STATE_KEY] = verification
        await self.app({**scope, "state": state}, receive, send)

    def _check(self, scope: Scope) -> Verification:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        token = guard.bearer_token(headers.get("authorization"))
        # The path as received, still percent-encoded: an encoded slash is not a separator.
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        verify = functools.partial(guard.check, self._client, token)
        if self._required_scope is None:
            return verify(method=scope.get("method", "GET"), path=path)
        match = self._account.fullmatch(path)
        if match is None:
            raise guard.forbidden()
        return verify(required_scope=self._required_scope, account_sid=match.group("accountSid"))


async def _refuse(scope: Scope, send: Send, refusal: guard.Refusal) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = refusal.json_bytes()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
