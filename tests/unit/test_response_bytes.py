"""The wire JSON of every token response, pinned byte for byte for fixed records.

The response models are built from the domain record by pydantic (not field by field); these
bytes are what the handlers sent before that change and must keep sending: field order, camelCase
names, nulls, raw UTF-8 and escapes included.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from apitokens.domain.records import TokenPage, TokenRecord
from apitokens.wire.models import ApiToken, ApiTokenList, CreatedApiToken, RolledApiToken, build

build(ApiToken, CreatedApiToken, RolledApiToken, ApiTokenList)

TOKEN_SID = "tok_0123456789abcdefABCDEF"
PARENT_SID = "tok_ZYXWVUTSRQPONMLKJIHGFE"
ACCOUNT_SID = "acc_0123456789abcdefABCDEFgh"

# Every field set: a token-created, revoked child with an emoji name and a description to escape.
FULL = TokenRecord(
    sid=TOKEN_SID,
    account_sid=ACCOUNT_SID,
    name="CI deploy \U0001f469\u200d\U0001f4bb",
    description='Deploys "main"\n<ok>',
    scopes=("tokens:read", "tokens:write"),
    expires_at="2030-12-31T23:59:59.000Z",
    is_active=False,
    created_at="2026-01-02T03:04:05.678Z",
    last_used_at="2026-01-03T00:00:00.000Z",
    created_by_type="token",
    created_by_id=PARENT_SID,
    parent_sid=PARENT_SID,
    revoked_reason="parent_revoked",
    revoked_at="2026-01-04T00:00:00.000Z",
    rolled_to="tok_0123456789abcdefROLLED",
    redacted_token="at_test_\u2026wXyZ",
    metadata={"team": "ci \U0001f680", "note": 'say "hi"'},
    allowed_ips=("10.0.0.0/8", "2001:db8::/32"),
)
# Every optional field absent: a user's fresh token.
BARE = TokenRecord(
    sid=TOKEN_SID,
    account_sid=ACCOUNT_SID,
    name="a",
    description=None,
    scopes=("tokens:read",),
    expires_at=None,
    is_active=True,
    created_at="2026-01-02T03:04:05.678Z",
    created_by_id="auth0|user",
    redacted_token="at_live_\u2026AbC1",
)

FULL_NAME = b'"name":"CI deploy \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"'
FULL_FIELDS = FULL_NAME + b',"description":"Deploys \\"main\\"\\n<ok>","scopes":["tokens:read","tokens:write"]'
FULL_LINEAGE = (
    b'"createdBy":{"type":"token","id":"tok_ZYXWVUTSRQPONMLKJIHGFE"},"parentSid":"tok_ZYXWVUTSRQPONMLKJIHGFE",'
    b'"revokedReason":"parent_revoked","revokedAt":"2026-01-04T00:00:00.000Z","rolledTo":"tok_0123456789abcdefROLLED",'
    b'"redactedToken":"at_test_\xe2\x80\xa6wXyZ","metadata":{"team":"ci \xf0\x9f\x9a\x80","note":"say \\"hi\\""},'
    b'"allowedIps":["10.0.0.0/8","2001:db8::/32"]'
)
BARE_LINEAGE = (
    b'"createdBy":{"type":"user","id":"auth0|user"},"parentSid":null,"revokedReason":null,"revokedAt":null,'
    b'"rolledTo":null,"redactedToken":"at_live_\xe2\x80\xa6AbC1","metadata":null,"allowedIps":null'
)
IDS = b'"sid":"tok_0123456789abcdefABCDEF",'
ACCOUNT = b'"accountSid":"acc_0123456789abcdefABCDEFgh",'

TOKEN_FULL = (
    b"{" + IDS + ACCOUNT + FULL_FIELDS + b',"lastUsedAt":"2026-01-03T00:00:00.000Z",'
    b'"expiresAt":"2030-12-31T23:59:59.000Z","isActive":false,"createdAt":"2026-01-02T03:04:05.678Z",'
    + FULL_LINEAGE
    + b"}"
)
TOKEN_BARE = (
    b"{" + IDS + ACCOUNT + b'"name":"a","description":null,"scopes":["tokens:read"],"lastUsedAt":null,'
    b'"expiresAt":null,"isActive":true,"createdAt":"2026-01-02T03:04:05.678Z",' + BARE_LINEAGE + b"}"
)
CREATED_FULL_FIELDS = (
    b"{" + IDS + b'"token":"at_test_x",' + ACCOUNT + FULL_FIELDS + b',"expiresAt":"2030-12-31T23:59:59.000Z",'
    b'"isActive":false,"createdAt":"2026-01-02T03:04:05.678Z",' + FULL_LINEAGE
)
CREATED_BARE = (
    b"{" + IDS + b'"token":"at_live_y",' + ACCOUNT + b'"name":"a","description":null,"scopes":["tokens:read"],'
    b'"expiresAt":null,"isActive":true,"createdAt":"2026-01-02T03:04:05.678Z",' + BARE_LINEAGE + b"}"
)

SHAPES: dict[str, tuple[BaseModel, bytes]] = {
    "get/update, every field": (ApiToken.from_record(FULL), TOKEN_FULL),
    "get/update, optional fields null": (ApiToken.from_record(BARE), TOKEN_BARE),
    "create, every field": (CreatedApiToken.from_record(FULL, "at_test_x"), CREATED_FULL_FIELDS + b"}"),
    "create, optional fields null": (CreatedApiToken.from_record(BARE, "at_live_y"), CREATED_BARE),
    "roll": (
        RolledApiToken.from_roll(FULL, "at_test_x", PARENT_SID),
        CREATED_FULL_FIELDS + b',"rolledFrom":"tok_ZYXWVUTSRQPONMLKJIHGFE"}',
    ),
    "list": (
        ApiTokenList.from_page(TokenPage((FULL, BARE), has_more=True)),
        b'{"hasMore":true,"records":[' + TOKEN_FULL + b"," + TOKEN_BARE + b"]}",
    ),
    "list, empty": (ApiTokenList.from_page(TokenPage((), has_more=False)), b'{"hasMore":false,"records":[]}'),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_response_body_is_byte_identical(shape: str) -> None:
    model, expected = SHAPES[shape]

    # What apitokens.wire.http.json_response sends (importing it here would set up the handlers'
    # logger and metrics before the tests' environment).
    assert model.model_dump_json(by_alias=True).encode() == expected
