"""Leak reports: GitHub's secret-scanning contract and /credentials/revoke, on moto."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from apitokens.domain import tokens
from apitokens.wire.leak_models import MAX_GITHUB_REPORT_BYTES, MAX_REPORTED
from apitokens_dev import devkeys
from tests.harness import Functions, Reply, load_event, scan_table
from tests.integration.test_lineage_and_roll import WRITER, child_of

GITHUB = "/secret-scanning/github"
REVOKE = "/credentials/revoke"


@pytest.fixture
def github_key(tmp_path: Path, functions: Functions, monkeypatch: pytest.MonkeyPatch) -> ec.EllipticCurvePrivateKey:
    """The development GitHub key, published to the function in place of GitHub's key list."""
    key = devkeys.github_key(tmp_path)
    keys = functions.modules[("POST", GITHUB)].github_keys
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return json.dumps(devkeys.github_public_keys(key)).encode()

    monkeypatch.setattr(keys, "_fetch", fetch)
    return key


def public_call(functions: Functions, resource: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
    event = copy.deepcopy(load_event("create_token"))
    event["resource"] = event["path"] = resource
    event["pathParameters"] = None
    event["requestContext"].pop("authorizer", None)
    event["requestContext"]["resourcePath"] = resource
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    event["headers"] = all_headers
    event["multiValueHeaders"] = {name: [value] for name, value in all_headers.items()}
    event["body"] = body.decode("utf-8")
    return functions.invoke(event)


def report(functions: Functions, key: ec.EllipticCurvePrivateKey, found: list[str]) -> Reply:
    headers, body = devkeys.github_report(key, found, url="https://github.com/o/r/blob/x/.env")
    return public_call(functions, GITHUB, body, headers)


def test_github_report_revokes_ours_as_leaked_with_descendants(
    functions: Functions, github_key: ec.EllipticCurvePrivateKey
) -> None:
    leaked = functions.create(scopes=WRITER).body
    child = child_of(functions, leaked)
    bystander = functions.create().body
    other_environment = tokens.generate("at_test_")
    answer = report(functions, github_key, [leaked["token"], other_environment, "not a token"])
    assert answer.status == 200, answer.body
    assert answer.body == [
        {
            "token_hash": tokens.digest(leaked["token"]),
            "token_type": devkeys.GITHUB_TOKEN_TYPE,
            "label": "true_positive",
        },
        {
            "token_hash": tokens.digest(other_environment),
            "token_type": devkeys.GITHUB_TOKEN_TYPE,
            "label": "false_positive",
        },
        {
            "token_hash": tokens.digest("not a token"),
            "token_type": devkeys.GITHUB_TOKEN_TYPE,
            "label": "false_positive",
        },
    ]
    got = functions.get(leaked["sid"]).body
    assert (got["isActive"], got["revokedReason"]) == (False, "leaked")
    assert functions.get(child["sid"]).body["revokedReason"] == "parent_revoked"
    assert not functions.token_accepted(leaked["token"])
    assert not functions.token_accepted(child["token"])
    assert functions.token_accepted(bystander["token"])
    assert functions.update(leaked["sid"], {"name": "back", "isActive": True}).status == 409


def test_the_same_report_twice_changes_nothing_more(
    functions: Functions, dynamodb: Any, github_key: ec.EllipticCurvePrivateKey
) -> None:
    leaked = functions.create(scopes=WRITER).body
    child_of(functions, leaked)
    assert report(functions, github_key, [leaked["token"]]).status == 200
    before = scan_table(dynamodb)
    again = report(functions, github_key, [leaked["token"]])
    assert again.status == 200
    assert again.body[0]["label"] == "true_positive"
    # Nothing is written: no second token.leaked event (nor its bus event), by either route.
    revoked_again = public_call(functions, REVOKE, json.dumps({"tokens": [leaked["token"]]}).encode())
    assert revoked_again.status == 202
    assert scan_table(dynamodb) == before


def _resigned(key: ec.EllipticCurvePrivateKey, body: bytes) -> dict[str, str]:
    headers, _ = devkeys.github_report(key, [])
    from cryptography.hazmat.primitives import hashes

    headers["Github-Public-Key-Signature"] = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    return headers


@pytest.mark.parametrize(
    "tamper",
    ["no_signature", "no_identifier", "unknown_identifier", "other_body", "not_base64", "other_key"],
)
def test_bad_signatures_are_401_and_change_nothing(
    functions: Functions, dynamodb: Any, github_key: ec.EllipticCurvePrivateKey, tamper: str
) -> None:
    leaked = functions.create().body
    headers, body = devkeys.github_report(github_key, [leaked["token"]])
    if tamper == "no_signature":
        del headers["Github-Public-Key-Signature"]
    elif tamper == "no_identifier":
        del headers["Github-Public-Key-Identifier"]
    elif tamper == "unknown_identifier":
        headers["Github-Public-Key-Identifier"] = "f" * 64
    elif tamper == "other_body":
        body = body.replace(b'"content"', b'"commit"')
    elif tamper == "not_base64":
        headers["Github-Public-Key-Signature"] = "***"
    else:
        headers = {
            **_resigned(ec.generate_private_key(ec.SECP256R1()), body),
            **{"Github-Public-Key-Identifier": headers["Github-Public-Key-Identifier"]},
        }
    before = scan_table(dynamodb)
    refused = public_call(functions, GITHUB, body, headers)
    assert refused.status == 401
    assert refused.body["error"]["code"] == "unauthorized"
    assert scan_table(dynamodb) == before
    assert leaked["token"] not in json.dumps(refused.body)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"[]",
        b"not json",
        b'[{"token": "x"}]',
        b'[{"token": "x", "type": "t", "url": "", "source": "s", "more": 1}]',
    ],
)
def test_malformed_signed_reports_are_400(
    functions: Functions, dynamodb: Any, github_key: ec.EllipticCurvePrivateKey, body: bytes
) -> None:
    before = scan_table(dynamodb)
    refused = public_call(functions, GITHUB, body, _resigned(github_key, body))
    assert refused.status == 400
    assert scan_table(dynamodb) == before


