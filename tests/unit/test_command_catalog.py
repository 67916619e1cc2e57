"""The `apitokens` command with a route catalog that does not parse: one line naming the bad
line and exit status 2, not a traceback (apitokens_dev.command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import apitokens

LAYER_PACKAGE = Path(apitokens.__file__).parent
RUN = "import sys; from apitokens_dev.command import main; sys.exit(main(['dev-jwt', '--help']))"


def run_with_catalog(tmp_path: Path, catalog: str) -> subprocess.CompletedProcess[str]:
    """The command against a copy of the layer's package whose routes.txt is `catalog`."""
    copy = tmp_path / "layer" / "apitokens"
    shutil.copytree(LAYER_PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "domain" / "routes.txt").write_text(catalog, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(copy.parent)}
    return subprocess.run(
        [sys.executable, "-c", RUN], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_malformed_route_catalog_is_one_line_naming_its_bad_line(tmp_path: Path) -> None:
    good = (LAYER_PACKAGE / "domain" / "routes.txt").read_text(encoding="utf-8")
    completed = run_with_catalog(tmp_path, good + "\nFETCH /accounts/{accountSid}/things tokens:read\n")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("apitokens: routes.txt line ")
    assert "unknown method 'FETCH'" in line


def test_the_copied_catalog_unchanged_runs_the_command(tmp_path: Path) -> None:
    """The same copy with its catalog as shipped: the command runs (so the test above fails for
    the catalog, not for the copy)."""
    good = (LAYER_PACKAGE / "domain" / "routes.txt").read_text(encoding="utf-8")
    completed = run_with_catalog(tmp_path, good)
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout
