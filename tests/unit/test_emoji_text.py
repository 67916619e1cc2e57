"""Names and descriptions take emoji sequences (ZWJ sequences, presentation selectors, skin
tones, keycaps, flags) and refuse the same invisible characters where they join nothing;
the generated emoji table agrees with the ECMA-262 engine the published patterns
are checked with."""

from __future__ import annotations

import unicodedata

import pytest
import regress
from pydantic import ValidationError

from apitokens.wire.models import CreateTokenRequest, UpdateTokenRequest
from apitokens.wire.visible_text import is_emoji, is_pictographic
from tests.emoji_samples import EMOJI, MISPLACED


@pytest.mark.parametrize("sequence", EMOJI, ids=range(len(EMOJI)))
def test_emoji_sequences_are_accepted_in_names_and_descriptions(sequence: str) -> None:
    for name in (sequence, f"Deploy {sequence}", f"{sequence}{sequence} x"):
        created = CreateTokenRequest(name=name, description=f"CI {sequence}\n{sequence}", scopes=["tokens:read"])
        assert created.name == name
        assert UpdateTokenRequest.model_validate({"name": name, "description": name, "isActive": True}).name == name


@pytest.mark.parametrize("sequence", MISPLACED, ids=range(len(MISPLACED)))
def test_joiners_selectors_and_tags_that_join_no_emoji_are_refused(sequence: str) -> None:
    with pytest.raises(ValidationError, match="invisible"):
        CreateTokenRequest(name=f"x{sequence}", scopes=["tokens:read"])
    with pytest.raises(ValidationError, match="invisible"):
        CreateTokenRequest(name="n", description=f"x {sequence}", scopes=["tokens:read"])
    with pytest.raises(ValidationError, match="invisible"):
        UpdateTokenRequest.model_validate({"name": f"{sequence} x", "isActive": True})


def test_a_joiner_between_letters_is_refused_but_between_emoji_accepted() -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest(name="ad\u200dmin", scopes=["tokens:read"])
    assert CreateTokenRequest(name="dev \U0001f469\u200d\U0001f4bb", scopes=["tokens:read"]).name


@pytest.mark.parametrize(("prop", "has"), [("Extended_Pictographic", is_pictographic), ("Emoji", is_emoji)])
def test_the_generated_table_agrees_with_the_ecma_engine_on_every_assigned_character(prop: str, has: object) -> None:
    """On every code point this Python's Unicode assigns (the others are refused by category
    whatever the table says; the engine may follow a newer Unicode)."""
    assert callable(has)
    engine = regress.Regex(rf"^\p{{{prop}}}$", "u")
    disagreements = [
        hex(point)
        for point in range(0x110000)
        if unicodedata.category(chr(point)) not in ("Cn", "Cs")
        and has(chr(point)) != (engine.find(chr(point)) is not None)
    ]
    assert not disagreements, disagreements[:20]
