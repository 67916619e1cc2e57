"""Deployment size: everything the functions load beyond Lambda's runtime (the layers and the
functions' code), unzipped, as `sam build` ships it.

The layers are built by their own Makefiles (what `sam build` runs for BuildMethod makefile)
with the runtime's Python 3.12 into a scratch directory, or read from an existing `sam build`
output (`--sam-build DIR`, e.g. .aws-sam/build). The functions' code is copied as is.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from common import AUTHORIZER, CRUD_FUNCTIONS, FUNCTIONS_SOURCE, ROOT

LAYERS = {"SharedLayer": ROOT / "layers" / "shared", "TracingLayer": ROOT / "layers" / "tracing"}
MB = 1_000_000


@dataclass
class DeploymentSize:
    source: str
    layers: dict[str, int]
    functions: int
    largest: list[tuple[str, int]]

    @property
    def default_bytes(self) -> int:
        """Tracing off (EnableTracing's default): the shared layer and the functions."""
        return self.layers["SharedLayer"] + self.functions

    @property
    def traced_bytes(self) -> int:
        return self.default_bytes + self.layers["TracingLayer"]


def tree_bytes(path: Path) -> int:
    """Bytes of every file under `path` (unzipped size, as Lambda counts it)."""
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def function_bytes(path: Path) -> int:
    """A function's code as sam build copies it from a fresh checkout: no __pycache__ that tests
    may have left in a worktree."""
    files = (entry for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())
    return sum(entry.stat().st_size for entry in files if "__pycache__" not in entry.relative_to(path).parts)


def python312() -> str | None:
    """The runtime's Python for the layers' Makefiles: BENCH_LAYER_PYTHON, pyenv's 3.12, or
    python3.12 on PATH (a pyenv shim there may not answer, so pyenv's own comes first)."""
    candidates = [os.environ.get("BENCH_LAYER_PYTHON")]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.12*" / "bin" / "python")))
    candidates.append(shutil.which("python3.12"))
    return next((candidate for candidate in candidates if candidate), None)


def _largest(site: Path, count: int = 6) -> list[tuple[str, int]]:
    sizes = [(entry.name, tree_bytes(entry) if entry.is_dir() else entry.stat().st_size) for entry in site.iterdir()]
    return sorted(sizes, key=lambda pair: -pair[1])[:count]


def measure(scratch: Path, sam_build: Path | None = None) -> DeploymentSize:
    functions = sum(function_bytes(FUNCTIONS_SOURCE / name) for name in (AUTHORIZER, *CRUD_FUNCTIONS))
    if sam_build is not None:
        layers = {name: tree_bytes(sam_build / name) for name in LAYERS}
        largest = _largest(sam_build / "SharedLayer" / "python")
        return DeploymentSize(f"sam build output {sam_build}", layers, functions, largest)
    python = python312()
    if python is None:
        raise RuntimeError("no Python 3.12 to build the layers with: set BENCH_LAYER_PYTHON")
    layers = {}
    for name, directory in LAYERS.items():
        artifacts = scratch / name
        built = subprocess.run(
            ["make", "-s", "-C", str(directory), f"build-{name}", f"ARTIFACTS_DIR={artifacts}", f"PYTHON={python}"],
            check=False,
            capture_output=True,
        )
        if built.returncode != 0:
            raise RuntimeError(f"building {name} failed:\n{built.stderr.decode(errors='replace')}")
        layers[name] = tree_bytes(artifacts)
    largest = _largest(scratch / "SharedLayer" / "python")
    return DeploymentSize(f"layers/*/Makefile with {python}", layers, functions, largest)