def test_duplicate_tokens_in_one_report_are_400(
    functions: Functions, dynamodb: Any, github_key: ec.EllipticCurvePrivateKey
) -> None:
    leaked = functions.create().body
    before = scan_table(dynamodb)
    assert report(functions, github_key, [leaked["token"], leaked["token"]]).status == 400
    assert scan_table(dynamodb) == before


def test_credentials_revoke_always_answers_the_same(functions: Functions) -> None:
    real = functions.create(scopes=WRITER).body
    child = child_of(functions, real)
    answers = [
        public_call(functions, REVOKE, json.dumps({"tokens": found}).encode())
        for found in ([real["token"]], [tokens.generate("at_live_")], ["junk"], [tokens.generate("at_test_")])
    ]
    assert {answer.status for answer in answers} == {202}
    assert len({json.dumps(answer.body) for answer in answers}) == 1
    assert functions.get(real["sid"]).body["revokedReason"] == "leaked"
    assert not functions.token_accepted(child["token"])


@pytest.mark.parametrize(
    "body",
    [{}, {"tokens": []}, {"tokens": ["a"] * 2}, {"tokens": [f"t{index}" for index in range(101)]}, {"tokens": "x"}],
)
def test_credentials_revoke_refuses_malformed_reports(functions: Functions, dynamodb: Any, body: Any) -> None:
    before = scan_table(dynamodb)
    refused = public_call(functions, REVOKE, json.dumps(body).encode())
    assert refused.status == 400
    assert scan_table(dynamodb) == before


def test_github_keys_are_cached_and_refetched_at_most_once_a_minute() -> None:
    from apitokens.rules.leaks import GithubKeys

    key = ec.generate_private_key(ec.SECP256R1())
    now = [0.0]
    fetches: list[str] = []

    def fetch(url: str) -> bytes:
        fetches.append(url)
        return json.dumps(devkeys.github_public_keys(key)).encode()

    keys = GithubKeys("https://keys.test/", fetch, clock=lambda: now[0])
    identifier = devkeys.github_key_identifier(key)
    assert keys.key(identifier) is not None
    assert keys.key(identifier) is not None
    for _ in range(10):
        assert keys.key("unknown") is None
    assert len(fetches) == 1
    now[0] = 61.0
    assert keys.key("unknown") is None
    assert len(fetches) == 2


# Strings no token can be: non-ASCII, a NUL and other control characters, an emoji (a surrogate
# pair in JSON), bidi controls, the longest string a report may hold.
ODD_STRINGS = ["é", "at_live_é", "a\x00b", "\x1b[2J\x7f", "😀", "\u202egnp.", "ü" * 1024]


def test_credentials_revoke_takes_any_string_and_still_revokes_the_real_tokens(
    functions: Functions, dynamodb: Any
) -> None:
    real = functions.create(scopes=WRITER).body
    child = child_of(functions, real)
    answer = public_call(functions, REVOKE, json.dumps({"tokens": [*ODD_STRINGS, real["token"]]}).encode())
    assert answer.status == 202, answer.body
    assert answer.body == {"message": "Thank you. Any of these tokens that is valid here is now revoked."}
    assert functions.get(real["sid"]).body["revokedReason"] == "leaked"
    assert not functions.token_accepted(child["token"])
    # Sent as raw UTF-8 rather than JSON escapes: the same answer.
    raw = json.dumps({"tokens": ODD_STRINGS}, ensure_ascii=False).encode("utf-8")
    assert public_call(functions, REVOKE, raw).status == 202


