"""Every DynamoDB key of the single table is built here (docs/data-model.md: "Data model").

item            PK                      SK
token           ACCOUNT#<accountSid>    TOKEN#<tokenSid>
account meta    ACCOUNT#<accountSid>    META            (tokenCount, for the per-account limit)
secret lookup   SECRET#<sha256 hex>     SECRET          (copy 0: what the authorizer reads)
lookup copy i   SECRET#<sha256 hex>#<i> SECRET          (copies 1..N-1, same content; docs/data-model.md: "Hot tokens")
lineage edge    ACCOUNT#<accountSid>    CHILD#<parentSid>#<childSid>  (childSid, childDigest)
rolled slot     ACCOUNT#<accountSid>    ROLLED#<releaseAt>#<tokenSid>  (a rolled token's slot, until released)
audit event     ACCOUNT#<accountSid>    EVENT#<evtSid>  (GSI1: AUDIT#<acc>#<tokenSid> / EVENT#<evtSid>;
                                                         GSI2: AUDIT#<acc>#<type> / EVENT#<evtSid>)
token, expiring (sparse GSI3 on the token item: EXPIRES#<YYYY-MM-DD>#<shard> / <expiresAt>#<accountSid>#<tokenSid>)
idempotency     IDEMPOTENCY#<accountSid>#<principal hash>   create_token#<hash> / roll_token#<hash>
catalog         CATALOG                 CATALOG#<catalogId>   (a protected API's scopes and routes)
route claim     CATALOG                 ROUTE#<METHOD> <path>  (owner: the catalog holding the route)

Lineage: a token created (or rolled) by an API token is that token's child, and always lives in
the same account, so a token's children are one Query in the account's partition:
`PK = ACCOUNT#<acc> AND begins_with(SK, "CHILD#<parentSid>#")`. Cascading revocation walks it
breadth first; the authorizer never reads it (revocation is written to each descendant's lookup
item, so authorizing stays one GetItem).

Lookup copies: one lookup item serves at most 3,000 strongly consistent reads a second (one
partition key's limit), so each token has N identical copies, all written in the transaction of
every change, and the authorizer reads one at random: N x 3,000 reads a second per token. Copy 0
keeps the original key, so a token written with one copy is still found.

Idempotency records (Powertools keeps them under one static partition key per persistence layer)
are keyed per account and calling principal: no partition is shared across accounts.

Rolled slots: a token rolled with a grace period keeps its slot of the per-account limit until
`releaseAt` (its new expiresAt); `ROLLED#` sorts by that time, so the slots due for release are
one Query `SK BETWEEN "ROLLED#" AND "ROLLED#<now>"`.

Audit events: one item per event in its account's partition, so an account's listing is one
descending Query and an account writes events only as fast as it changes (or uses) its tokens.
evt_ sids are time-ordered, so `SK` order is time order. Per token and per type the listing is a
Query on GSI1 / GSI2, whose partitions are per account and token / per account and type.

Catalogs: every protected API's catalog is one Query, `PK = CATALOG AND begins_with(SK,
"CATALOG#")`, which each authorizer instance makes at most once a minute. A route's claim item
makes "no route in two catalogs" a condition of the transaction that writes the catalog.

Expiry: a token item with an expiresAt carries GSI3 keys partitioned by its expiry day, so the
daily sweep queries the few day partitions it needs, and reads only the tokens expiring then.
Tokens created together with one lifetime expire on one day whatever their account, so a day is
spread over EXPIRY_SHARDS keys by a hash of the token's sid (docs/data-model.md: "Rates per partition key");
the sweep queries each, and the unsharded key of tokens written before the shards existed.
"""

from __future__ import annotations

import hashlib
from typing import Any

TOKEN_SK_PREFIX = "TOKEN#"
CHILD_SK_PREFIX = "CHILD#"
ROLLED_SK_PREFIX = "ROLLED#"
EVENT_SK_PREFIX = "EVENT#"
ACCOUNT_META_SK = "META"
# Index names and their key attributes (template.yaml declares the same).
BY_TOKEN_INDEX, BY_TOKEN_PK, BY_TOKEN_SK = "ByToken", "GSI1PK", "GSI1SK"
BY_TYPE_INDEX, BY_TYPE_PK, BY_TYPE_SK = "ByType", "GSI2PK", "GSI2SK"
BY_EXPIRY_INDEX, BY_EXPIRY_PK, BY_EXPIRY_SK = "ByExpiryDay", "GSI3PK", "GSI3SK"
SECRET_SK = "SECRET"
IDEMPOTENCY_PK_PREFIX = "IDEMPOTENCY#"
# GSI3 partition keys per expiry day: one key takes at most 1,000 writes a second, and creates of
# tokens expiring on one day come from every account (docs/data-model.md: "Rates per partition key").
EXPIRY_SHARDS = 10


