"""settle() collects what is already garbage before it freezes what is left."""

from __future__ import annotations

import gc
import weakref

from app.serving import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settle_frees_cycles_and_freezes_the_rest() -> None:
    kept = _Node()
    dropped = _Node()
    dropped_ref = weakref.ref(dropped)
    del dropped
    try:
        heap.settle()
        assert dropped_ref() is None
        assert gc.get_freeze_count() > 0
        assert all(tracked is not kept for tracked in gc.get_objects())  # frozen: out of reach
    finally:
        gc.unfreeze()
