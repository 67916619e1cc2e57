"""What tells an API token from a JWT, and the errors the token format raises, exactly."""

from __future__ import annotations

import hashlib
import re

import pytest

from apitokens.domain import base62, tokens


@pytest.mark.parametrize("value", ["at_live_x", "at_test_", "at_", "at_anything at all", tokens.generate("at_live_")])
def test_anything_starting_at_underscore_is_meant_as_an_api_token(value: str) -> None:
    assert tokens.looks_like_token(value, "at")


@pytest.mark.parametrize("value", ["eyJhbGciOiJSUzI1NiJ9.e30.sig", "", "at", "At_live_x", "xat_live_", " at_live_"])
def test_anything_else_is_not(value: str) -> None:
    assert not tokens.looks_like_token(value, "at")


def test_an_unknown_prefix_names_itself_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown token prefix 'sk_live_'$"):
        tokens.generate("sk_live_")


@pytest.mark.parametrize(("number", "width"), [(62, 1), (-1, 3), (62**6, 6)])
def test_a_number_that_does_not_fit_is_refused_by_name(number: int, width: int) -> None:
    with pytest.raises(ValueError, match=rf"^{number} does not fit in {width} base62 digits$"):
        base62.encode(number, width)


def test_the_alphabet_is_ascii_ordered_and_round_trips() -> None:
    assert base62.ALPHABET == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert base62.encode(61, 1) == "z"
    assert base62.encode(62**6 - 1, 6) == "zzzzzz"
    assert base62.decode(base62.encode(123_456_789, 6)) == 123_456_789
    assert tokens.SECRET_LENGTH == 30
    assert tokens.CHECKSUM_LENGTH == 6
    assert tokens.TOKEN_LENGTH == 44


@pytest.mark.parametrize("value", ["é", "a\x00b", "\ud800", "😀", "at_live_é" + "x" * 40, "\u202e" * 1024, ""])
def test_every_string_has_a_digest_so_a_leak_report_can_name_anything(value: str) -> None:
    # A leak report answers each named value with its hash: no value may make that fail.
    assert re.fullmatch(r"[0-9a-f]{64}", tokens.digest(value))
    assert not tokens.is_well_formed(value, "at_live_")


def test_a_tokens_digest_is_the_sha256_of_its_text() -> None:
    token = tokens.generate("at_live_")
    assert tokens.digest(token) == hashlib.sha256(token.encode("ascii")).hexdigest()
    assert tokens.digest("é") == hashlib.sha256("é".encode()).hexdigest()
