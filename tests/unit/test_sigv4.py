"""The authorizer client's Signature Version 4 signer (apitokens.store.sigv4): AWS's own test
suite (tests/data/aws4_testsuite, copied from botocore's tests with its LICENSE and NOTICE), and
agreement with botocore's SigV4Auth on random requests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from apitokens.settings import Credentials
from apitokens.store import sigv4

SUITE = Path(__file__).resolve().parents[1] / "data" / "aws4_testsuite"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
REGION, SERVICE = "us-east-1", "service"


def vectors() -> list[str]:
    return sorted(str(path.parent.relative_to(SUITE)) for path in SUITE.rglob("*.req"))


def parse_request(raw: str) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    """(method, path, query, headers, body) of a test-suite .req file: a request line, headers
    (a line starting with whitespace continues the previous value), a blank line, the body."""
    head, _, body = raw.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target = rest.rpartition(" ")[0]
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in filter(None, header_lines):
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, path, query, headers, body.encode()


@pytest.mark.parametrize("vector", vectors())
def test_the_signature_version_4_test_suite(vector: str) -> None:
    base = SUITE / vector / Path(vector).name
    expected_creq, expected_sts, expected_authz = (
        base.with_suffix(suffix).read_text(encoding="utf-8") for suffix in (".creq", ".sts", ".authz")
    )
    method, path, query, headers, body = parse_request(base.with_suffix(".req").read_text(encoding="utf-8"))
    token = re.search(r"^x-amz-security-token:(.*)$", expected_creq, re.MULTILINE)
    if token is not None and "X-Amz-Security-Token" not in dict(headers):
        headers.append(("X-Amz-Security-Token", token.group(1)))
    pairs = sigv4.query_pairs(query)
    payload_hash = hashlib.sha256(body).hexdigest()
    creq, _ = sigv4.canonical_request(method, path, pairs, headers, payload_hash)
    assert creq == expected_creq
    scope = sigv4.credential_scope(AMZ_DATE[:8], REGION, SERVICE)
    assert sigv4.string_to_sign(AMZ_DATE, scope, creq) == expected_sts
    signer = sigv4.Signer(Credentials(ACCESS_KEY, SECRET_KEY), REGION, SERVICE)
    assert signer.authorization(method, path, pairs, headers, body, amz_date=AMZ_DATE) == expected_authz


def test_the_suite_is_there() -> None:
    assert len(vectors()) >= 20


# -- botocore agrees, on random requests -------------------------------------------------------

header_names = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
    st.sampled_from(["TE", "Connection", "User-Agent", "Expect", "X-Amzn-Trace-Id", "traceparent", "Content-Type"]),
).filter(lambda name: name.lower() not in {"host", "x-amz-date", "authorization", "x-amz-security-token"})
header_values = st.from_regex(r"[!-~]([ !-~]{0,20}[!-~])?", fullmatch=True)
# A path of any characters a URL may carry (urlsplit drops tabs and line breaks from a URL).
path_segments = st.text(
    st.characters(codec="utf-8", exclude_characters="/?#%\x00\t\r\n", exclude_categories=["Cs"]), max_size=8
)
query_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(header_names, max_size=5, unique_by=str.lower))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        "host": draw(st.sampled_from(["dynamodb.us-east-1.amazonaws.com", "127.0.0.1:8000", "example.com:8443"])),
        "path": "/" + "/".join(draw(st.lists(path_segments.filter(lambda s: s not in (".", "..")), max_size=4))),
        "query": draw(st.dictionaries(query_text, query_text, max_size=3)),
        "headers": [(name, draw(header_values)) for name in names],
        "body": draw(st.binary(max_size=200)),
        "region": draw(st.sampled_from(["us-east-1", "eu-west-2", "cn-north-1", "us-gov-west-1"])),
        "service": draw(st.sampled_from(["dynamodb", "service"])),
        "token": draw(st.one_of(st.none(), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1))),
        "secret": draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)),
    }


def botocore_signature(request: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """botocore's Authorization header of the request, and the headers it signed (X-Amz-Date,
    its now, among them)."""
    aws_request = AWSRequest(
        method=request["method"],
        url=f"https://{request['host']}{request['path']}",
        params=request["query"],
        headers=dict(request["headers"]),
        data=request["body"],
    )
    credentials = BotocoreCredentials(ACCESS_KEY, request["secret"], request["token"])
    SigV4Auth(credentials, request["service"], request["region"]).add_auth(aws_request)
    return aws_request.headers["Authorization"], dict(aws_request.headers.items())


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(requests())
def test_the_signer_agrees_with_botocore(request: dict[str, Any]) -> None:
    expected, signed_headers = botocore_signature(request)
    amz_date = signed_headers["X-Amz-Date"]
    headers = [(name, value) for name, value in signed_headers.items() if name.lower() != "authorization"]
    credentials = Credentials(ACCESS_KEY, request["secret"], request["token"])
    signer = sigv4.Signer(credentials, request["region"], request["service"])
    headers.append(("Host", request["host"].removesuffix(":443")))
    actual = signer.authorization(
        request["method"], request["path"], list(request["query"].items()), headers, request["body"], amz_date=amz_date
    )
    assert actual == expected
