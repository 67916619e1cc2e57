"""A Lambda function's init: the handler module's imports and the objects it builds at module
level (settings, client, resolver), which live as long as the worker does.

Every handler module runs its init inside `lambda_init()`. The garbage collector's passes during
init free next to nothing (what init builds is kept), yet they took 33-38 ms of both a CRUD
handler's and the authorizer's init, one full pass over the 80,000 objects alone 15-20 ms
(docs/performance.md, "Cold start"). So the collector is off during
init, and what init built is then frozen (gc.freeze): it stays out of every later pass, so the
first requests do not pay for traversing it either.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def lambda_init() -> Iterator[None]:
    """No garbage collection inside; on leaving (even by an exception), what exists is frozen
    and the collector is back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
