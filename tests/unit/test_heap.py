"""ingest.heap: a pull's heap frozen for the pull only, unless the sync loop settled it."""

from __future__ import annotations

import gc

import pytest

from ingest import heap


def test_frozen_unfreezes_after_the_block_in_an_unsettled_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_settled", False)
    gc.unfreeze()
    with heap.frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_settled_heap_stays_frozen_after_a_pull(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_settled", False)
    try:
        heap.settle()
        with heap.frozen():
            pass
        assert gc.get_freeze_count() > 0 and heap._settled
    finally:
        gc.unfreeze()
