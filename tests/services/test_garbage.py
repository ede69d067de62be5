"""A bulk job raises the collector's threshold while it runs, and puts it back."""

from __future__ import annotations

import gc

import pytest

from regie.services import garbage


def test_the_threshold_is_raised_during_the_block_and_restored_after_it() -> None:
    before = gc.get_threshold()
    with garbage.fewer_collections():
        assert gc.get_threshold() == (garbage.BULK_THRESHOLD, before[1], before[2])
    assert gc.get_threshold() == before


def test_overlapping_jobs_restore_it_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first, second = garbage.fewer_collections(), garbage.fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == garbage.BULK_THRESHOLD  # the second job still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_it_is_restored_when_the_job_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), garbage.fewer_collections():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
