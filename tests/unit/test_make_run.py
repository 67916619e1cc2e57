"""`make run` serves on the README's port, and `make run PORT=N` on another."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from apitokens_dev.template import PROJECT_ROOT


def recipe(*arguments: str) -> str:
    """The serve command `make run ARGUMENTS` would run (make -n prints it without running it)."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed: the README's commands need it")
    completed = subprocess.run(
        [make, "-s", "-n", "-C", str(PROJECT_ROOT), "run", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [serve] = [line for line in completed.stdout.splitlines() if "apitokens serve" in line]
    return serve


def test_make_run_serves_on_port_3000_by_default() -> None:
    assert recipe().endswith("apitokens serve --port 3000")


def test_make_run_takes_another_port() -> None:
    assert recipe("PORT=8123").endswith("apitokens serve --port 8123")