def test_a_github_report_with_any_string_revokes_its_real_tokens(
    functions: Functions, github_key: ec.EllipticCurvePrivateKey
) -> None:
    real = functions.create(scopes=WRITER).body
    headers, body = devkeys.github_report(github_key, [*ODD_STRINGS, real["token"]], url="https://github.com/ö/r")
    answer = public_call(functions, GITHUB, body, headers)
    assert answer.status == 200, answer.body
    assert [(entry["token_hash"], entry["label"]) for entry in answer.body] == [
        *((tokens.digest(odd), "false_positive") for odd in ODD_STRINGS),
        (tokens.digest(real["token"]), "true_positive"),
    ]
    assert functions.get(real["sid"]).body["revokedReason"] == "leaked"
    assert not functions.token_accepted(real["token"])


@pytest.mark.parametrize(
    "body",
    [
        b'{"tokens": ["\\ud800"]}',  # a lone surrogate: not Unicode text
        b'{"tokens": ["a\nb"]}',  # an unescaped control character: not JSON
        b'{"tokens": [null]}',
        json.dumps({"tokens": ["x" * 1025]}).encode(),
    ],
)
def test_credentials_revoke_refuses_what_is_not_a_list_of_strings_with_a_400(
    functions: Functions, dynamodb: Any, body: bytes
) -> None:
    real = functions.create().body
    before = scan_table(dynamodb)
    refused = public_call(functions, REVOKE, body)
    assert refused.status == 400, refused.body
    assert refused.body["error"]["code"] == "invalid_request"
    assert scan_table(dynamodb) == before
    assert functions.token_accepted(real["token"])


def report_of_size(key: ec.EllipticCurvePrivateKey, found: list[str], size: int) -> tuple[dict[str, str], bytes]:
    """A signed GitHub report naming `found`, its URLs padded so that the body is `size` bytes."""
    _, bare = devkeys.github_report(key, found, url="https://github.com/o/r/blob/main/")
    pad, extra = divmod(size - len(bare), len(found))
    matches = json.loads(bare)
    for index, match in enumerate(matches):
        match["url"] += "a" * (pad + (extra if index == 0 else 0))
    body = json.dumps(matches).encode()
    assert len(body) == size
    return _resigned(key, body), body


def largest_report(key: ec.EllipticCurvePrivateKey, real_token: str, size: int) -> tuple[dict[str, str], bytes]:
    """MAX_REPORTED matches, the last `real_token`, the others well-formed strings of no token."""
    found = [f"at_live_found{index:04d}" for index in range(MAX_REPORTED - 1)] + [real_token]
    return report_of_size(key, found, size)


def test_a_github_report_as_large_as_its_limit_is_taken(
    functions: Functions, github_key: ec.EllipticCurvePrivateKey
) -> None:
    real = functions.create().body
    headers, body = largest_report(github_key, real["token"], MAX_GITHUB_REPORT_BYTES)
    # A thousand matches, each with a URL of about a thousand characters.
    assert len(json.loads(body)[0]["url"]) > 900
    answer = public_call(functions, GITHUB, body, headers)
    assert answer.status == 200, answer.body
    assert len(answer.body) == MAX_REPORTED
    assert answer.body[-1] == {
        "token_hash": tokens.digest(real["token"]),
        "token_type": devkeys.GITHUB_TOKEN_TYPE,
        "label": "true_positive",
    }
    assert not functions.token_accepted(real["token"])


def test_a_larger_github_report_and_a_larger_revoke_request_are_413(
    functions: Functions, dynamodb: Any, github_key: ec.EllipticCurvePrivateKey
) -> None:
    real = functions.create().body
    before = scan_table(dynamodb)
    headers, body = largest_report(github_key, real["token"], MAX_GITHUB_REPORT_BYTES + 1)
    refused = public_call(functions, GITHUB, body, headers)
    assert refused.status == 413
    assert refused.body["error"] == {
        "code": "payload_too_large",
        "message": f"The request body is larger than {MAX_GITHUB_REPORT_BYTES} bytes.",
    }
    # /credentials/revoke keeps the token routes' limit (wire.http is imported by the functions
    # themselves, once the test environment is applied).
    from apitokens.wire.http import MAX_BODY_BYTES

    padded = json.dumps({"tokens": [real["token"], "x" * 1000]}).encode().ljust(MAX_BODY_BYTES + 1)
    assert public_call(functions, REVOKE, padded).status == 413
    assert scan_table(dynamodb) == before
    assert functions.token_accepted(real["token"])
