"""pytest for mutmut 2, which counts only exit status 1 as a killed mutant: pytest exits 2 when
a mutant breaks an import (a module-level constant set to None), which mutmut would call a
survivor. Any failure is 1 here."""

from __future__ import annotations

import sys

import pytest

if __name__ == "__main__":
    sys.exit(0 if pytest.main(sys.argv[1:]) == 0 else 1)
