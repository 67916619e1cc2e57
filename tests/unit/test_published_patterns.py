"""Every `pattern` of the published OpenAPI document, run as ECMA-262 runs it (the `regress`
engine, with the `u` flag JSON Schema validators use), agrees with what the service accepts on
the same inputs (Python's `$` matched before a final newline, so "abc\\n" passed the
models while the published pattern refused it)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import regress
from pydantic import ValidationError

from apitokens.domain import ids
from apitokens.rules import idempotency
from apitokens.wire.audit_models import AuditEventsQuery
from apitokens.wire.models import CreateTokenRequest
from apitokens.wire.verify_models import VerifyTokenRequest
from apitokens.wire.visible_text import DEFAULT_IGNORABLE_MARKS
from apitokens_dev.openapi import build_openapi
from tests.emoji_samples import EMOJI, MISPLACED, ZWJ


def _field_accepts(field: str) -> Callable[[str], bool]:
    def accepts(value: str) -> bool:
        try:
            CreateTokenRequest.model_validate({"name": "n", "scopes": ["tokens:read"], field: value})
        except ValidationError as error:
            return not any(detail["loc"] == (field,) for detail in error.errors())
        return True

    return accepts


def _verify_path_accepts(value: str) -> bool:
    try:
        VerifyTokenRequest.model_validate({"token": "t", "method": "GET", "path": value})
    except ValidationError:
        return False
    return True


# Where each pattern of the document sits, what the service checks the same input with, and one
# value it accepts (the corpus below is built around it).
SERVICE_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "accountSid": (ids.is_account_sid, "acc_abc123def456ghi789jkl012"),
    "apiTokenSid": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    "startingAfter": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    "sid": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    # Token sids in the lineage fields and the roll response.
    "parentSid": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    "rolledFrom": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    "rolledTo": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    # The verify route's answer and question.
    "tokenSid": (ids.is_token_sid, "tok_abc123def456ghi789jkl012"),
    "path": (_verify_path_accepts, "/accounts/acc_abc123def456ghi789jkl012/metrics"),
    "idempotencyKey": (lambda value: idempotency.KEY_PATTERN.fullmatch(value) is not None, "retry-7"),
    "name": (_field_accepts("name"), "Deploy key"),
    "description": (_field_accepts("description"), "Used by CI"),
}


def _event_sid_accepts(value: str) -> bool:
    try:
        AuditEventsQuery.model_validate({"startingAfter": value})
    except ValidationError:
        return False
    return True


# Audit event sids (an event's sid, the auditEvents cursor), whatever the field's name.
EVENT_SID_CHECK: tuple[Callable[[str], bool], str] = (_event_sid_accepts, "evt_abc123def456ghi789jkl012")


def check_of(name: str, pattern: str) -> tuple[Callable[[str], bool], str]:
    return EVENT_SID_CHECK if pattern.startswith("^evt_") else SERVICE_CHECKS[name]


def published_patterns() -> Iterator[tuple[str, str]]:
    """(the name of the parameter or property, its pattern) for every pattern in the document."""

    def walk(node: Any, name: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            if not name and "in" in node and isinstance(node.get("name"), str):  # an operation's own parameter
                name = node["name"]
            if isinstance(node.get("pattern"), str):
                yield name, node["pattern"]
            for key, value in node.items():
                if key == "properties":
                    for prop, schema in value.items():
                        yield from walk(schema, prop)
                elif key in ("parameters",) and isinstance(value, dict):
                    for parameter, schema in value.items():
                        yield from walk(schema, parameter)
                else:
                    yield from walk(value, name)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, name)

    return walk(build_openapi(), "")


PATTERNS = sorted(set(published_patterns()))


# Unicode's Default_Ignorable_Code_Point as ECMA-262 engines read it.
DEFAULT_IGNORABLE = regress.Regex(r"^\p{Default_Ignorable_Code_Point}$", "u")
# Default-ignorable letters and marks, each range's ends: refused (visible_text.py).
INVISIBLE_MARKS = [chr(point) for first, last in DEFAULT_IGNORABLE_MARKS for point in (first, last)]


def _characters() -> list[str]:
    """Every ASCII character (names and descriptions in ASCII take a shorter path), a spread of
    code points over every plane, and each invisible character listed below."""
    named = "".join(map(chr, range(128)))
    named += "".join(INVISIBLE_MARKS)
    named += "\n\r\t\x00\x1f\x7f\x85\xa0\xad\u061c\u180e\u200b\u200d\u2028\u2029\u202e\u2066\u206a\u206f\u3000"
    named += "\ufeff\ufff9\ufffa\ufffb\ue000\U0001d173\U000e0001\U000e0041\U000e007f\U000cb528"
    spread = [chr(point) for point in range(0, 0x3400, 5)] + [chr(point) for point in range(0x3400, 0x110000, 0x3FB)]
    # Lone surrogates cannot cross into the engine (it takes UTF-8); the models refuse them (Cs).
    # Code points unassigned in this Python's Unicode (Cn) may be assigned in the engine's newer
    # one: only the named ones, unassigned in every version, are kept.
    kept = [char for char in spread if unicodedata.category(char) not in ("Cs", "Cn")]
    return list(dict.fromkeys(named + "".join(kept)))


CHARACTERS = _characters()


def corpus(valid: str) -> Iterator[str]:
    yield valid
    yield valid + "\n"
    yield "\n" + valid
    yield valid + "\r\n"
    yield ""
    yield from (" ", "   ", f" {valid} ", f"{valid}\t{valid}", f"{valid}\r\n{valid}\n")
    for char in CHARACTERS:
        yield valid + char
        yield char + valid
        yield valid[:3] + char + valid[3:]
        yield char
    for sequence in EMOJI + MISPLACED:
        yield sequence
        yield valid + sequence
        yield sequence + valid
        yield f"{valid} {sequence} {valid}"
        yield valid[:3] + sequence + valid[3:]
        yield sequence + ZWJ + sequence
        yield sequence + sequence


def test_every_pattern_of_the_document_has_its_service_check() -> None:
    assert PATTERNS, "the document has no pattern"
    unchecked = [(name, pattern) for name, pattern in PATTERNS if not pattern.startswith("^evt_")]
    assert {name for name, _ in unchecked} <= set(SERVICE_CHECKS), PATTERNS


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[f"{name}:{pattern[:24]}" for name, pattern in PATTERNS])
def test_ecma_262_and_the_service_agree_on_every_input(name: str, pattern: str) -> None:
    ecma = regress.Regex(pattern, "u")
    service_accepts, valid = check_of(name, pattern)
    disagreements = [
        (value, accepted)
        for value in corpus(valid)
        if (accepted := service_accepts(value)) != (ecma.find(value) is not None)
    ]
    shown = [(repr(value), "only the service accepts" if ok else "only ECMA accepts") for value, ok in disagreements]
    assert not disagreements, shown[:20]


@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "\nabc"])
def test_a_name_ending_or_starting_with_a_newline_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest(name=name, scopes=["tokens:read"])


# Invisible characters that a hand-picked list would miss: each must be refused.
INVISIBLE = {
    "soft hyphen": "\u00ad",
    "mongolian vowel separator": "\u180e",
    "interlinear annotation": "\ufff9",
    "interlinear terminator": "\ufffb",
    "inhibit symmetric swapping": "\u206a",
    "nominal digit shapes": "\u206f",
    "musical symbol begin beam": "\U0001d173",
    "language tag": "\U000e0001",
    "tag latin capital a": "\U000e0041",
    "cancel tag": "\U000e007f",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "private use": "\ue000",
    # Letters and marks that render as nothing (Default_Ignorable_Code_Point outside C and Z).
    "combining grapheme joiner": "\u034f",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "khmer vowel inherent aq": "\u17b4",
    "mongolian free variation selector one": "\u180b",
    "mongolian free variation selector four": "\u180f",
    "hangul filler": "\u3164",
    "variation selector-1": "\ufe00",
    "variation selector-14": "\ufe0d",
    "halfwidth hangul filler": "\uffa0",
    "variation selector-17": "\U000e0100",
    "variation selector-256": "\U000e01ef",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_refused_in_names_and_descriptions(char: str) -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest(name=f"ad{char}min", scopes=["tokens:read"])
    with pytest.raises(ValidationError):
        CreateTokenRequest(name="n", description=f"hidden{char}text", scopes=["tokens:read"])


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u3000", "\u202f"])
def test_names_take_no_space_but_a_plain_one(space: str) -> None:
    with pytest.raises(ValidationError):
        CreateTokenRequest(name=f"two{space}words", scopes=["tokens:read"])
    assert CreateTokenRequest(name="n", description=f"two{space}words", scopes=["tokens:read"]).description


def test_every_letter_mark_number_symbol_and_punctuation_is_accepted() -> None:
    """Every assigned character of those categories, a name's worth at a time; but the two
    presentation selectors (marks that show nothing after anything but an emoji: their own
    tests are in test_emoji_text.py) and the default-ignorable letters and marks."""
    visible = [
        chr(point)
        for point in range(0x110000)
        if unicodedata.category(chr(point))[0] in "LMNSP"
        and not (point == 0x20 or chr(point).isspace() or chr(point) in "\ufe0e\ufe0f")
        and DEFAULT_IGNORABLE.find(chr(point)) is None
    ]
    refused = []
    for start in range(0, len(visible), 100):
        name = "".join(visible[start : start + 100])
        try:
            CreateTokenRequest(name=name, description=name, scopes=["tokens:read"])
        except ValidationError:
            refused.append(name)
    assert not refused, [repr(name[:10]) for name in refused[:5]]


def test_the_default_ignorable_table_is_the_ecma_engines_property_outside_c_and_z() -> None:
    """DEFAULT_IGNORABLE_MARKS, without the two presentation selectors (an emoji's own), is
    exactly Default_Ignorable_Code_Point's letters and marks on this Python's assigned
    characters (C and Z are refused by category anyway)."""
    from_engine = {
        point
        for point in range(0x110000)
        if unicodedata.category(chr(point))[0] not in "CZ" and DEFAULT_IGNORABLE.find(chr(point)) is not None
    }
    from_table = {point for first, last in DEFAULT_IGNORABLE_MARKS for point in range(first, last + 1)}
    assert from_table == from_engine - {0xFE0E, 0xFE0F}
