"""The API contract's JSON shapes, field by field and in order: every test layer checks
responses against these."""

# A token object, as List, Get and Update return it.
TOKEN_FIELDS = [
    "sid",
    "accountSid",
    "name",
    "description",
    "scopes",
    "lastUsedAt",
    "expiresAt",
    "isActive",
    "createdAt",
    # Lineage and revocation, after the contract's fields.
    "createdBy",
    "parentSid",
    "revokedReason",
    "revokedAt",
    "rolledTo",
]
# The Create response: the token value second, and no lastUsedAt.
CREATED_FIELDS = [
    *["sid", "token", "accountSid", "name", "description", "scopes", "expiresAt", "isActive", "createdAt"],
    *["createdBy", "parentSid", "revokedReason", "revokedAt", "rolledTo"],
]
LIST_FIELDS = ["hasMore", "records"]
DELETED_FIELDS = ["sid", "deleted"]
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
