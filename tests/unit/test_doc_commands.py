"""Every `apitokens ...` command the README and docs/ show exists as written: its subcommand (and
the admin action) and each option it names appear in the CLI's own `--help`. And the command
table of docs/development.md names every subcommand and every option the CLI has."""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from pathlib import Path

import pytest

from apitokens_dev.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TABLE = ROOT / "docs" / "development.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`]+)`")
# `apitokens` as a command: the program name (optionally from .venv/bin/) then an argument.
COMMAND = re.compile(r"(?:^|[\s/(\"'=])apitokens[ \t]+(?P<arguments>[^|;)&#\n]*)")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Options every command has, or that the table's prose explains for all of them at once.
COMMON_OPTIONS = {"--help", "--state-dir"}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_snippets(text: str) -> list[str]:
    """Lines of fenced blocks (continuations joined) and inline code spans (a wrapped span joined)."""
    snippets = [line for block in FENCE.findall(text) for line in block.replace("\\\n", " ").splitlines()]
    prose = FENCE.sub("", text)
    return snippets + [" ".join(span.split()) for span in CODE_SPAN.findall(prose)]


def shown_commands(text: str) -> list[list[str]]:
    """Each `apitokens` command shown in `text`, as its words (a table's `\\|` is one word)."""
    commands = []
    for snippet in code_snippets(text):
        for match in COMMAND.finditer(snippet.replace("\\|", "/")):
            words = match["arguments"].split()
            if words:
                commands.append(words)
    return commands


@cache
def help_text(*words: str) -> str | None:
    """What `apitokens WORDS --help` prints, or None when the CLI refuses WORDS."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main([*words, "--help"])
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                return None
    return out.getvalue()


def subcommands(*words: str) -> list[str]:
    """The subcommands `apitokens WORDS --help` lists under its positional arguments."""
    text = help_text(*words) or ""
    listed = text.split("positional arguments:", 1)[-1].split("options:", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]+)", listed, re.MULTILINE)


def command_path(words: list[str]) -> tuple[str, ...]:
    """The subcommand words of a shown command: `admin create-token`, `serve`, or () for options."""
    path: tuple[str, ...] = ()
    for word in words:
        if word.startswith("-") or word not in subcommands(*path):
            break
        path = (*path, word)
    return path


def unknown_parts(words: list[str]) -> list[str]:
    path = command_path(words)
    if not path and not words[0].startswith("-"):
        return [f"no subcommand {words[0]!r}"]
    if path and subcommands(*path):
        return [f"{' '.join(path)} needs one of {subcommands(*path)}"]
    known = set(OPTION.findall(help_text(*path) or ""))
    return [option for option in OPTION.findall(" ".join(words)) if option not in known]


def test_the_documents_show_commands() -> None:
    shown = [words for document in documents() for words in shown_commands(document.read_text(encoding="utf-8"))]
    assert {words[0] for words in shown} >= {"serve", "dev-jwt", "admin", "openapi", "run-scheduled"}


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_command_shown_exists_as_written(document: Path) -> None:
    wrong = {
        " ".join(words): unknown
        for words in shown_commands(document.read_text(encoding="utf-8"))
        if (unknown := unknown_parts(words))
    }
    assert wrong == {}


def every_command() -> list[tuple[str, ...]]:
    """Every runnable command of the CLI: a subcommand, or an admin action."""
    runnable: list[tuple[str, ...]] = []
    for name in subcommands():
        actions = subcommands(name)
        runnable += [(name, action) for action in actions] if actions else [(name,)]
    return runnable


def test_the_command_table_names_every_command_and_option() -> None:
    rows = [line for line in COMMAND_TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("| `apitokens ")]
    missing = []
    for path in every_command():
        prefix = f"| `apitokens {' '.join(path)}"
        row = next((line for line in rows if line.startswith((f"{prefix} ", f"{prefix}`"))), None)
        options = set(OPTION.findall(help_text(*path) or "")) - COMMON_OPTIONS
        if row is None:
            missing.append(" ".join(path))
        else:
            missing += [f"{' '.join(path)} {option}" for option in sorted(options) if option not in row]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("`apitokens serve --port 0`", {}),
        ("`apitokens serve --portt 0`", {"serve --portt 0": ["--portt"]}),
        ("```sh\nJWT=$(.venv/bin/apitokens dev-jwt --account acc_1 | tail -1)\n```", {}),
        ("`apitokens sreve`", {"sreve": ["no subcommand 'sreve'"]}),
        (
            "`apitokens admin --table T`",
            {"admin --table T": ["admin needs one of ['create-token', 'revoke', 'find-token']"]},
        ),
        ("`apitokens admin revoke --scope x`", {"admin revoke --scope x": ["--scope"]}),
        (
            "```sh\napitokens admin create-token --table T \\\n    --bogus 1\n```",
            {"admin create-token --table T --bogus 1": ["--bogus"]},
        ),
        ("the `apitokens` command, `apitokens-client`, `apitokens --version`", {}),
        ("`apitokens --verbose`", {"--verbose": ["--verbose"]}),
    ],
)
def test_the_check_finds_commands_that_do_not_exist(text: str, wrong: dict[str, list[str]]) -> None:
    found = {" ".join(words): unknown for words in shown_commands(text) if (unknown := unknown_parts(words))}
    assert found == wrong
