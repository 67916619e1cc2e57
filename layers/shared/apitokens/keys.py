"""Every DynamoDB key of the single table is built here (README: "Data model").

item            PK                      SK
token           ACCOUNT#<accountSid>    TOKEN#<tokenSid>
account meta    ACCOUNT#<accountSid>    META            (tokenCount, for the per-account limit)
secret lookup   SECRET#<sha256 hex>     SECRET          (what the authorizer reads)
idempotency     IDEMPOTENCY             create_token#<hash>  (Powertools idempotency records)
"""

from __future__ import annotations

TOKEN_SK_PREFIX = "TOKEN#"
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
