"""The layers' lock files (`make lock`) match pyproject.toml: layers/shared/requirements.txt pins
every dependency within its range, with hashes, extras' dependencies included, and nothing that
pyproject.toml no longer asks for; layers/tracing/requirements.txt does the same for the
`tracing` extra. Neither ships what Lambda's Python runtime provides (boto3, botocore...): a
layer copy would shadow the runtime's and could mismatch it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "layers" / "shared" / "requirements.txt"
TRACING_LOCK = ROOT / "layers" / "tracing" / "requirements.txt"
# What Lambda's python3.12 runtime has; the Makefile's RUNTIME_PACKAGES leaves them out of the locks.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def project_requirements() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return [Requirement(line) for line in tomllib.load(stream)["project"]["dependencies"]]


def tracing_requirements() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        return [Requirement(line) for line in tomllib.load(stream)["project"]["optional-dependencies"]["tracing"]]


def shipped_requirements() -> list[Requirement]:
    return [req for req in project_requirements() if canonicalize_name(req.name) not in RUNTIME_PROVIDED]


def locked(lock: Path = LOCK) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every pin of the lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
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
    for requirement in shipped_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in the lock: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} is outside pyproject.toml's {requirement.specifier}: run `make lock`"
        )


def test_every_pin_has_a_hash() -> None:
    for lock in (LOCK, TRACING_LOCK):
        pins = locked(lock)
        assert pins
        for name, (_, hashes) in pins.items():
            assert hashes, f"{name} has no --hash"
            assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in hashes), name


def test_the_lock_pins_what_pyproject_asks_for_and_no_stale_direct_dependency() -> None:
    assert direct_pins() == {canonicalize_name(requirement.name) for requirement in shipped_requirements()}


def test_no_layer_ships_what_the_lambda_runtime_provides() -> None:
    for lock in (LOCK, TRACING_LOCK):
        assert not RUNTIME_PROVIDED & set(locked(lock)), f"{lock.name} ships a runtime package: run `make lock`"
    # The code still needs boto3: pyproject.toml says which minimum, and only a minimum (the
    # runtime's version is not ours to pin).
    boto3 = next(req for req in project_requirements() if canonicalize_name(req.name) == "boto3")
    assert [spec.operator for spec in boto3.specifier] == [">="]


def test_tracing_layer_pins_the_tracing_extra_and_the_shared_layer_does_not() -> None:
    tracing, shared = locked(TRACING_LOCK), locked()
    for requirement in tracing_requirements():
        name = canonicalize_name(requirement.name)
        assert name in tracing, f"{name} is in the tracing extra but not in its lock: run `make lock`"
        assert requirement.specifier.contains(tracing[name][0], prereleases=True)
        assert name not in shared, f"{name} belongs in the tracing layer only"


def test_extras_dependencies_are_locked() -> None:
    pins = locked()
    for requirement in shipped_requirements():
        for extra in requirement.extras:
            for line in importlib.metadata.requires(requirement.name) or []:
                needed = Requirement(line)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra, "python_version": "3.12"}):
                    name = canonicalize_name(needed.name)
                    assert name in pins, f"{requirement.name}[{extra}] needs {name}, which the lock lacks"
