"""The commit-offset rule that replaces faust's ``Consumer._new_offset`` (stream_jobs/faust_patches.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from stream_jobs.faust_patches import _new_offset, commit_floor, holes, next_commit


def test_a_run_from_the_committed_offset_is_committed() -> None:
    assert next_commit([10, 11, 12], 10) == (13, [])


def test_duplicates_do_not_cut_the_run() -> None:
    # faust merged gap ranges into the acked list without removing duplicates: every run ended at the
    # first duplicate and the commit crawled forward one offset per interval
    acked = [2203, 2204, 2204, 2205, 2205, 2206, 2206, 2207]
    assert next_commit(acked, 2204) == (2208, [])


def test_nothing_is_committed_past_an_offset_still_in_flight() -> None:
    # faust committed when min(acked) - committed == 1, skipping the record at the committed offset
    assert next_commit([11, 12, 13], 10) == (None, [11, 12, 13])
    assert next_commit([10, 11, 13, 14], 10) == (12, [13, 14])


def test_offsets_below_the_start_are_dropped() -> None:
    assert next_commit([5, 6, 7, 8], 7) == (9, [])


def test_unknown_start_uses_the_smallest_acked_offset() -> None:
    assert next_commit([3, 4, 6], None) == (5, [6])
    assert next_commit([], None) == (None, [])


def _consumer(acked: list[int], committed: int | None, gap: object = None) -> SimpleNamespace:
    tp = ("t", 0)
    return SimpleNamespace(_acked={tp: list(acked)}, _acked_index={tp: set(acked)},
                           _gap={tp: gap} if gap is not None else {}, _committed_offset={tp: committed})


def test_patched_new_offset_keeps_list_and_index_in_step() -> None:
    c = _consumer([7, 8, 8, 10], 7)
    assert _new_offset(c, ("t", 0)) == 9
    assert c._acked[("t", 0)] == [10]
    assert c._acked_index[("t", 0)] == {10}
    assert _new_offset(c, ("t", 0)) is None  # 9 is still in flight


def test_a_partition_never_committed_starts_at_its_first_offset() -> None:
    c = _consumer([4, 5], None)
    commit_floor(c)[("t", 0)] = 0
    assert _new_offset(c, ("t", 0)) is None  # 0..3 not acked yet: nothing may be committed
    c._acked[("t", 0)] = [0, 1, 2, 3, 4, 5]
    assert _new_offset(c, ("t", 0)) == 6


@pytest.mark.parametrize("committed", [3, None])
def test_gaps_are_not_taken_as_acked(committed: int | None) -> None:
    from intervaltree import IntervalTree

    gap = IntervalTree()
    gap.addi(3, 6)  # faust believed 3..5 had no record
    c = _consumer([6, 7], committed, gap)
    commit_floor(c)[("t", 0)] = 3
    assert _new_offset(c, ("t", 0)) is None
    assert not gap


def test_a_hole_is_recorded_until_the_missing_offset_is_acked() -> None:
    c = _consumer([11, 12], 10)
    assert _new_offset(c, ("t", 0)) is None
    since = holes(c)[("t", 0)]
    assert _new_offset(c, ("t", 0)) is None and holes(c)[("t", 0)] == since  # the first sighting is kept
    c._acked[("t", 0)].append(10)
    assert _new_offset(c, ("t", 0)) == 13
    assert ("t", 0) not in holes(c)


def test_hole_range_and_mark_acked_close_the_hole() -> None:
    from stream_jobs.faust_patches import hole_range, mark_acked

    c = _consumer([8, 9], 5)
    assert hole_range(c, ("t", 0)) == (5, 8)
    mark_acked(c, ("t", 0), [5, 6, 7, 8])  # 8 is acked already: not twice
    assert sorted(c._acked[("t", 0)]) == [5, 6, 7, 8, 9]
    assert hole_range(c, ("t", 0)) is None
    assert _new_offset(c, ("t", 0)) == 10