CATALOG_PK = "CATALOG"
CATALOG_SK_PREFIX = "CATALOG#"
ROUTE_CLAIM_SK_PREFIX = "ROUTE#"


def catalog_key(catalog_id: str) -> dict[str, Any]:
    return {"PK": {"S": CATALOG_PK}, "SK": {"S": f"{CATALOG_SK_PREFIX}{catalog_id}"}}


def route_claim_key(method: str, resource: str) -> dict[str, Any]:
    return {"PK": {"S": CATALOG_PK}, "SK": {"S": f"{ROUTE_CLAIM_SK_PREFIX}{method} {resource}"}}


def account_pk(account_sid: str) -> str:
    return f"ACCOUNT#{account_sid}"


def token_sk(token_sid: str) -> str:
    return f"{TOKEN_SK_PREFIX}{token_sid}"


def secret_pk(secret_digest: str) -> str:
    return f"SECRET#{secret_digest}"


def secret_copy_pk(secret_digest: str, copy: int) -> str:
    """The partition key of lookup copy `copy` (0 is the original item's key)."""
    return secret_pk(secret_digest) if copy == 0 else f"SECRET#{secret_digest}#{copy}"


def secret_copy_key(secret_digest: str, copy: int) -> dict[str, dict[str, str]]:
    return {"PK": {"S": secret_copy_pk(secret_digest, copy)}, "SK": {"S": SECRET_SK}}


def secret_copy_keys(secret_digest: str, copies: int) -> list[dict[str, dict[str, str]]]:
    return [secret_copy_key(secret_digest, copy) for copy in range(copies)]


def idempotency_pk(account_sid: str, principal_type: str, principal_id: str) -> str:
    """The partition of one principal's idempotency records in one account. The principal is
    hashed: a JWT subject may be long or hold any character, a key part must not."""
    principal = hashlib.sha256(f"{principal_type}:{principal_id}".encode()).hexdigest()[:32]
    return f"{IDEMPOTENCY_PK_PREFIX}{account_sid}#{principal}"


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


def event_sk(event_sid: str) -> str:
    return f"{EVENT_SK_PREFIX}{event_sid}"


def event_key(account_sid: str, event_sid: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": account_pk(account_sid)}, "SK": {"S": event_sk(event_sid)}}


def token_events_pk(account_sid: str, token_sid: str) -> str:
    return f"AUDIT#{account_sid}#{token_sid}"


def type_events_pk(account_sid: str, event_type: str) -> str:
    return f"AUDIT#{account_sid}#{event_type}"


def expiry_shard(token_sid: str) -> int:
    return int(hashlib.sha256(token_sid.encode()).hexdigest()[:8], 16) % EXPIRY_SHARDS


def expiry_day_pk(expires_at: str, shard: int | None = None) -> str:
    """The GSI3 partition of a token expiring at `expires_at` (its UTC day), shard `shard`; None
    is the day's unsharded key, which only tokens written before the shards existed have."""
    day = f"EXPIRES#{expires_at[:10]}"
    return day if shard is None else f"{day}#{shard}"


def expiry_day_pks(day: str) -> list[str]:
    """Every GSI3 partition of one expiry day (YYYY-MM-DD): its shards and the unsharded key."""
    return [*(expiry_day_pk(day, shard) for shard in range(EXPIRY_SHARDS)), expiry_day_pk(day)]


def expiry_attributes(account_sid: str, token_sid: str, expires_at: str) -> dict[str, dict[str, str]]:
    return {
        BY_EXPIRY_PK: {"S": expiry_day_pk(expires_at, expiry_shard(token_sid))},
        BY_EXPIRY_SK: {"S": f"{expires_at}#{account_sid}#{token_sid}"},
    }
