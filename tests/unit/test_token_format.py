from __future__ import annotations

import re

import pytest

from apitokens.domain import base62, tokens


def test_generated_tokens_have_prefix_secret_and_checksum() -> None:
    value = tokens.generate("at_live_")
    assert re.fullmatch(r"at_live_[0-9A-Za-z]{36}", value)
    assert len(value) == tokens.TOKEN_LENGTH
    assert tokens.is_well_formed(value, "at_live_")
    assert tokens.checksum(value[:-6]) == value[-6:]


def test_the_secret_part_carries_at_least_160_bits() -> None:
    import math

    assert tokens.SECRET_LENGTH * math.log2(62) >= 160


def test_every_position_of_the_secret_takes_every_character() -> None:
    """The secret is drawn as one number below 62**30: each position, the first (the number's
    highest digit) included, must still range over the whole alphabet. 3,000 tokens put about
    48 of each character at each position; one missing by chance is beyond 1 in 10**17."""
    secrets = [tokens.generate("at_live_")[len("at_live_") : -tokens.CHECKSUM_LENGTH] for _ in range(3000)]
    assert {len(secret) for secret in secrets} == {tokens.SECRET_LENGTH}
    for position in range(tokens.SECRET_LENGTH):
        assert {secret[position] for secret in secrets} == set(base62.ALPHABET), position


def test_test_tokens_are_refused_by_a_live_deployment_and_vice_versa() -> None:
    live, test = tokens.generate("at_live_"), tokens.generate("at_test_")
    assert not tokens.is_well_formed(live, "at_test_")
    assert not tokens.is_well_formed(test, "at_live_")
    assert tokens.is_well_formed(test, "at_test_")


def test_unknown_prefix_cannot_be_generated() -> None:
    with pytest.raises(ValueError, match="prefix"):
        tokens.generate("sk_live_")


def test_any_single_character_change_breaks_the_checksum() -> None:
    value = tokens.generate("at_live_")
    for position in range(len("at_live_"), len(value)):
        for replacement in "0aZ":
            if value[position] == replacement:
                continue
            mutated = value[:position] + replacement + value[position + 1 :]
            assert not tokens.is_well_formed(mutated, "at_live_"), (position, replacement)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "at_live_",
        "at_live_short",
        "Bearer at_live_x",
        "at_live_" + "a" * 37,
        "at_live_" + "!" * 36,
        "AT_LIVE_" + "a" * 36,
    ],
)
def test_malformed_values_are_refused(value: str) -> None:
    assert not tokens.is_well_formed(value, "at_live_")


def test_digest_is_sha256_hex_and_never_the_value() -> None:
    value = tokens.generate("at_test_")
    digest = tokens.digest(value)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == tokens.digest(value)
    assert value not in digest


def test_base62_round_trip_and_order() -> None:
    numbers = [0, 1, 61, 62, 3843, 10**12, 62**9 - 1]
    encoded = [base62.encode(n, 9) for n in numbers]
    assert [base62.decode(e) for e in encoded] == numbers
    assert encoded == sorted(encoded)
    with pytest.raises(ValueError, match="does not fit"):
        base62.encode(62**9, 9)
