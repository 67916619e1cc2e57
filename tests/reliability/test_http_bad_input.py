"""Bad input over real HTTP: every route of the local server (the real gateway rules, authorizer
and handlers) against malformed, mistyped, oversized, invisible, injected and unauthenticated
requests. Each must get its documented 4xx in the error envelope (docs/api.md, "Errors"), never a
5xx or an internal detail, and must leave the table exactly as it was.

Through the gateway, a malformed or foreign accountSid is the IAM policy's 403 (the authorizer
lists only the principal's own accounts); a malformed apiTokenSid reaches the handler, whose 400
names it. The table lives in a moto server of this process, so each case scans it before and
after its request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apitokens.domain import tokens
from apitokens.domain.scopes import ALL_SCOPES
from apitokens.settings import Settings
from apitokens.store import keys
from apitokens.wire.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH
from apitokens_dev import devkeys, template
from tests.harness import (
    ACCOUNT,
    OTHER_ACCOUNT,
    HttpStack,
    assert_error,
    changes,
    consistency_problems,
    http_stack,
    leak_problems,
)

pytestmark = pytest.mark.e2e

KIB = 1024
LIST = ("GET", "/accounts/{account}/apiTokens")
CREATE = ("POST", "/accounts/{account}/apiTokens")
GET = ("GET", "/accounts/{account}/apiTokens/{sid}")
UPDATE = ("PUT", "/accounts/{account}/apiTokens/{sid}")
DELETE = ("DELETE", "/accounts/{account}/apiTokens/{sid}")
ROLL = ("POST", "/accounts/{account}/apiTokens/{sid}/roll")
USAGE = ("GET", "/accounts/{account}/apiTokens/{sid}/usage")
AUDIT_EVENTS = ("GET", "/accounts/{account}/auditEvents")
ROUTES = {
    "list": LIST,
    "create": CREATE,
    "get": GET,
    "update": UPDATE,
    "delete": DELETE,
    "roll": ROLL,
    "usage": USAGE,
    "audit-events": AUDIT_EVENTS,
}
WITH_BODY = {"create": CREATE, "update": UPDATE}
ONE_TOKEN = {"get": GET, "update": UPDATE, "delete": DELETE, "usage": USAGE}
VALID_BODY = {
    "create": {"name": "bad input", "scopes": ["tokens:read"]},
    "update": {"name": "renamed", "isActive": True},
}
UNKNOWN_SID = "tok_abc123def456ghi789jkl012"  # well-formed, never created
SECRET_KEY = "SECRET#" + "0" * 64


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    route: str
    status: int
    code: str
    body: bytes | None = None
    content_type: str | None = "application/json"
    credential: str = "jwt"
    headers: tuple[tuple[str, str], ...] = ()
    # Path segments and query, raw (already percent-encoded): None keeps the route's own.
    account: str = "{account}"
    sid: str = "{sid}"
    query: str = ""
    method: str | None = None  # another method than the route's

    @property
    def id(self) -> str:
        return f"{self.category}:{self.route}:{self.name}"

    def target(self, values: dict[str, str]) -> str:
        _, path = ROUTES[self.route]
        path = path.replace("{account}", self.account).replace("{sid}", self.sid)
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        query = self.query
        for name, value in values.items():
            query = query.replace("{" + name + "}", quote(value, safe=""))
        return "/v1" + path + (f"?{query}" if query else "")


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _with_body(route: str, body: bytes | None = None, **options: Any) -> dict[str, Any]:
    """The options of a case on `route`: its valid body unless another is given."""
    if route in WITH_BODY:
        options.setdefault("body", body if body is not None else _json(VALID_BODY[route]))
    return options


def _cases() -> Iterator[Case]:
    yield from _malformed_json()
    yield from _wrong_types()
    yield from _unknown_fields()
    yield from _empty_strings()
    yield from _huge()
    yield from _controls()
    yield from _path_ids()
    yield from _limits()
    yield from _cursors()
    yield from _authorization()
    yield from _content_types()
    yield from _idempotency_keys()
    yield from _methods()


def _malformed_json() -> Iterator[Case]:
    bodies = {
        "unclosed": b'{"name": "x"',
        "trailing-comma": b'{"name": "x", "scopes": ["tokens:read"],}',
        "single-quotes": b"{'name': 'x', 'scopes': ['tokens:read']}",
        "missing-comma": b'{"name": "x" "scopes": ["tokens:read"]}',
        "bare-word": b"nul",
        "nan": b'{"name": NaN, "scopes": ["tokens:read"]}',
        "bad-escape": b'{"name": "\\u12", "scopes": ["tokens:read"]}',
        "invalid-utf8": b'{"name": "\xff\xfe", "scopes": ["tokens:read"]}',
        "raw-control-in-string": b'{"name": "a\x01b", "scopes": ["tokens:read"]}',
        "empty": b"",
        "whitespace": b" \r\n\t ",
        "array": b"[]",
        "string": b'"a token please"',
        "number": b"42",
        "null": b"null",
        "true": b"true",
        "nested-arrays": b"[" * 5000 + b"]" * 5000,
        "nested-objects": b'{"name": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}",
        "two-documents": b'{"name": "x", "scopes": ["tokens:read"]} {"name": "y"}',
    }
    for route in WITH_BODY:
        for name, body in bodies.items():
            yield Case("malformed-json", name, route, 400, "invalid_request", body=body)


def _wrong_types() -> Iterator[Case]:
    create = {"name": "typed", "scopes": ["tokens:read"]}
    update = {"name": "typed", "isActive": True}
    bodies: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "create": [
            ("name-number", {**create, "name": 123}),
            ("name-null", {**create, "name": None}),
            ("name-list", {**create, "name": ["x"]}),
            ("name-bool", {**create, "name": True}),
            ("name-object", {**create, "name": {"$ne": None}}),
            ("scopes-string", {**create, "scopes": "tokens:read"}),
            ("scopes-numbers", {**create, "scopes": [1]}),
            ("scopes-null", {**create, "scopes": None}),
            ("scopes-object", {**create, "scopes": {"0": "tokens:read"}}),
            ("scopes-nested", {**create, "scopes": [["tokens:read"]]}),
            ("scopes-unknown", {**create, "scopes": ["tokens:admin"]}),
            ("scopes-injection", {**create, "scopes": ["' OR '1'='1"]}),
            ("scopes-nosql", {**create, "scopes": [{"$ne": None}]}),
            ("scopes-repeated", {**create, "scopes": ["tokens:read", "tokens:read"]}),
            ("scopes-wrong-case", {**create, "scopes": ["TOKENS:READ"]}),
            ("expires-number", {**create, "expiresAt": 1924991999}),
            ("expires-bool", {**create, "expiresAt": True}),
            ("expires-object", {**create, "expiresAt": {"$gt": ""}}),
            ("expires-words", {**create, "expiresAt": "tomorrow"}),
            ("expires-no-zone", {**create, "expiresAt": "2030-12-31T23:59:59"}),
            ("expires-impossible-date", {**create, "expiresAt": "2030-02-30T00:00:00Z"}),
            ("expires-past", {**create, "expiresAt": "2020-01-01T00:00:00.000Z"}),
            ("expires-year-0", {**create, "expiresAt": "0000-01-01T00:00:00Z"}),
            ("expires-year-10000", {**create, "expiresAt": "10000-01-01T00:00:00Z"}),
            ("description-number", {**create, "description": 5}),
            ("description-list", {**create, "description": ["x"]}),
            ("missing-everything", {}),
            ("missing-name", {"scopes": ["tokens:read"]}),
            ("missing-scopes", {"name": "typed"}),
        ],
        "update": [
            ("name-number", {**update, "name": 5}),
            ("name-null", {**update, "name": None}),
            ("name-object", {**update, "name": {"$ne": None}}),
            ("active-string", {**update, "isActive": "true"}),
            ("active-number", {**update, "isActive": 1}),
            ("active-null", {**update, "isActive": None}),
            ("active-object", {**update, "isActive": {"$ne": None}}),
            ("description-number", {**update, "description": 5}),
            ("description-object", {**update, "description": {"$ne": None}}),
            ("missing-everything", {}),
            ("missing-active", {"name": "typed"}),
            ("missing-name", {"isActive": True}),
        ],
    }
    for route, named in bodies.items():
        for name, body in named:
            yield Case("wrong-types", name, route, 400, "invalid_request", body=_json(body))


def _unknown_fields() -> Iterator[Case]:
    create = {"name": "extra", "scopes": ["tokens:read"]}
    update = {"name": "extra", "isActive": True}
    bodies: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "create": [
            ("token", {**create, "token": "at_test_" + "a" * 36}),
            ("sid", {**create, "sid": UNKNOWN_SID}),
            ("accountSid", {**create, "accountSid": OTHER_ACCOUNT}),
            ("isActive", {**create, "isActive": False}),
            ("createdAt", {**create, "createdAt": "2020-01-01T00:00:00.000Z"}),
            ("lastUsedAt", {**create, "lastUsedAt": None}),
            ("secretDigest", {**create, "secretDigest": "0" * 64}),
            ("snake-case", {**create, "expires_at": None}),
            ("other-case", {**create, "Name": "x"}),
            ("admin", {**create, "admin": True}),
            ("dynamodb-key", {**create, "PK": "ACCOUNT#" + OTHER_ACCOUNT}),
        ],
        "update": [
            ("scopes", {**update, "scopes": sorted(ALL_SCOPES)}),
            ("token", {**update, "token": "at_test_" + "a" * 36}),
            ("sid", {**update, "sid": UNKNOWN_SID}),
            ("accountSid", {**update, "accountSid": OTHER_ACCOUNT}),
            ("expiresAt", {**update, "expiresAt": None}),
            ("lastUsedAt", {**update, "lastUsedAt": None}),
            ("snake-case", {"name": "extra", "is_active": True}),
            ("admin", {**update, "admin": True}),
            ("dynamodb-key", {**update, "SK": "META"}),
        ],
    }
    for route, named in bodies.items():
        for name, body in named:
            yield Case("unknown-fields", name, route, 400, "invalid_request", body=_json(body))


def _empty_strings() -> Iterator[Case]:
    bodies: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "create": [
            ("name", {"name": "", "scopes": ["tokens:read"]}),
            ("name-blank", {"name": "   ", "scopes": ["tokens:read"]}),
            ("name-newlines", {"name": "\n\n", "scopes": ["tokens:read"]}),
            ("scopes-list", {"name": "x", "scopes": []}),
            ("scope", {"name": "x", "scopes": [""]}),
            ("expiresAt", {"name": "x", "scopes": ["tokens:read"], "expiresAt": ""}),
        ],
        "update": [
            ("name", {"name": "", "isActive": True}),
            ("name-blank", {"name": " \t ", "isActive": True}),
        ],
    }
    for route, named in bodies.items():
        for name, body in named:
            yield Case("empty-strings", name, route, 400, "invalid_request", body=_json(body))


def _huge() -> Iterator[Case]:
    big_name = _json({"name": "n" * (17 * KIB), "scopes": ["tokens:read"]})
    for route in WITH_BODY:
        yield Case("huge", "json-over-16KiB", route, 413, "payload_too_large", body=big_name)
        yield Case("huge", "bytes-16KiB-plus-1", route, 413, "payload_too_large", body=b"x" * (16 * KIB + 1))
        yield Case("huge", "over-1MiB", route, 413, "payload_too_large", body=b"{" * (KIB * KIB + 1))
    yield Case(
        "huge",
        "name-101",
        "create",
        400,
        "invalid_request",
        body=_json({"name": "n" * (NAME_MAX_LENGTH + 1), "scopes": ["tokens:read"]}),
    )
    yield Case(
        "huge",
        "name-101",
        "update",
        400,
        "invalid_request",
        body=_json({"name": "n" * (NAME_MAX_LENGTH + 1), "isActive": True}),
    )
    long_description = "d" * (DESCRIPTION_MAX_LENGTH + 1)
    yield Case(
        "huge",
        "description-501",
        "create",
        400,
        "invalid_request",
        body=_json({"name": "x", "scopes": ["tokens:read"], "description": long_description}),
    )
    yield Case(
        "huge",
        "description-501",
        "update",
        400,
        "invalid_request",
        body=_json({"name": "x", "isActive": True, "description": long_description}),
    )
    twenty = [*sorted(ALL_SCOPES), "tokens:read"]
    yield Case("huge", "scopes-20", "create", 400, "invalid_request", body=_json({"name": "x", "scopes": twenty}))
    for route in ONE_TOKEN:
        yield Case("huge", "sid-5000", route, 400, "invalid_request", **_with_body(route, sid="tok_" + "a" * 5000))
    for route in ROUTES:
        yield Case("huge", "account-5000", route, 403, "forbidden", **_with_body(route, account="acc_" + "a" * 5000))


# Refused in names: C0 and C1 controls, and the invisible characters that make one name read as another.
_NAME_CONTROLS = {
    "nul": "\x00",
    "bell": "\x07",
    "backspace": "\x08",
    "tab": "\t",
    "newline": "\n",
    "carriage-return": "\r",
    "escape": "\x1b",
    "delete": "\x7f",
    "c1-next-line": "\x85",
    "c1-csi": "\x9b",
    "zero-width-space": "\u200b",
    "zero-width-joiner": "\u200d",
    "left-to-right-mark": "\u200e",
    "right-to-left-override": "\u202e",
    "first-strong-isolate": "\u2068",
    "word-joiner": "\u2060",
    "bom": "\ufeff",
    "arabic-letter-mark": "\u061c",
}
# Descriptions may hold tab and newlines, nothing else invisible.
_DESCRIPTION_CONTROLS = {name: char for name, char in _NAME_CONTROLS.items() if char not in "\t\n\r"}


def _controls() -> Iterator[Case]:
    for name, char in _NAME_CONTROLS.items():
        yield Case(
            "unicode-controls",
            f"name-{name}",
            "create",
            400,
            "invalid_request",
            body=_json({"name": f"ok{char}ok", "scopes": ["tokens:read"]}),
        )
        yield Case(
            "unicode-controls",
            f"name-{name}",
            "update",
            400,
            "invalid_request",
            body=_json({"name": f"ok{char}ok", "isActive": True}),
        )
    for name, char in _DESCRIPTION_CONTROLS.items():
        yield Case(
            "unicode-controls",
            f"description-{name}",
            "create",
            400,
            "invalid_request",
            body=_json({"name": "x", "scopes": ["tokens:read"], "description": f"a{char}b"}),
        )
        yield Case(
            "unicode-controls",
            f"description-{name}",
            "update",
            400,
            "invalid_request",
            body=_json({"name": "x", "isActive": True, "description": f"a{char}b"}),
        )
    # JSON escapes of UTF-16 surrogates that pair with nothing: no character at all.
    for route, body in (
        ("create", '{"name": "a\\ud800b", "scopes": ["tokens:read"]}'),
        ("update", '{"name": "a\\udc00b", "isActive": true}'),
    ):
        yield Case("unicode-controls", "lone-surrogate", route, 400, "invalid_request", body=body.encode())
    for route in ONE_TOKEN:
        yield Case(
            "unicode-controls",
            "sid-non-ascii",
            route,
            400,
            "invalid_request",
            **_with_body(route, sid=quote("tok_abc123dëf456ghi789jkl012")),
        )
        yield Case(
            "unicode-controls",
            "sid-fullwidth-digits",
            route,
            400,
            "invalid_request",
            **_with_body(route, sid=quote("tok_abc\uff11\uff12\uff13def456ghi789jkl")),
        )
        yield Case(
            "unicode-controls",
            "sid-control",
            route,
            400,
            "invalid_request",
            **_with_body(route, sid="tok_abc123def456ghi789jkl%1B"),
        )
    for route in ROUTES:
        yield Case(
            "unicode-controls",
            "account-non-ascii",
            route,
            403,
            "forbidden",
            **_with_body(route, account=quote("acc_abc123dëf456ghi789jkl012")),
        )


_INJECTIONS = {
    "sql": quote("' OR '1'='1", safe=""),
    "sql-comment": quote("tok_abc123def456ghi789jkl012'--", safe=""),
    "nosql": quote('{"$ne":null}', safe=""),
    "nosql-gt": quote('{"$gt":""}', safe=""),
    "token-key": quote("TOKEN#" + UNKNOWN_SID, safe=""),
    "secret-key": quote(SECRET_KEY, safe=""),
    "meta-key": "META",
    "begins-with": quote("TOKEN#", safe=""),
    "wildcard": "%2A",
}


# A sid that decodes to `/` or an IAM wildcard makes a method ARN that is no single request to
# the route: the authorizer denies it (apitokens/auth/policy.py) before any handler runs.
AUTHORIZER_REFUSED_SIDS = frozenset({"slash", "dot-dot-slash", "wildcard"})


def _path_ids() -> Iterator[Case]:
    token_sids = {
        "hash": "tok_%23x",
        "only-hash": "%23",
        "slash": "tok_abc123%2Fdef456ghi789jkl012",
        "dot-dot-slash": "..%2F..%2F" + UNKNOWN_SID,
        "nul": UNKNOWN_SID + "%00",
        "only-nul": "%00",
        "dot-dot": "..",
        "dot-dot-encoded": "%2E%2E",
        "dot": ".",
        "space": UNKNOWN_SID + "%20",
        "short": "tok_abc123",
        "long": "tok_" + "a" * 25,
        "upper-prefix": "TOK_abc123def456ghi789jkl012",
        "no-prefix": "abc123def456ghi789jkl012",
        "account-sid": ACCOUNT,
        **_INJECTIONS,
    }
    for route in ONE_TOKEN:
        for name, sid in token_sids.items():
            if name in AUTHORIZER_REFUSED_SIDS:
                yield Case("path-ids", f"sid-{name}", route, 403, "forbidden", **_with_body(route, sid=sid))
            else:
                yield Case("path-ids", f"sid-{name}", route, 400, "invalid_request", **_with_body(route, sid=sid))
        yield Case("path-ids", "sid-unknown", route, 404, "not_found", **_with_body(route, sid=UNKNOWN_SID))
        yield Case("path-ids", "sid-of-other-account", route, 404, "not_found", **_with_body(route, sid="{other_sid}"))
    account_sids = {
        "hash": "acc_%23x",
        "key": quote("ACCOUNT#" + ACCOUNT, safe=""),
        "slash": ACCOUNT + "%2F..",
        "nul": ACCOUNT + "%00",
        "dot-dot": "..",
        "space": ACCOUNT + "%20",
        "upper-case": ACCOUNT.upper(),
        "token-sid": UNKNOWN_SID,
        "foreign": OTHER_ACCOUNT,
        **_INJECTIONS,
    }
    for route in ROUTES:
        for name, account in account_sids.items():
            yield Case("path-ids", f"account-{name}", route, 403, "forbidden", **_with_body(route, account=account))


def _limits() -> Iterator[Case]:
    limits = {
        "zero": "limit=0",
        "negative": "limit=-1",
        "101": "limit=101",
        "exponent": "limit=1e3",
        "twenty-digits": "limit=99999999999999999999",
        "empty": "limit=",
        "word": "limit=abc",
        "fraction": "limit=1.5",
        "hex": "limit=0x10",
        "nul": "limit=10%00",
        "sql": "limit=" + quote("1 OR 1=1"),
        "nosql": "limit[$gt]=0&limit=" + quote('{"$gt":0}'),
        "repeated-last-bad": "limit=5&limit=abc",
        "repeated-both-bad": "limit=-1&limit=0",
        "repeated-last-too-big": "limit=50&limit=101",
    }
    for name, query in limits.items():
        yield Case("limit", name, "list", 400, "invalid_request", query=query)


def _cursors() -> Iterator[Case]:
    cursors = {
        "garbage": "startingAfter=" + quote("!!!"),
        "10KB": "startingAfter=tok_" + "a" * (10 * 1000),
        "account-sid": "startingAfter=" + OTHER_ACCOUNT,
        "empty": "startingAfter=",
        "nul": f"startingAfter={UNKNOWN_SID}%00",
        "token-value": "startingAfter={token}",
        "repeated-last-bad": f"startingAfter={UNKNOWN_SID}&startingAfter=nope",
        **{name: f"startingAfter={value}" for name, value in _INJECTIONS.items()},
    }
    for name, query in cursors.items():
        yield Case("startingAfter", name, "list", 400, "invalid_request", query=query)


# Refused credentials: 401, one body for all. (Each name is a key of the `credentials` fixture.)
UNAUTHENTICATED = (
    "none",
    "bearer-only",
    "bearer-space",
    "basic",
    "other-scheme",
    "no-scheme",
    "two-credentials",
    "two-headers",
    "token-one-char-changed",
    "token-unknown",
    "token-truncated",
    "token-live-on-test-stage",
    "token-deleted",
    "token-deactivated",
    "jwt-bad-signature",
    "jwt-other-key",
    "jwt-alg-none",
    "jwt-hs256",
    "jwt-expired",
    "jwt-not-yet-valid",
    "jwt-wrong-audience",
    "jwt-wrong-issuer",
    "jwt-no-subject",
    "jwt-garbled",
    "credential-over-8KiB",
    "credential-non-ascii",
)
# Valid credentials without this account or this route: the IAM policy's 403.
FORBIDDEN = ("jwt-other-account", "jwt-other-scope", "token-other-scope")


def _authorization() -> Iterator[Case]:
    for route in ROUTES:
        for credential in UNAUTHENTICATED:
            yield Case(
                "authorization", credential, route, 401, "unauthorized", **_with_body(route, credential=credential)
            )
        for credential in FORBIDDEN:
            yield Case("authorization", credential, route, 403, "forbidden", **_with_body(route, credential=credential))


def _content_types() -> Iterator[Case]:
    content_types = {
        "none": None,
        "empty": "",
        "text": "text/plain",
        "form": "application/x-www-form-urlencoded",
        "multipart": "multipart/form-data; boundary=x",
        "xml": "application/xml",
        "json-patch": "application/json-patch+json",
        "jsonp": "application/javascript",
        "json-suffix": "application/jsonx",
        "bare-json": "json",
    }
    for route in WITH_BODY:
        for name, content_type in content_types.items():
            yield Case(
                "content-type",
                name,
                route,
                415,
                "unsupported_media_type",
                **_with_body(route, content_type=content_type),
            )


def _idempotency_keys() -> Iterator[Case]:
    keys = {"empty": "", "256-chars": "k" * 256, "space": "a b", "non-ascii": "clé", "tab": "a\tb"}
    for name, key in keys.items():
        yield Case(
            "idempotency-key",
            name,
            "create",
            400,
            "invalid_request",
            **_with_body("create", headers=(("Idempotency-Key", key),)),
        )


def _methods() -> Iterator[Case]:
    # Methods no route of the path has: the template's catch-all answer, 405 with Allow.
    for route, method in (("list", "PATCH"), ("list", "DELETE"), ("list", "PUT"), ("get", "PATCH"), ("get", "POST")):
        yield Case("methods", method, route, 405, "method_not_allowed", method=method)


CASES = list(_cases())
CASE_IDS = [case.id for case in CASES]


# -- the server and its credentials --------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpStack]:
    with http_stack(tmp_path_factory, "bad-input") as stack:
        yield stack


@dataclass
class World:
    """What the cases refer to: path values and every credential, as Authorization headers."""

    values: dict[str, str]
    credentials: dict[str, list[tuple[str, str]]]
    # A valid API token is a use of that token even where the route is refused: the authorizer
    # may stamp lastUsedAt on its two items (at most once a minute), and nothing else.
    bookkeeping: dict[str, set[str]]


def _mangle(token: str) -> str:
    """One secret character changed, the checksum left as it was."""
    position = len("at_test_") + 5
    replacement = "a" if token[position] != "a" else "b"
    return token[:position] + replacement + token[position + 1 :]


def _reforged(prefix: str) -> str:
    """A well-formed value (the checksum holds) that was never issued."""
    return tokens.generate(prefix)


@pytest.fixture(scope="module")
def world(api: HttpStack) -> World:
    server = api.server
    jwt = server.jwt("--account", ACCOUNT)
    other_jwt = server.jwt("--account", OTHER_ACCOUNT)
    narrow_jwt = server.jwt("--account", ACCOUNT, "--scope", "metrics:read")
    target = server.create_token(jwt, name="target", scopes=["tokens:read", "tokens:write", "tokens:delete"])
    other = server.create_token(other_jwt, OTHER_ACCOUNT, name="other account")
    narrow = server.create_token(jwt, name="metrics only", scopes=["metrics:read"])
    deleted = server.create_token(jwt, name="deleted")
    assert server.request("DELETE", f"/accounts/{ACCOUNT}/apiTokens/{deleted['sid']}", token=jwt).status == 200
    deactivated = server.create_token(jwt, name="deactivated")
    reply = server.request(
        "PUT", f"/accounts/{ACCOUNT}/apiTokens/{deactivated['sid']}", token=jwt, body={"name": "off", "isActive": False}
    )
    assert reply.status == 200, reply.text

    key = devkeys.load_or_create_key(server.workdir / devkeys.STATE_DIR)
    kid = devkeys.public_jwk(key)["kid"]
    now = int(time.time())
    claims = {
        "iss": devkeys.ISSUER,
        "aud": devkeys.AUDIENCE,
        "sub": "user_forged",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        devkeys.ACCOUNTS_CLAIM: [ACCOUNT],
    }

    def signed(signing_key: Any = key, algorithm: str = "ES256", **changes: Any) -> str:
        payload = {name: value for name, value in {**claims, **changes}.items() if value is not None}
        value = pyjwt.encode(payload, signing_key, algorithm=algorithm, headers={"kid": kid})
        server.secrets.append(value)
        return value

    header, payload, signature = jwt.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    unsigned = pyjwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": kid}).encode()).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs256 = _hs256(public_pem, {**claims}, kid)
    server.secrets.append(hs256)
    bearer = {
        "bearer-only": "Bearer",
        "bearer-space": "Bearer ",
        "basic": "Basic dXNlcjpwYXNzd29yZA==",
        "other-scheme": f"Token {jwt}",
        "no-scheme": jwt,
        "two-credentials": f"Bearer {jwt} {jwt}",
        "token-one-char-changed": f"Bearer {_mangle(target['token'])}",
        "token-unknown": f"Bearer {_reforged('at_test_')}",
        "token-truncated": f"Bearer {target['token'][:-1]}",
        "token-live-on-test-stage": f"Bearer {_reforged('at_live_')}",
        "token-deleted": f"Bearer {deleted['token']}",
        "token-deactivated": f"Bearer {deactivated['token']}",
        "jwt-bad-signature": f"Bearer {header}.{payload}.{flipped}",
        "jwt-other-key": f"Bearer {signed(ec.generate_private_key(ec.SECP256R1()))}",
        "jwt-alg-none": f"Bearer {unsigned}.{payload}.",
        "jwt-hs256": f"Bearer {hs256}",
        "jwt-expired": f"Bearer {signed(iat=now - 7200, nbf=now - 7200, exp=now - 3600)}",
        "jwt-not-yet-valid": f"Bearer {signed(nbf=now + 3600, exp=now + 7200)}",
        "jwt-wrong-audience": f"Bearer {signed(aud='someone-else')}",
        "jwt-wrong-issuer": f"Bearer {signed(iss='https://evil.example/')}",
        "jwt-no-subject": f"Bearer {signed(sub=None)}",
        "jwt-garbled": "Bearer eyJ.eyJ.x",
        "credential-over-8KiB": "Bearer " + "a" * (8 * KIB + 1),
        "credential-non-ascii": "Bearer jéton",
        "jwt-other-account": f"Bearer {other_jwt}",
        "jwt-other-scope": f"Bearer {narrow_jwt}",
        "token-other-scope": f"Bearer {narrow['token']}",
    }
    credentials: dict[str, list[tuple[str, str]]] = {name: [("Authorization", value)] for name, value in bearer.items()}
    credentials["jwt"] = [("Authorization", f"Bearer {jwt}")]
    credentials["none"] = []
    credentials["two-headers"] = [("Authorization", f"Bearer {jwt}"), ("Authorization", f"Bearer {jwt}")]
    assert set(UNAUTHENTICATED + FORBIDDEN) <= set(credentials)
    values = {"account": ACCOUNT, "sid": target["sid"], "other_sid": other["sid"], "token": target["token"]}
    # The touch writes the token item and every copy of its lookup item.
    narrow_keys = [
        (f"ACCOUNT#{ACCOUNT}", f"TOKEN#{narrow['sid']}"),
        *(
            (keys.secret_copy_pk(tokens.digest(narrow["token"]), index), "SECRET")
            for index in range(Settings(table_name="tokens").lookup_copies)
        ),
    ]
    # Its first use also records the client: recentClients, and a token.used_from_new_ip event.
    bookkeeping = {
        "token-other-scope": {
            f"changed {key}: {names}" for key in narrow_keys for names in ("lastUsedAt", "lastUsedAt, recentClients")
        }
    }
    return World(values, credentials, bookkeeping)


def _hs256(public_pem: bytes, claims: dict[str, Any], kid: str) -> str:
    """The RS/HS confusion: HMAC keyed with the public key. PyJWT refuses to sign with a PEM as an
    HMAC secret, so the signature is made by hand."""

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        encode(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
        + "."
        + encode(json.dumps(claims).encode())
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{encode(signature)}"


# -- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_is_a_documented_4xx_and_changes_nothing(api: HttpStack, world: World, case: Case) -> None:
    method = case.method or ROUTES[case.route][0]
    headers = [*world.credentials[case.credential], *case.headers]
    if case.body is not None and case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    before = api.items()
    reply = api.server.send(method, case.target(world.values), headers, case.body)
    after = api.items()
    assert reply.status < 500, reply.text
    assert_error(reply, case.status, case.code)
    allowed = world.bookkeeping.get(case.credential, set())
    new_ip_event = f"added ('ACCOUNT#{ACCOUNT}', 'EVENT#"
    assert [
        change
        for change in changes(before, after)
        if change not in allowed and not (allowed and change.startswith(new_ip_event))
    ] == []
    if case.status == 401:
        assert reply.headers.get("www-authenticate") == "Bearer", reply.headers


def test_the_matrix_covers_every_route_of_the_template() -> None:
    """Every route-wide category reaches every route template.yaml serves, so a new route
    cannot go untested here."""
    # The routes without the authorizer (leak reports) have their own bad-input tests
    # (tests/integration/test_leak_reports.py, tests/e2e/test_roll_and_leaks_http.py).
    served = {(route.method, route.path) for route in template.api_routes() if route.authorized}
    covered = {
        (method, path.replace("{account}", "{accountSid}").replace("{sid}", "{apiTokenSid}"))
        for method, path in ROUTES.values()
    }
    assert covered == served
    by_category: dict[str, set[str]] = {}
    for case in CASES:
        by_category.setdefault(case.category, set()).add(case.route)
    assert by_category["authorization"] == set(ROUTES)
    assert by_category["malformed-json"] == by_category["content-type"] == set(WITH_BODY)
    assert {"get", "update", "delete"} <= by_category["path-ids"]
    assert len(set(CASE_IDS)) == len(CASE_IDS)


def test_after_the_matrix_the_table_is_consistent_and_holds_no_secret(api: HttpStack, world: World) -> None:
    """Runs last in this module: the tokens the fixtures made are all there, consistent, and
    neither the table nor the server's logs hold a secret."""
    items = api.items()
    assert consistency_problems(items) == []
    assert leak_problems(api.server, items) == []
