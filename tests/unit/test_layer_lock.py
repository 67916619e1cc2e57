"""The layer's lock file (layers/shared/requirements.txt, `make lock`) matches pyproject.toml:
every dependency is pinned within its range, with hashes, extras' dependencies included, and
nothing is pinned that pyproject.toml no longer asks for."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "layers" / "shared" / "requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def project_requirements() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return [Requirement(line) for line in tomllib.load(stream)["project"]["dependencies"]]


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every pin of the lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return pins


def direct_pins() -> set[str]:
    """The pins the lock says pyproject.toml asked for (uv's `# via apitokens (pyproject.toml)`)."""
    names: set[str] = set()
    current: str | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
        elif current and "apitokens (pyproject.toml)" in line:
            names.add(current)
    return names


def test_every_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    for requirement in project_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in the lock: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} is outside pyproject.toml's {requirement.specifier}: run `make lock`"
        )


def test_every_pin_has_a_hash() -> None:
    pins = locked()
    assert pins
    for name, (_, hashes) in pins.items():
        assert hashes, f"{name} has no --hash"
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in hashes), name


def test_the_lock_pins_what_pyproject_asks_for_and_no_stale_direct_dependency() -> None:
    assert direct_pins() == {canonicalize_name(requirement.name) for requirement in project_requirements()}


def test_extras_dependencies_are_locked() -> None:
    pins = locked()
    for requirement in project_requirements():
        for extra in requirement.extras:
            for line in importlib.metadata.requires(requirement.name) or []:
                needed = Requirement(line)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra, "python_version": "3.12"}):
                    name = canonicalize_name(needed.name)
                    assert name in pins, f"{requirement.name}[{extra}] needs {name}, which the lock lacks"
