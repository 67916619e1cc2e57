"""SigV4 verification of requests to AWS_IAM routes, as API Gateway checks them (service
execute-api), against the development credentials of `apitokens dev-credentials`.

The signature is recomputed with botocore's own signer (SigV4Auth) over the request as received:
the signed headers it names, its path and query, and the SHA-256 of the body that arrived (so a
signature over another body does not verify), then compared in constant time. What API Gateway
would answer instead of calling the function is a gateway response type: MISSING_AUTHENTICATION_TOKEN
for no Authorization header, INVALID_SIGNATURE for anything else that is not a valid signature of
these credentials (another scheme such as Bearer, an unknown key, another region or service, a
clock more than five minutes off, a mismatch).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "execute-api"
# API Gateway refuses a signature whose X-Amz-Date is further than this from its clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>[0-9]{8})/(?P<region>[a-z0-9-]{1,32})"
    r"/(?P<service>[a-z0-9-]{1,32})/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*)"
    r", ?Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureRefused(Exception):
    """The request is not signed by the credentials: `response_type` is API Gateway's answer."""

    def __init__(self, response_type: str) -> None:
        super().__init__(response_type)
        self.response_type = response_type


@dataclass(frozen=True)
class Caller:
    """Who signed: what API Gateway puts in requestContext.identity for an AWS_IAM route."""

    access_key: str


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's signer, signing exactly the headers the client named (botocore would choose
    its own set) and hashing the body as received."""

    def __init__(self, credentials: Credentials, region: str, signed: HTTPHeaders) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:  # noqa: ARG002 - botocore's signature
        return self._signed


def _single(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name]
    if len(values) > 1:
        raise SignatureRefused("INVALID_SIGNATURE")
    return values[0] if values else None


def verify(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    credentials: tuple[str, str] | None,
    region: str,
    now: datetime | None = None,
) -> Caller:
    """The caller of a request signed with `credentials` (access key id, secret) for `region`;
    SignatureRefused otherwise (always, when there are no credentials)."""
    authorization = _single(headers, "authorization")
    if authorization is None:
        raise SignatureRefused("MISSING_AUTHENTICATION_TOKEN")
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None or credentials is None:
        raise SignatureRefused("INVALID_SIGNATURE")
    access_key, secret = credentials
    amz_date = _single(headers, "x-amz-date") or ""
    signed_names = match["headers"].split(";")
    if (
        not hmac.compare_digest(match["key"], access_key)
        or (match["region"], match["service"]) != (region, SERVICE)
        or not amz_date.startswith(match["date"])
        or not {"host", "x-amz-date"} <= set(signed_names)
        or not _is_recent(amz_date, now or datetime.now(UTC))
    ):
        raise SignatureRefused("INVALID_SIGNATURE")
    body_hash = _single(headers, "x-amz-content-sha256")
    if body_hash is not None and body_hash != hashlib.sha256(body).hexdigest():
        raise SignatureRefused("INVALID_SIGNATURE")  # the signature covers another body
    signed = HTTPHeaders()
    for name, value in headers:
        if name.lower() in signed_names:
            signed.add_header(name.lower(), value)
    if set(signed) != set(signed_names):
        raise SignatureRefused("INVALID_SIGNATURE")  # a signed header is not in the request
    request = AWSRequest(method=method, url=f"http://{signed['host']}{target}", data=body)
    request.context["timestamp"] = amz_date
    signer = _ReceivedRequestSigner(Credentials(access_key, secret), region, signed)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureRefused("INVALID_SIGNATURE")
    return Caller(access_key)


def _is_recent(amz_date: str, now: datetime) -> bool:
    try:
        signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return False
    return abs(now - signed_at) <= MAX_CLOCK_SKEW
