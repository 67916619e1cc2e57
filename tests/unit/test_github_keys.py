"""GitHub's secret-scanning signatures (apitokens.rules.leaks.GithubKeys) without a network: which
reports verify, which are refused before any key fetch, which keys of the published list count,
how often the list is fetched, and how the default fetcher talks to GitHub (these
tests kill leaks.py's mutants in seconds, before the moto tests of tests/integration run)."""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.request
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from apitokens.domain.errors import StoreUnavailable, Unauthenticated
from apitokens.rules.leaks import Finding, GithubKeys, Verdict
from apitokens_dev import devkeys

URL = "https://keys.test/secret_scanning"
MINUTE = 60.0  # an unknown identifier refetches GitHub's rate-limited key list at most once a minute
BODY = b'[{"token": "at_live_x", "type": "apitokens", "url": "", "source": "content"}]'


def _pem(key: Any) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(public.decode("ascii"))


def _signature(key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode("ascii")


class Published:
    """GitHub's key endpoint: a fixed key list, every fetch recorded; `clock` is settable."""

    def __init__(self, *entries: Any) -> None:
        self.document: Any = {"public_keys": list(entries)}
        self.fetched: list[str] = []
        self.now = 1000.0

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return json.dumps(self.document).encode()

    def keys(self) -> GithubKeys:
        return GithubKeys(URL, self.fetch, clock=lambda: self.now)


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def published(key: ec.EllipticCurvePrivateKey) -> Published:
    return Published({"key_identifier": devkeys.github_key_identifier(key), "key": _pem(key), "is_current": True})


def test_a_body_signed_by_a_published_key_verifies(key: ec.EllipticCurvePrivateKey, published: Published) -> None:
    published.keys().verify(BODY, devkeys.github_key_identifier(key), _signature(key, BODY))
    assert published.fetched == [URL]


@pytest.mark.parametrize("tamper", ["other_body", "other_key", "unknown_identifier", "not_der"])
def test_a_signature_that_does_not_sign_the_body_with_that_key_is_refused(
    key: ec.EllipticCurvePrivateKey, published: Published, tamper: str
) -> None:
    identifier, signature, body = devkeys.github_key_identifier(key), _signature(key, BODY), BODY
    if tamper == "other_body":
        body = BODY.replace(b"content", b"commit")
    elif tamper == "other_key":
        signature = _signature(ec.generate_private_key(ec.SECP256R1()), BODY)
    elif tamper == "unknown_identifier":
        identifier = "f" * 64
    else:
        signature = base64.b64encode(b"not a DER signature").decode("ascii")
    with pytest.raises(Unauthenticated):
        published.keys().verify(body, identifier, signature)


@pytest.mark.parametrize(
    ("identifier", "signature"),
    [
        (None, "c2ln"),
        ("", "c2ln"),
        ("abc", None),
        ("abc", ""),
        ("a" * 257, "c2ln"),
        ("abc", "A" * 1028),
        ("abc", "***"),
    ],
    ids=[
        "no_identifier",
        "empty_identifier",
        "no_signature",
        "empty_signature",
        "long_identifier",
        "long_signature",
        "not_base64",
    ],
)
def test_malformed_headers_are_refused_before_any_key_fetch(
    published: Published, identifier: str | None, signature: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        published.keys().verify(BODY, identifier, signature)
    assert published.fetched == []


def test_headers_at_their_length_limits_are_checked_against_the_key_list(published: Published) -> None:
    """256 characters of identifier and 1,024 of signature are still looked up (and refused as
    unknown): the limits bound the input, they do not shorten what GitHub may send."""
    with pytest.raises(Unauthenticated):
        published.keys().verify(BODY, "a" * 256, "A" * 1024)
    assert published.fetched == [URL]


def test_only_well_formed_p256_keys_of_the_list_count(key: ec.EllipticCurvePrivateKey) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = Published(
        {"key_identifier": "no-key"},
        {"key": _pem(key)},
        3,
        {"key_identifier": "garbage", "key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"},
        {"key_identifier": "not-a-string", "key": None},
        {"key_identifier": "p384", "key": _pem(p384)},
        {"key_identifier": "rsa", "key": _pem(rsa_key)},
        {"key_identifier": "p256", "key": _pem(key)},
    )
    keys = published.keys()
    assert keys.key("p256") is not None
    for identifier in ("no-key", "garbage", "not-a-string", "p384", "rsa"):
        assert keys.key(identifier) is None
    keys.verify(BODY, "p256", _signature(key, BODY))
    with pytest.raises(Unauthenticated):
        keys.verify(BODY, "p384", base64.b64encode(p384.sign(BODY, ec.ECDSA(hashes.SHA256()))).decode("ascii"))


@pytest.mark.parametrize("document", [b"not json", b"{}", b'{"public_keys": 3}', None])
def test_an_unusable_key_list_is_a_store_outage_not_a_refusal(document: bytes | None) -> None:
    def fetch(url: str) -> bytes:
        if document is None:
            raise OSError("connection refused")
        return document

    with pytest.raises(StoreUnavailable):
        GithubKeys(URL, fetch).verify(BODY, "abc", "c2ln")


def test_an_unknown_identifier_refetches_at_most_once_an_interval(
    key: ec.EllipticCurvePrivateKey, published: Published
) -> None:
    keys = published.keys()
    identifier = devkeys.github_key_identifier(key)
    assert keys.key(identifier) is not None
    assert keys.key("unknown") is None
    assert published.fetched == [URL]
    published.now += MINUTE - 0.001
    assert keys.key("unknown") is None
    assert published.fetched == [URL]
    published.now += 0.001
    assert keys.key("unknown") is None
    assert published.fetched == [URL, URL]
    published.now += MINUTE - 0.001  # the interval counts from the last fetch
    assert keys.key("unknown") is None
    assert published.fetched == [URL, URL]


def test_a_refetch_replaces_the_list(key: ec.EllipticCurvePrivateKey, published: Published) -> None:
    """A key GitHub withdrew stops verifying once the list is fetched again."""
    keys = published.keys()
    identifier = devkeys.github_key_identifier(key)
    assert keys.key(identifier) is not None
    rotated = ec.generate_private_key(ec.SECP256R1())
    published.document = {"public_keys": [{"key_identifier": "rotated", "key": _pem(rotated)}]}
    published.now += MINUTE
    assert keys.key("rotated") is not None
    assert keys.key(identifier) is None


class FakeResponse:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self, size: int) -> bytes:
        return self.body[:size]

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Endpoint:
    """urllib's urlopen replaced: each call recorded; it answers `body` (the key list by default)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[dict[str, Any]] = []

    def urlopen(self, request: urllib.request.Request, timeout: float) -> FakeResponse:
        self.calls.append({"url": request.full_url, "headers": dict(request.header_items()), "timeout": timeout})
        return FakeResponse(self.body)


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, key: ec.EllipticCurvePrivateKey) -> Endpoint:
    endpoint = Endpoint(json.dumps(devkeys.github_public_keys(key)).encode())
    monkeypatch.setattr(urllib.request, "urlopen", endpoint.urlopen)
    return endpoint


@pytest.mark.parametrize("url", ["https://api.github.test/keys", "http://localhost:3000/keys"])
def test_the_default_fetcher_asks_for_json_as_apitokens_with_a_short_timeout(
    endpoint: Endpoint, key: ec.EllipticCurvePrivateKey, url: str
) -> None:
    GithubKeys(url).verify(BODY, devkeys.github_key_identifier(key), _signature(key, BODY))
    (call,) = endpoint.calls
    assert call["url"] == url
    # GitHub's API refuses requests without a User-Agent.
    assert call["headers"] == {"Accept": "application/json", "User-agent": "apitokens"}
    assert 0 < call["timeout"] <= 3


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://keys.test/", "keys.test/keys"])
def test_the_default_fetcher_refuses_other_schemes_without_opening_them(endpoint: Endpoint, url: str) -> None:
    with pytest.raises(StoreUnavailable) as refused:
        GithubKeys(url).verify(BODY, "abc", "c2ln")
    assert endpoint.calls == []
    # The caller is told to retry; the operator's log (the cause) names the setting to fix.
    assert str(refused.value) == "GitHub's public keys could not be fetched; retry shortly."
    assert str(refused.value.__cause__) == "GITHUB_KEYS_URL must be an http(s) URL"


def test_the_default_fetcher_reads_at_most_one_mebibyte(endpoint: Endpoint, key: ec.EllipticCurvePrivateKey) -> None:
    """A key list past 1 MiB is cut there (so it no longer parses): a hostile or broken endpoint
    cannot fill the function's memory."""
    document = json.dumps({"public_keys": devkeys.github_public_keys(key)["public_keys"], "padding": ""})
    at_limit = document.replace('"padding": ""', '"padding": "' + "x" * (1024 * 1024 - len(document)) + '"')
    assert len(at_limit) == 1024 * 1024
    endpoint.body = at_limit.encode()
    assert GithubKeys(URL).key(devkeys.github_key_identifier(key)) is not None
    endpoint.body = at_limit.replace('"padding": "', '"padding": "x').encode()
    with pytest.raises(StoreUnavailable):
        GithubKeys(URL).key(devkeys.github_key_identifier(key))


def test_findings_and_verdicts_are_values() -> None:
    """A report's findings and verdicts are not altered once made (the handler answers what
    report() decided)."""
    finding = Finding("at_live_x", "apitokens", "content", "")
    verdict = Verdict("digest", "apitokens", "false_positive")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.token = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.label = "true_positive"  # type: ignore[misc]
