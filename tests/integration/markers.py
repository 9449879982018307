"""Markers shared by the distributed-mode tests."""

from __future__ import annotations

import pytest

# Remove once faust never stalls a partition under repeated worker kills (see the closing note).
FAUST_STALL = pytest.mark.xfail(strict=False, reason=(
    "known issue (issue 3): with two workers killed and replaced four times in quick succession, "
    "faust-streaming 0.15 sometimes leaves a partition unconsumed after a rebalance (2-3 runs in 10 "
    "here); the worker's stall watchdog re-reads it, but not every time within the test's 240 s. "
    "A failure shows as XFAIL, a pass as XPASS"))
