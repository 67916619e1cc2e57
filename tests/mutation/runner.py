"""pytest for mutmut 2, which counts only exit status 1 as a killed mutant: pytest exits 2 when
a mutant breaks an import (a module-level constant set to None), which mutmut would call a
survivor. Any failure is 1 here.

Plugin autoload is off: each mutant costs a pytest start, and the installed plugins (hypothesis,
schemathesis: seconds of imports at every start) serve no test of a mutation set."""

from __future__ import annotations

import os
import sys

import pytest

if __name__ == "__main__":
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # read by pytest.main, not at import
    sys.exit(0 if pytest.main(sys.argv[1:]) == 0 else 1)
