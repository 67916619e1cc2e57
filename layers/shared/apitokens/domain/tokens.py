"""API token values: `at_live_` / `at_test_` (the deployment's TokenPrefix, `at` by default) + 30
random base62 characters + 6-character checksum.

The secret part carries 178 bits from `secrets`. The checksum is CRC32 of everything before it,
in base62 (GitHub's scheme): a mistyped or truncated token is refused offline, before any
database read, and secret scanners can recognise a real token. Only the SHA-256 digest of a
token is ever stored; a fast hash is right here because the secret has 178 bits of entropy
(a slow password hash would cost thousands of DynamoDB reads' worth of CPU per request).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib

from apitokens.domain import adopted, base62

SECRET_LENGTH = 30
CHECKSUM_LENGTH = 6


def checksum(body: str) -> str:
    return base62.encode(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def prefixes(token_prefix: str) -> tuple[str, str]:
    """The full prefixes (live, test) of a TokenPrefix."""
    return f"{token_prefix}_live_", f"{token_prefix}_test_"


# The default TokenPrefix's full prefixes and token length.
PREFIXES = prefixes(adopted.DEFAULT_TOKEN_PREFIX)
TOKEN_LENGTH = len(PREFIXES[0]) + SECRET_LENGTH + CHECKSUM_LENGTH
# What follows the prefix (at_live_): the secret and its checksum, base62.
_SECRET_AND_CHECKSUM = re.compile(rf"[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}")


def generate(prefix: str) -> str:
    """A new token of `prefix`, one of the deployment's two (Settings.token_prefix)."""
    if prefix not in prefixes(adopted.current().token_prefix):
        raise ValueError(f"unknown token prefix {prefix!r}")
    body = prefix + base62.random_string(SECRET_LENGTH)
    return body + checksum(body)


# Shown after the prefix in place of the secret part.
REDACTION = "\u2026"


def redact(value: str, prefix: str) -> str:
    """`at_live_…wXyZ`: the prefix and the last four characters, which are the checksum's (they
    reveal nothing of the secret part)."""
    return f"{prefix}{REDACTION}{value[-4:]}"


def looks_like_token(value: str, token_prefix: str) -> bool:
    """True when `value` is meant as an API token (rather than a JWT), valid or not; token_prefix
    is the deployment's TokenPrefix (a JWT starts eyJ, which no TokenPrefix_ does)."""
    return value.startswith(token_prefix + "_")


def is_well_formed(value: str, prefix: str) -> bool:
    """Prefix, length, alphabet and checksum all hold. Constant-time on the checksum."""
    if not value.startswith(prefix) or _SECRET_AND_CHECKSUM.fullmatch(value, len(prefix)) is None:
        return False
    body, check = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(checksum(body), check)


def digest(value: str) -> str:
    """What is stored instead of the token: its SHA-256, hex, over its UTF-8 (a token is ASCII).
    Defined for every string: a leak report may name any text, and each gets its hash (GitHub's
    token_hash). A lone surrogate, which UTF-8 cannot carry, is hashed as its surrogatepass bytes."""
    return hashlib.sha256(value.encode("utf-8", errors="surrogatepass")).hexdigest()
