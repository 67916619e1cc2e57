"""What a token's name and description may hold: every script's letters, marks, digits,
punctuation and symbols, emoji sequences included, and nothing that renders as nothing.

Refused by Unicode general category rather than by a list: every "other" character (Cc controls,
Cf formatting such as U+00AD, bidi controls, zero-width and tag characters, Co private use, Cs
surrogates, Cn unassigned) and the line and paragraph separators (Zl, Zp). Names also refuse
every space but U+0020 and need one character that is not a space; descriptions may hold tab, LF
and CR. Three invisible characters are what emoji are built from, so each is accepted where, and
only where, it belongs to an emoji (Unicode's emoji-data and UTS #51):

- U+200D ZERO WIDTH JOINER between two Extended_Pictographic characters, the first perhaps
  followed by a skin tone or VS16 (the grapheme rule GB11): 👩‍💻, 👨‍👩‍👧, 👩🏽‍💻, 🏳️‍🌈.
  Elsewhere ("ad\\u200dmin") it is hidden text.
- U+FE0E and U+FE0F, the text and emoji presentation selectors, right after an Emoji character
  (❤️, 1️⃣); after anything else they change nothing visible. They are marks (Mn), which the
  category rule alone would let through anywhere.
- Tag characters (U+E0020-E007F) only in the three subdivision flags Unicode recommends (England,
  Scotland, Wales), spelled exactly. A tag sequence is ASCII text that renders as nothing: the
  general form (black flag, any tags, cancel tag) would carry arbitrary hidden text after a flag,
  so no other tag sequence is accepted.

Unicode's Default_Ignorable_Code_Point characters outside C and Z are letters and marks that
render as nothing, and are refused too (DEFAULT_IGNORABLE_MARKS): the combining grapheme joiner,
the Hangul fillers (the usual way to make a name look blank), the Khmer inherent vowels and every
variation selector but the two presentation selectors above. A variation selector changes a
glyph only in the sequences Unicode or the Ideographic Variation Database registers; after any
other character it is invisible, so "admin" followed by one would pass for "admin". The price:
Japanese ideographic variation sequences, mathematical variants and Mongolian free variation
selectors are not accepted in names and descriptions.

The published patterns (NAME_PATTERN, DESCRIPTION_PATTERN) say the same in ECMA-262 (the `u`
flag, as JSON Schema validators compile patterns), built below from the same tables. Python's re
has neither \\p{..} nor emoji properties, so the validators here read categories from unicodedata
and the two emoji properties from a generated table; a test runs both on one corpus.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right

from apitokens.wire.emoji_properties import EMOJI, EXTENDED_PICTOGRAPHIC

Ranges = tuple[tuple[int, int], ...]
ZERO_WIDTH_JOINER = "\u200d"
PRESENTATION_SELECTORS = frozenset("\ufe0e\ufe0f")
EMOJI_PRESENTATION = "\ufe0f"
SKIN_TONES = frozenset(map(chr, range(0x1F3FB, 0x1F400)))  # Emoji_Modifier
_TAG_CANCEL = "\U000e007f"
_BLACK_FLAG = "\U0001f3f4"  # what every subdivision flag starts with
SUBDIVISION_FLAGS = tuple(
    _BLACK_FLAG + "".join(chr(0xE0000 + ord(letter)) for letter in region) + _TAG_CANCEL
    for region in ("gbeng", "gbsct", "gbwls")
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Default_Ignorable_Code_Point minus categories C and Z (those are refused by category), without
# U+FE0E/U+FE0F (emoji presentation, above): Unicode 17.0, DerivedCoreProperties.txt.
DEFAULT_IGNORABLE_MARKS: Ranges = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180D),  # Mongolian free variation selectors one to three
    (0x180F, 0x180F),  # Mongolian free variation selector four
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0D),  # variation selectors 1-14
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors 17-256 (ideographic variation sequences)
)
_DESCRIPTION_LAYOUT = frozenset("\t\n\r")
_WITHOUT_LAYOUT = str.maketrans("", "", "".join(_DESCRIPTION_LAYOUT))

# The same rules in ECMA-262, without lookarounds or emoji property escapes (JSON Schema tools,
# Schemathesis among them, cannot generate values from those): the emoji classes are spelled out
# from the table, astral characters literally, and the joiner and selector rules become tokens:
# a chain of pictographs joined by U+200D (each perhaps with a skin tone, or VS16 if it is an
# Emoji), an Emoji followed by a selector, a subdivision flag, or one visible character.


def _class(table: Ranges) -> str:
    def spelled(point: int) -> str:
        return f"\\u{point:04X}" if point <= 0xFFFF else chr(point)

    return "[" + "".join(spelled(a) if a == b else f"{spelled(a)}-{spelled(b)}" for a, b in table) + "]"


def _intersection(first: Ranges, second: Ranges) -> Ranges:
    """The code points in both tables (each sorted, its ranges disjoint), walked side by side:
    a cold start pays for this, and every pair of ranges would cost 4 ms."""
    both: list[tuple[int, int]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        low, high = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if low <= high:
            both.append((low, high))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return tuple(both)


_PICTOGRAPH = _class(EXTENDED_PICTOGRAPHIC)
_EMOJI_PICTOGRAPH = _class(_intersection(EXTENDED_PICTOGRAPHIC, EMOJI))
_SKIN_TONE = "[\U0001f3fb-\U0001f3ff]"  # literal: ECMA-262 has no \U escape
_LINK = rf"(?:{_PICTOGRAPH}{_SKIN_TONE}?|{_EMOJI_PICTOGRAPH}\uFE0F)"
_LAST_LINK = rf"(?:{_PICTOGRAPH}{_SKIN_TONE}?|{_EMOJI_PICTOGRAPH}[\uFE0E\uFE0F])"
_CHAIN = rf"(?:{_LINK}\u200D)+{_LAST_LINK}"
_SELECTED = rf"{_class(EMOJI)}[\uFE0E\uFE0F]"
_FLAG = "(?:" + "|".join(SUBDIVISION_FLAGS) + ")"
_TOKENS = rf"{_FLAG}|{_CHAIN}|{_SELECTED}"
_IGNORABLE = _class(DEFAULT_IGNORABLE_MARKS)[1:-1]  # spliced into the negated classes below
NAME_PATTERN = rf"^(?: *(?:{_TOKENS}|[^\p{{C}}\p{{Z}}\uFE0E\uFE0F{_IGNORABLE}]))+ *$"
DESCRIPTION_PATTERN = rf"^(?:{_TOKENS}|[^\p{{C}}\p{{Zl}}\p{{Zp}}\uFE0E\uFE0F{_IGNORABLE}]|[\t\n\r])*$"


def _within(table: Ranges, character: str) -> bool:
    index = bisect_right(table, (ord(character), 0x10FFFF)) - 1
    return index >= 0 and table[index][0] <= ord(character) <= table[index][1]


def is_emoji(character: str) -> bool:
    """Unicode's Emoji property: the characters a presentation selector may follow."""
    return _within(EMOJI, character)


