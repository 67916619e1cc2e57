"""The example API's one handler: echoes who called, from the apitokens authorizer's context.

It re-checks the account (defence in depth: the authorizer already allowed exactly this request)
and never echoes a credential: the context holds none.
"""

import json
from typing import Any

ECHOED = ("principalType", "principalId", "tokenSid", "scopes")


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    caller = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    account = (event.get("pathParameters") or {}).get("accountSid", "")
    if account not in str(caller.get("accountSids", "")).split():
        return _response(
            403, {"error": {"code": "forbidden", "message": "These credentials do not grant access to this account."}}
        )
    echoed = {name: caller[name] for name in ECHOED if name in caller}
    echoed["scopes"] = str(echoed.get("scopes", "")).split()
    # The token's metadata, a JSON object in a string (absent when the token has none).
    echoed["metadata"] = json.loads(caller["metadata"]) if caller.get("metadata") else None
    return _response(200, {"route": event.get("routeKey"), "account": account, "caller": echoed})
