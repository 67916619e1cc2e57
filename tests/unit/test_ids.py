from __future__ import annotations

import pytest

from apitokens.domain import ids
from apitokens.domain.errors import InvalidRequest


def test_new_sids_are_24_base62_characters_and_time_ordered() -> None:
    early = ids.new_token_sid(now_ms=1_700_000_000_000)
    late = ids.new_token_sid(now_ms=1_800_000_000_000)
    assert ids.is_token_sid(early)
    assert len(early) == len("tok_") + 24
    assert early < late


def test_sids_made_in_the_same_millisecond_still_increase() -> None:
    sids = [ids.new_token_sid(now_ms=1_900_000_000_000) for _ in range(50)]
    assert sids == sorted(sids)
    assert len(set(sids)) == 50


def test_sids_keep_increasing_when_the_clock_steps_back() -> None:
    first = ids.new_token_sid(now_ms=2_000_000_000_000)
    second = ids.new_token_sid(now_ms=1_000_000_000_000)
    assert second > first


@pytest.mark.parametrize("value", ["acc_abc123def456ghi789jkl012", "acc_" + "A1" * 13 + "z"])
def test_account_sids_of_24_and_27_characters_are_accepted(value: str) -> None:
    assert ids.require_account_sid(value) == value


@pytest.mark.parametrize(
    "value",
    ["acc_abc", "acc_abc123def456ghi789jkl0123", "acc_abc123def456ghi789jkl01_", "tok_abc123def456ghi789jkl012", ""],
)
def test_malformed_account_sids_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequest, match="accountSid"):
        ids.require_account_sid(value)


@pytest.mark.parametrize(
    "value", ["tok_abc123def456ghi789jkl012", "tok_xyz789uvw012rst345abc", "tok_new789uvw012rst345def"]
)
def test_the_seeds_token_sids_are_accepted(value: str) -> None:
    assert ids.is_token_sid(value)
