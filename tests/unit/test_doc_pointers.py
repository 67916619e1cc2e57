"""Every pointer into the documentation names a section that exists: `README: "X"`,
`(docs/performance.md, "X")` and the like in any file of the repository (code comments and
docstrings included, a pointer broken over comment lines too), and `[text](file.md#anchor)`
links in the Markdown files.

A pointer names a section by its title or the first words of it: a Markdown heading, or the bold
title that opens a paragraph (`**Deployment size** (bench/size.py). ...`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The kinds of file whose comments and text may point into the documentation.
SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".sh", ".cfg")
POINTER = re.compile(
    r"""(?P<file>README(?:\.md)?|(?:docs/)?[A-Za-z0-9_-]+\.md)[,:]?\s+(?:section\s+)?["“](?P<title>[^"”\n]{2,120})["”]"""
)
ANCHOR = re.compile(r"\]\((?P<file>[A-Za-z0-9_./-]*?)#(?P<anchor>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
BOLD_TITLE = re.compile(r"^\*\*([^*]+?)\*\*", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# A line break inside a comment, with what continues the comment on the next line.
COMMENT_BREAK = re.compile(r"\n[ \t]*(?:#(?!#)|//)?[ \t]*")


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    names = [name for name in listed.splitlines() if name.endswith(SUFFIXES) or Path(name).name == "Makefile"]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def section_titles(document: Path) -> list[str]:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    return [" ".join(title.split()) for title in HEADING.findall(text) + BOLD_TITLE.findall(text)]


def names_a_section(title: str, titles: list[str]) -> bool:
    """`title` is a section's title or its first words (the rest after a space or punctuation)."""
    return any(
        existing == title or (existing.startswith(title) and not existing[len(title)].isalnum()) for existing in titles
    )


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def pointed_document(name: str, source: Path) -> Path:
    if name.startswith("README"):
        return ROOT / "README.md"
    if "/" in name:
        return ROOT / name
    # A bare name: a document beside the file that names it, then in docs/, then at the root.
    for candidate in (source.parent / name, ROOT / "docs" / name, ROOT / name):
        if candidate.is_file():
            return candidate
    return ROOT / name


def pointers() -> list[tuple[str, Path, str]]:
    """(where, the document pointed to, the section title) of every pointer of the repository."""
    found = []
    for source in repository_files():
        text = COMMENT_BREAK.sub(" ", source.read_text(encoding="utf-8", errors="replace"))
        for match in POINTER.finditer(text):
            where = f"{source.relative_to(ROOT)}: {match.group(0)}"
            found.append((where, pointed_document(match["file"], source), match["title"].strip()))
    return found


def anchor_links() -> list[tuple[str, Path, str]]:
    """(where, the document linked to, the anchor) of every Markdown link with an anchor."""
    found = []
    for source in repository_files():
        if source.suffix != ".md":
            continue
        for match in ANCHOR.finditer(source.read_text(encoding="utf-8")):
            document = (source.parent / match["file"]).resolve() if match["file"] else source
            found.append((f"{source.relative_to(ROOT)}: {match.group(0)}", document, match["anchor"]))
    return found


def test_the_repository_has_pointers_to_check() -> None:
    assert len(pointers()) >= 10
    assert anchor_links()


def test_every_pointer_names_a_section_of_an_existing_document() -> None:
    broken = [
        f"{where} -> {document.relative_to(ROOT) if document.is_relative_to(ROOT) else document}"
        for where, document, title in pointers()
        if not document.is_file() or not names_a_section(title, section_titles(document))
    ]
    assert broken == []


def test_every_anchor_link_reaches_a_heading() -> None:
    broken = []
    for where, document, anchor in anchor_links():
        text = FENCE.sub("", document.read_text(encoding="utf-8")) if document.is_file() else ""
        if anchor not in {github_anchor(heading) for heading in HEADING.findall(text)}:
            broken.append(where)
    assert broken == []


@pytest.mark.parametrize(
    ("title", "titles", "named"),
    [
        ("Lineage", ["Lineage and cascading revocation"], True),
        ("Roll", ["Roll (rotate) a token"], True),
        ("Deployment size", ["Deployment size: held, 32.2 MB"], True),
        ("Data model", ["Data model"], True),
        ("CRUD cold start", ["CRUD cold starts (goal 1.6)"], False),
        ("Usage", ["Usage plans"], True),
        ("Layer size", ["Deployment size"], False),
    ],
)
def test_a_pointer_names_a_section_by_its_title_or_first_words(title: str, titles: list[str], named: bool) -> None:
    assert names_a_section(title, titles) is named
