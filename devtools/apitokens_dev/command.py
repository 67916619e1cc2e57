"""The `apitokens` console command (pyproject.toml's [project.scripts])."""

from __future__ import annotations

import sys
from collections.abc import Sequence

# The top-level modules of pyproject.toml's `local` extra and what it brings.
LOCAL_EXTRA_MODULES = frozenset({"yaml", "moto", "werkzeug", "flask", "flask_cors"})


def main(argv: Sequence[str] | None = None) -> int:
    """apitokens_dev.cli.main, once the route catalog has loaded: a routes.txt that does not
    parse is one line naming its bad line (exit status 2), not a traceback from an import (every
    command imports the catalog, which is read and checked as its module loads)."""
    try:
        import apitokens.domain.scopes  # noqa: F401 - loading it reads and checks routes.txt
    except ValueError as error:
        # scopes.CatalogError; the module that defines it did not finish loading to import it from.
        if type(error).__name__ != "CatalogError":
            raise
        print(f"apitokens: {error}", file=sys.stderr)
        return 2
    from apitokens_dev.cli import main as run

    try:
        return run(argv)
    except ModuleNotFoundError as error:
        # The local server's packages are an extra: installed without it, a command that needs
        # them says which in one line instead of a traceback.
        if error.name is None or error.name.partition(".")[0] not in LOCAL_EXTRA_MODULES:
            raise
        print(
            f"apitokens: this command needs the local server's packages ({error.name} is missing): "
            "pip install 'apitokens[local]'",
            file=sys.stderr,
        )
        return 2
