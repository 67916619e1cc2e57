"""Two rules of token values that no answer shows, pinned at their mechanism: the checksum is
compared in constant time (hmac.compare_digest, whose timing does not depend on where two
strings first differ), and the secret part is drawn from `secrets` (the operating system's
CSPRNG), not from `random`, whose Mersenne Twister state can be recovered from its outputs."""

from __future__ import annotations

import hmac
import random
import secrets
from typing import Any

import pytest

from apitokens.domain import base62, tokens

PREFIX = "at_live_"


def test_the_checksum_is_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    value = tokens.generate(PREFIX)
    body, check = value[: -tokens.CHECKSUM_LENGTH], value[-tokens.CHECKSUM_LENGTH :]
    calls: list[tuple[Any, Any]] = []
    compare = hmac.compare_digest

    def spy(first: Any, second: Any) -> bool:
        calls.append((first, second))
        return compare(first, second)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert tokens.is_well_formed(value, PREFIX)
    assert sorted(calls[0]) == sorted([tokens.checksum(body), check])
    assert len(calls) == 1


def test_the_checksum_verdict_is_compare_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict comes from compare_digest alone: told that two checksums differ, a correct
    token is refused (a `==` beside it would still accept it)."""
    value = tokens.generate(PREFIX)
    monkeypatch.setattr(hmac, "compare_digest", lambda *_: False)
    assert not tokens.is_well_formed(value, PREFIX)


def test_the_secret_follows_secrets_randbelow(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def fixed(bound: int) -> int:
        asked.append(bound)
        return bound - 1

    monkeypatch.setattr(secrets, "randbelow", fixed)
    # Seeding `random` must change nothing: the value does not come from it.
    random.seed(0)
    assert base62.random_string(tokens.SECRET_LENGTH) == "z" * tokens.SECRET_LENGTH
    assert asked == [62**tokens.SECRET_LENGTH]
    value = tokens.generate(PREFIX)
    assert value[len(PREFIX) : -tokens.CHECKSUM_LENGTH] == "z" * tokens.SECRET_LENGTH
    monkeypatch.setattr(secrets, "randbelow", lambda _: 0)
    assert tokens.generate(PREFIX)[len(PREFIX) : -tokens.CHECKSUM_LENGTH] == "0" * tokens.SECRET_LENGTH


def test_the_secret_does_not_come_from_random(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a token secret was drawn from the random module")

    for name in ("random", "randrange", "randint", "choice", "choices", "getrandbits", "sample"):
        monkeypatch.setattr(random, name, refuse)
    assert tokens.is_well_formed(tokens.generate(PREFIX), PREFIX)
