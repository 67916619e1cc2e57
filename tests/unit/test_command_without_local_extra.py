"""The `apitokens` command installed without its `local` extra (pyproject.toml): the commands
that need the local server's packages say which extra to install in one line (exit status 2);
the others still work."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The interpreter as `pip install apitokens` leaves it: none of the local extra's modules import.
WITHOUT_LOCAL_EXTRA = """
import sys
for name in ("yaml", "moto", "werkzeug", "flask", "flask_cors"):
    sys.modules[name] = None
from apitokens_dev.command import main
sys.exit(main(sys.argv[1:]))
"""


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCAL_EXTRA, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("arguments", [("openapi",), ("serve", "--port", "0"), ("run-scheduled", "expiry")])
def test_a_command_that_needs_the_extra_names_it_in_one_line(arguments: tuple[str, ...]) -> None:
    completed = run(*arguments)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("apitokens: this command needs the local server's packages (")
    assert line.endswith("pip install 'apitokens[local]'")


def test_a_command_that_does_not_need_it_still_runs() -> None:
    completed = run("--version")
    assert completed.returncode == 0
    assert completed.stdout.startswith("apitokens ")
