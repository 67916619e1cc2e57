"""The repository speaks of the product alone: no file it tracks refers to the document it was
specified from or to tracker issue numbers, which no reader of the repository has. The check is
the grep a reviewer runs (HISTORY below), over `git ls-files`, and the same for the files' paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces, so that this file does not match itself.
SPECIFICATION = "se" + "ed"
HISTORY = re.compile(rf"the {SPECIFICATION}|{SPECIFICATION}'s|issue [0-9]+", re.IGNORECASE)
PATH_HISTORY = re.compile(rf"(?:^|[/_.-]){SPECIFICATION}(?:[/_.-]|$)", re.IGNORECASE)


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.splitlines() if (ROOT / name).is_file()]


def history_lines(text: str) -> list[str]:
    return [
        f"{number}: {line.strip()[:120]}" for number, line in enumerate(text.splitlines(), 1) if HISTORY.search(line)
    ]


def test_no_tracked_file_speaks_of_the_specification_or_issue_numbers() -> None:
    found = []
    for name in tracked_files():
        data = (ROOT / name).read_bytes()
        if b"\0" in data:
            continue
        found += [f"{name}:{line}" for line in history_lines(data.decode("utf-8", errors="replace"))]
    assert found == []


def test_no_tracked_path_is_named_after_the_specification() -> None:
    assert [name for name in tracked_files() if PATH_HISTORY.search(name)] == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"as {'t' + 'he'} {SPECIFICATION} shows", True),
        (f"The {SPECIFICATION.upper()}'S examples", True),
        ("before Issue " + "14", True),
        ("random.seed(6) and a seeded replay", False),
        ("the issue is the log line", False),
    ],
)
def test_the_check_finds_what_a_reviewer_greps_for(text: str, found: bool) -> None:
    assert bool(history_lines(text)) is found
