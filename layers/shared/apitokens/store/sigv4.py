"""AWS Signature Version 4 on the standard library, for the authorizer's DynamoDB client
(store/dynamodb_http.py): the canonical request, the string to sign and the Authorization
header, as AWS specifies them and botocore's SigV4Auth computes them.

Hand-written rather than botocore's signer because importing botocore's signer alone costs a
cold start several times the interpreter's (docs/performance.md, "The authorizer's own
DynamoDB client"): the goal is the authorizer's cold start at most 0.40 of boto3's. Proved
against AWS's Signature Version 4 test suite (tests/data/aws4_testsuite) and, on random
requests, against botocore's SigV4Auth (tests/unit/test_sigv4.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote, unquote

from apitokens.settings import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers never signed, as botocore leaves them out: hop-by-hop headers a proxy or the HTTP
# layer may change, tracing headers an agent may add, and the signature itself.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


def _normalized_path(path: str) -> str:
    """The path with `.` and `..` segments and empty segments removed (RFC 3986's dot-segment
    removal, as every service but S3 signs it); a trailing slash stays."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def canonical_uri(path: str) -> str:
    return quote(_normalized_path(path or "/"), safe="/~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Every name=value pair URI-encoded (the pairs are given decoded), sorted by name, then value."""
    encoded = sorted((quote(name, safe="-_.~"), quote(value, safe="-_.~")) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The decoded pairs of a raw query string (a name without `=` has the empty value)."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(canonical headers block, signed header names): names lower-cased and sorted, each value
    trimmed with its inner runs of whitespace collapsed, a repeated name's values comma-joined in
    the order given."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered not in _UNSIGNED_HEADERS:
            values.setdefault(lowered, []).append(" ".join(value.split()))
    names = sorted(values)
    block = "".join(f"{name}:{','.join(values[name])}\n" for name in names)
    return block, ";".join(names)


def canonical_request(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]], payload_hash: str
) -> tuple[str, str]:
    """(canonical request, signed header names)."""
    block, signed = canonical_headers(headers)
    request = "\n".join((method, canonical_uri(path), canonical_query(query), block, signed, payload_hash))
    return request, signed


def credential_scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, request: str) -> str:
    return "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret_key}".encode(), date)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


class Signer:
    """Signs requests of one service in one region; the day's signing key is kept (it changes
    only with the date)."""

    def __init__(self, credentials: Credentials, region: str, service: str) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        self._key_date = ""
        self._key = b""

    def _key_for(self, date: str) -> bytes:
        if date != self._key_date:
            self._key = signing_key(self.credentials.secret_key, date, self.region, self.service)
            self._key_date = date
        return self._key

    def authorization(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        payload: bytes,
        *,
        amz_date: str,
    ) -> str:
        """The Authorization header of a request whose headers already carry Host, X-Amz-Date
        (`amz_date`, YYYYMMDDTHHMMSSZ) and, with a session token, X-Amz-Security-Token."""
        request, signed = canonical_request(method, path, query, headers, hashlib.sha256(payload).hexdigest())
        date = amz_date[:8]
        scope = credential_scope(date, self.region, self.service)
        signature = hmac.new(
            self._key_for(date), string_to_sign(amz_date, scope, request).encode(), hashlib.sha256
        ).hexdigest()
        credential = f"{self.credentials.access_key}/{scope}"
        return f"{ALGORITHM} Credential={credential}, SignedHeaders={signed}, Signature={signature}"
