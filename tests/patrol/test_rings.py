"""Ring classification (``patrol.dispatch.ring_of``): the 1/3/5-minute rapid-response rings are
closed at their limits (60, 180 and 300 s); anything slower, or unreachable, is "beyond"."""

from __future__ import annotations

import math

import pytest

from patrol.dispatch import RING_SECONDS, ring_of


@pytest.mark.parametrize(("seconds", "ring"), [
    (0.0, "1"), (59.9999, "1"), (60.0, "1"), (60.0001, "3"),
    (180.0, "3"), (180.0001, "5"), (300.0, "5"), (300.0001, "beyond"),
    (3600.0, "beyond"), (math.inf, "beyond"),
])
def test_ring_boundaries(seconds, ring):
    assert ring_of(seconds) == ring


def test_rings_are_one_three_and_five_minutes():
    assert RING_SECONDS == (60, 180, 300)
    assert [ring_of(s) for s in RING_SECONDS] == ["1", "3", "5"]


def test_an_unknown_time_is_beyond_every_ring():
    assert ring_of(math.nan) == "beyond"
