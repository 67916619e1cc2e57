"""apitokens.startup.lambda_init: a handler module's init runs with no garbage collection, and
what it built is frozen out of later passes; the collector is back afterwards, even when init
fails. The dev loader hands a test process's objects back to the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from apitokens.startup import lambda_init
from apitokens_dev.template import load_module


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_no_collection_inside_then_init_objects_frozen_and_the_collector_back() -> None:
    gc.unfreeze()
    with lambda_init():
        assert not gc.isenabled()
        built = [{"init": index} for index in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)


def test_an_init_that_fails_still_gives_the_collector_back() -> None:
    with pytest.raises(RuntimeError), lambda_init():
        raise RuntimeError("bad setting")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with lambda_init():
        pass
    assert not gc.isenabled()


def test_loading_a_handler_leaves_nothing_frozen_in_the_loading_process(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from apitokens.startup import lambda_init\n\nwith lambda_init():\n    STATE = {'loaded': True}\n",
        encoding="utf-8",
    )
    module = load_module(tmp_path, "app.handler")
    assert module.STATE == {"loaded": True}
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
