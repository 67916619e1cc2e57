"""The request log (the server's stderr) never shows a credential, however a client spells it in
the URL: plain, percent-encoded once or more, in upper case or in fullwidth letters."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, unquote

import pytest

from tests.harness import ACCOUNT, LocalServer


def _every_character(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if char.isalnum() and char.isascii() else char for char in text)


# Each way of writing a secret into a request target.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda secret: secret,
    "underscores %5F": lambda secret: secret.replace("_", "%5F"),
    "underscores %5f": lambda secret: secret.replace("_", "%5f"),
    "first letter %61": lambda secret: "%" + format(ord(secret[0]), "02x") + secret[1:],
    "dots %2E": lambda secret: secret.replace(".", "%2E"),
    "dots %2e": lambda secret: secret.replace(".", "%2e"),
    "every character": _every_character,
    "double-encoded": lambda secret: quote(_every_character(secret), safe=""),
    "triple-encoded underscores": lambda secret: secret.replace("_", "%25255F"),
    "upper case": lambda secret: secret[:8].upper() + secret[8:],
    "fullwidth, UTF-8 percent-encoded": lambda secret: quote(_fullwidth(secret), safe=""),
}
PLACES: dict[str, Callable[[str], str]] = {
    "path": lambda spelled: f"/v1/accounts/{spelled}/apiTokens",
    "path end": lambda spelled: f"/v1/{spelled}",
    "query": lambda spelled: f"/v1/accounts/{ACCOUNT}/apiTokens?startingAfter={spelled}&limit=1",
    "query name": lambda spelled: f"/v1/accounts/{ACCOUNT}/apiTokens?{spelled}=1",
}


def _log_through(server: LocalServer, marker: str) -> str:
    """The server's stderr once it holds `marker` (a line is written just after its answer)."""
    deadline = time.monotonic() + 10
    while marker not in (stderr := server.logs()[1]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker in stderr
    return stderr


def _meanings(log: str) -> list[str]:
    """The log as written, and as each decoding a reader could apply shows it."""
    decoded = log
    while (once := unquote(decoded)) != decoded:
        decoded = once
    return [log, decoded, unicodedata.normalize("NFKC", decoded)]


@pytest.fixture(scope="module")
def secrets(server: LocalServer, jwt: str) -> dict[str, str]:
    token = server.create_token(jwt)["token"]
    return {"token": token, "jwt": jwt}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("kind", ["token", "jwt"])
def test_no_spelling_of_a_credential_reaches_the_log(
    server: LocalServer, secrets: dict[str, str], kind: str, spelling: str, place: str
) -> None:
    secret = secrets[kind]
    target = PLACES[place](SPELLINGS[spelling](secret))
    offset = len(server.logs()[1])
    marker = f"/v1/redaction-marker-{kind}-{offset}"
    reply = server.send("GET", target, headers=[("Host", "127.0.0.1")])
    assert 400 <= reply.status < 500, reply.text
    server.send("GET", marker, headers=[("Host", "127.0.0.1")])  # its line follows the request's
    stderr = _log_through(server, marker)[offset:]  # this test's lines only
    # The part after the prefix (token) or the signature (JWT) is what must never show.
    hidden = secret.removeprefix("at_test_") if kind == "token" else secret.rsplit(".", 1)[1]
    for text in _meanings(stderr):
        assert hidden not in text, f"{kind} spelled {spelling!r} in the {place} reached the log"
    assert all(len(line) < 400 and "\r" not in line for line in stderr.splitlines())


def test_a_control_character_in_the_target_cannot_forge_a_log_line(server: LocalServer) -> None:
    reply = server.send("GET", "/v1/x%0AGET%20/v1/forged%20200%200ms", headers=[("Host", "127.0.0.1")])
    assert reply.status == 403  # no such route
    server.send("GET", "/v1/forgery-marker", headers=[("Host", "127.0.0.1")])
    stderr = _log_through(server, "/v1/forgery-marker")
    assert not any(line.startswith("GET /v1/forged") for line in stderr.splitlines())
