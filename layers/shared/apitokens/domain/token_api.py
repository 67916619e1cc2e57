"""The token API's routes, each declared once: method, path, scope, the function that serves it,
its summary and its responses.

Everything else derives from this table: the route catalog (scopes.ROUTES, which the authorizer
and the handlers' guard decide from), each handler's route (wire.http.route), the OpenAPI
document (apitokens_dev.openapi) and the local gateway's 405 answers; a test fails when
template.yaml's functions and events disagree with it. Plain data of the standard library only:
the authorizer imports it on its API-token path, where pydantic and Powertools never load.
Bodies are named by their wire model (apitokens.wire), which only the OpenAPI builder imports.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKENS = "/accounts/{accountSid}/apiTokens"
TOKEN = "/accounts/{accountSid}/apiTokens/{apiTokenSid}"
ROLL = "/accounts/{accountSid}/apiTokens/{apiTokenSid}/roll"
USAGE = "/accounts/{accountSid}/apiTokens/{apiTokenSid}/usage"
AUDIT_EVENTS = "/accounts/{accountSid}/auditEvents"
GITHUB_REPORT = "/secret-scanning/github"
CREDENTIALS_REVOKE = "/credentials/revoke"
VERIFY = "/apiTokens/verify"

# Error statuses a route may answer, the gateway's included (429 THROTTLED, 401 and 403 of the
# authorizer, 404 of an id no token has).
READ_ERRORS = (400, 401, 403, 404, 429, 500, 503)
DELETE_ERRORS = (*READ_ERRORS, 409)
WRITE_ERRORS = (*DELETE_ERRORS, 413, 415)
IDEMPOTENT_WRITE_ERRORS = (*WRITE_ERRORS, 422)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    # The scope the authorizer and the handler require; None: served without the authorizer.
    scope: str | None
    # The directory under functions/ whose handler serves it (template.yaml's CodeUri).
    function: str
    operation_id: str
    summary: str
    description: str
    status: int
    # Wire model names (apitokens.wire) of the success body and of the request body.
    response: str
    errors: tuple[int, ...]
    request: str | None = None
    request_required: bool = True
    # Takes limit and startingAfter (a token sid) and answers a page.
    paginated: bool = False
    # Accepts an Idempotency-Key: a replay answers 200 with the token, without its value.
    idempotent: bool = False
    # Query parameters of its own, by name (the OpenAPI builder describes each).
    query: tuple[str, ...] = ()
    # Authorized by AWS_IAM (a SigV4 signature of a principal allowed execute-api:Invoke) instead
    # of the token authorizer; its scope is None.
    iam: bool = False


LIST_TOKENS = Operation(
    "GET",
    TOKENS,
    "tokens:read",
    "list_tokens",
    "listApiTokens",
    "List API tokens",
    "Retrieve all API tokens associated with an account, newest first.",
    200,
    "ApiTokenList",
    READ_ERRORS,
    paginated=True,
)

CREATE_TOKEN = Operation(
    "POST",
    TOKENS,
    "tokens:write",
    "create_token",
    "createApiToken",
    "Create API token",
    "Create a new API token for programmatic access. The token value is only returned once, "
    "in this response: store it securely, it cannot be retrieved again.",
    201,
    "CreatedApiToken",
    IDEMPOTENT_WRITE_ERRORS,
    request="CreateTokenRequest",
    idempotent=True,
)

GET_TOKEN = Operation(
    "GET",
    TOKEN,
    "tokens:read",
    "get_token",
    "getApiToken",
    "Get API token",
    "Retrieve details of a specific API token (never its value).",
    200,
    "ApiToken",
    READ_ERRORS,
)

UPDATE_TOKEN = Operation(
    "PUT",
    TOKEN,
    "tokens:write",
    "update_token",
    "updateApiToken",
    "Update API token",
    "Update an existing API token's name, description and isActive. The token value and its "
    "scopes cannot be changed: to change scopes, create a new token and delete the old one.",
    200,
    "ApiToken",
    WRITE_ERRORS,
    request="UpdateTokenRequest",
)

DELETE_TOKEN = Operation(
    "DELETE",
    TOKEN,
    "tokens:delete",
    "delete_token",
    "deleteApiToken",
    "Delete API token",
    "Delete an API token, immediately revoking access. This action is irreversible. The tokens it "
    "created are deactivated with it; so is the successor of a token that rolled itself, unless a user "
    "sends keepSuccessor=true. A token may delete only a token it could deactivate.",
    200,
    "DeletedApiToken",
    DELETE_ERRORS,
    query=("keepSuccessor",),
)

ROLL_TOKEN = Operation(
    "POST",
    ROLL,
    "tokens:write",
    "roll_token",
    "rollApiToken",
    "Roll API token",
    "Replace a token by a new one with the same name, description, scopes and expiresAt. The old token "
    "keeps working for gracePeriodSeconds (0 to 604800, default 0: it stops now); the tokens it created "
    "move to the new one. The new token value is only returned once, in this response. The body is "
    "optional.",
    201,
    "RolledApiToken",
    IDEMPOTENT_WRITE_ERRORS,
    request="RollTokenRequest",
    # Every field has a default.
    request_required=False,
    idempotent=True,
)

GITHUB_SECRET_SCANNING = Operation(
    "POST",
    GITHUB_REPORT,
    None,
    "github_secret_scanning",
    "reportGithubSecretScanning",
    "GitHub secret-scanning report",
    "GitHub's secret-scanning partner endpoint: a JSON array of 1-1,000 {token, type, url, source} "
    "(a body of up to 1 MiB; larger is a 413), signed "
    "(Github-Public-Key-Identifier, Github-Public-Key-Signature: ECDSA P-256 SHA-256 over the raw body). "
    "Each token of this deployment is revoked as leaked, with its descendants; the answer is GitHub's "
    "feedback list (token_hash, token_type, label). A bad or missing signature is a 401 and changes nothing.",
    200,
    "GithubFeedbackList",
    # A 401 is a missing or bad signature; a 409, a token changed while it was being revoked.
    WRITE_ERRORS,
    request="GithubReport",
)

REVOKE_CREDENTIALS = Operation(
    "POST",
    CREDENTIALS_REVOKE,
    None,
    "revoke_credentials",
    "revokeCredentials",
    "Revoke found tokens",
    "Anyone who finds a token may submit it (at most 100 strings per request, a body of up to 16 KiB). "
    "Always 202 with the same body, whatever the strings were; real tokens are revoked as leaked, any "
    "other string matches nothing. Throttled: 429 when exceeded.",
    202,
    "RevokeCredentialsAccepted",
    WRITE_ERRORS,
    request="RevokeCredentialsRequest",
)

LIST_AUDIT_EVENTS = Operation(
    "GET",
    AUDIT_EVENTS,
    "tokens:read",
    "list_audit_events",
    "listAuditEvents",
    "List audit events",
    "Every change to the account's tokens (created, updated, deactivated, reactivated, deleted, rolled, "
    "revoked by cascade, leaked), first uses from new IPs and expiry warnings, newest first. Events are kept "
    "AuditRetentionDays days (default 400). Filter by apiTokenSid and/or type; paginate with limit and "
    "startingAfter (an event sid of the previous page, with the same filters).",
    200,
    "AuditEventList",
    READ_ERRORS,
    query=("limit", "eventStartingAfter", "apiTokenSid", "type"),
)

GET_TOKEN_USAGE = Operation(
    "GET",
    USAGE,
    "tokens:read",
    "get_token_usage",
    "getApiTokenUsage",
    "Get API token usage",
    "When the token was last used and from where: its 5 most recently seen source IPs, each with its "
    "userAgent, firstSeenAt and lastSeenAt (sampled at most once a minute, with lastUsedAt).",
    200,
    "TokenUsage",
    READ_ERRORS,
)

VERIFY_TOKEN = Operation(
    "POST",
    VERIFY,
    None,
    "verify_token",
    "verifyApiToken",
    "Verify API token",
    "For backends that no API Gateway authorizer fronts: is this token active, and may it do this? "
    "Authorized by IAM (SigV4, service execute-api, by a principal allowed execute-api:Invoke on this route; "
    "the stack output VerifyRouteArn). Any token that would be refused (unknown, malformed, inactive, "
    'expired, leaked, another environment\'s) gets `{"active": false}` and nothing else. An active token '
    "gets its account, sid, scopes and expiresAt, and `allowed` when a question is asked: `method` + `path` "
    "(a request path without the stage, decided by the route catalog as the authorizer decides) or "
    "`requiredScope` + `accountSid`. Counts as a use of the token (lastUsedAt, once a minute).",
    200,
    "VerifyTokenAnswer",
    # A 403 is a missing or bad signature, or a principal not allowed to invoke the route.
    WRITE_ERRORS,
    request="VerifyTokenRequest",
    iam=True,
)

# The OpenAPI document lists paths and methods in this order.
OPERATIONS: tuple[Operation, ...] = (
    LIST_TOKENS,
    CREATE_TOKEN,
    GET_TOKEN,
    UPDATE_TOKEN,
    DELETE_TOKEN,
    ROLL_TOKEN,
    GITHUB_SECRET_SCANNING,
    REVOKE_CREDENTIALS,
    LIST_AUDIT_EVENTS,
    GET_TOKEN_USAGE,
    VERIFY_TOKEN,
)

_BY_ROUTE = {(operation.method, operation.path): operation for operation in OPERATIONS}


def operation_for(method: str, path: str) -> Operation | None:
    return _BY_ROUTE.get((method.upper(), path))


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the API serves on `path` (a resource path), in declaration order: a 405's
    Allow header."""
    return tuple(operation.method for operation in OPERATIONS if operation.path == path)
