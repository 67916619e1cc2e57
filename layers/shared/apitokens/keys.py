"""Every DynamoDB key of the single table is built here (README: "Data model").

item            PK                      SK
token           ACCOUNT#<accountSid>    TOKEN#<tokenSid>
account meta    ACCOUNT#<accountSid>    META            (tokenCount, for the per-account limit)
secret lookup   SECRET#<sha256 hex>     SECRET          (what the authorizer reads)
lineage edge    ACCOUNT#<accountSid>    CHILD#<parentSid>#<childSid>  (childSid, childDigest)
rolled slot     ACCOUNT#<accountSid>    ROLLED#<releaseAt>#<tokenSid>  (a rolled token's slot, until released)
idempotency     IDEMPOTENCY             create_token#<hash> / roll_token#<hash>  (Powertools records)

Lineage: a token created (or rolled) by an API token is that token's child, and always lives in
the same account, so a token's children are one Query in the account's partition:
`PK = ACCOUNT#<acc> AND begins_with(SK, "CHILD#<parentSid>#")`. Cascading revocation walks it
breadth first; the authorizer never reads it (revocation is written to each descendant's lookup
item, so authorizing stays one GetItem).

Rolled slots: a token rolled with a grace period keeps its slot of the per-account limit until
`releaseAt` (its new expiresAt); `ROLLED#` sorts by that time, so the slots due for release are
one Query `SK BETWEEN "ROLLED#" AND "ROLLED#<now>"`.
"""

from __future__ import annotations

TOKEN_SK_PREFIX = "TOKEN#"
CHILD_SK_PREFIX = "CHILD#"
ROLLED_SK_PREFIX = "ROLLED#"
ACCOUNT_META_SK = "META"
SECRET_SK = "SECRET"
# Powertools idempotency keeps its records under one partition key; at most one record per
# retried create, so one partition's 1,000 writes a second are far beyond what creates need.
IDEMPOTENCY_PK = "IDEMPOTENCY"


def account_pk(account_sid: str) -> str:
    return f"ACCOUNT#{account_sid}"


def token_sk(token_sid: str) -> str:
    return f"{TOKEN_SK_PREFIX}{token_sid}"


def secret_pk(secret_digest: str) -> str:
    return f"SECRET#{secret_digest}"


def token_key(account_sid: str, token_sid: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": account_pk(account_sid)}, "SK": {"S": token_sk(token_sid)}}


def account_meta_key(account_sid: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": account_pk(account_sid)}, "SK": {"S": ACCOUNT_META_SK}}


def secret_key(secret_digest: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": secret_pk(secret_digest)}, "SK": {"S": SECRET_SK}}


def children_prefix(parent_sid: str) -> str:
    """The SK prefix of every lineage edge from `parent_sid` (the trailing # keeps tok_a from
    matching tok_ab)."""
    return f"{CHILD_SK_PREFIX}{parent_sid}#"


def lineage_key(account_sid: str, parent_sid: str, child_sid: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": account_pk(account_sid)}, "SK": {"S": f"{children_prefix(parent_sid)}{child_sid}"}}


def rolled_sk(release_at: str, token_sid: str) -> str:
    return f"{ROLLED_SK_PREFIX}{release_at}#{token_sid}"


def rolled_key(account_sid: str, release_at: str, token_sid: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": account_pk(account_sid)}, "SK": {"S": rolled_sk(release_at, token_sid)}}
