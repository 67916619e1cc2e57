"""Base62 in ASCII order (0-9, A-Z, a-z), so encoded numbers of one width sort as the numbers do."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


def encode(number: int, width: int) -> str:
    """`number` as exactly `width` base62 digits (it must fit)."""
    if number < 0 or number >= 62**width:
        raise ValueError(f"{number} does not fit in {width} base62 digits")
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def decode(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + _INDEX[char]
    return number


def random_string(length: int) -> str:
    """`length` characters, each of the 62 equally likely: one uniform number below 62**length,
    spelled out (one read of the system's random source rather than one a character)."""
    return encode(secrets.randbelow(62**length), length)