def is_pictographic(character: str) -> bool:
    """Unicode's Extended_Pictographic property: what a zero width joiner joins."""
    return _within(EXTENDED_PICTOGRAPHIC, character)


def _joins_emoji(value: str, index: int) -> bool:
    """Whether the joiner at value[index] stands between two emoji (GB11)."""
    if index + 1 >= len(value) or not is_pictographic(value[index + 1]) or index == 0:
        return False
    before = value[index - 1]
    if is_pictographic(before):
        return True
    return (before == EMOJI_PRESENTATION or before in SKIN_TONES) and index >= 2 and is_pictographic(value[index - 2])


def _hidden(value: str, index: int) -> bool:
    """Whether value[index] renders as nothing or is not text (a layout character aside)."""
    character = value[index]
    if character == ZERO_WIDTH_JOINER:
        return not _joins_emoji(value, index)
    if character in PRESENTATION_SELECTORS:
        return index == 0 or not is_emoji(value[index - 1])
    return unicodedata.category(character) in _REFUSED_CATEGORIES or _within(DEFAULT_IGNORABLE_MARKS, character)


def _characters(value: str) -> list[tuple[int, str]]:
    """(index, character) of each character of value, a subdivision flag taken as one."""
    if _BLACK_FLAG not in value:
        return list(enumerate(value))
    found = []
    index = 0
    while index < len(value):
        flag = next((flag for flag in SUBDIVISION_FLAGS if value.startswith(flag, index)), None)
        found.append((index, flag or value[index]))
        index += len(flag or value[index])
    return found


def _is_other_space(character: str) -> bool:
    return character != " " and unicodedata.category(character) == "Zs"


def is_valid_name(value: str) -> bool:
    """Visible text on one line: no hidden character, no space but U+0020, not only spaces."""
    if value.isascii():
        # The usual name, and a third of a create's own work through the general path below. In
        # ASCII, what is printable is exactly what the rules accept (U+0020-U+007E).
        return value.isprintable() and value.strip(" ") != ""
    characters = _characters(value)
    for index, character in characters:
        if len(character) == 1 and (_hidden(value, index) or _is_other_space(character)):
            return False
    return any(character != " " for _, character in characters)


def is_valid_description(value: str) -> bool:
    """Text that may run over lines: no hidden character but tab, LF and CR."""
    if value.isascii():
        return value.translate(_WITHOUT_LAYOUT).isprintable()
    return not any(
        len(character) == 1 and character not in _DESCRIPTION_LAYOUT and _hidden(value, index)
        for index, character in _characters(value)
    )
