"""Patrol compliance (见警率): was every must-patrol target visited in every 15-minute window?

A unit *visits* a target when its matched track stays in the target's region
(:mod:`patrol.presence`: within ``visit_m`` metres of a point's road position, of a line, or of
an area or inside it) for at least the target's dwell time, less ``slack_s`` (fixes a few
seconds apart place a stay's ends only that closely), without a break; along a line it must
also cover ``along_share`` of the line's length in that stay (driving across a line is no visit).
A visit counts for every window in which the target has been patrolled in it: from the moment
its dwell is complete until the unit leaves (a car parked at a point for an hour counts for four
windows; a stop of exactly the dwell, for the window in which it ends). Windows are whole
quarter hours of the clock (seconds since 1970 that are multiples of ``window_s``).

The visit rate of a target is the share of its windows visited; of a zone or a shift, the share
of its targets' windows visited (and weighted by the targets' weights). Shifts are local times
of day (default three of 8 hours from 00:00, 08:00 and 16:00 at UTC+8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from patrol.presence import Regions, Stays, Tracks, stays

#: Seconds of one compliance window.
WINDOW_S = 900
#: Metres from a target within which a unit is there.
VISIT_M = 50.0
#: Share of a line's length a unit must drive along it in one stay.
ALONG_SHARE = 0.8
#: Seconds a stay may fall short of the dwell: the ends of a stay are known only to about the
#: time between two fixes (5 s from the simulated fleet and most vehicle trackers).
SLACK_S = 5.0


@dataclass(frozen=True)
class TargetSet:
    """Targets to check, arrays in one order: id, zone id, kind ('point', 'line', 'area'),
    geometry in the tracks' metric CRS (a point: where a car stops for it on the road), dwell
    (s) and weight."""

    id: NDArray[np.int64]
    zone_id: NDArray[np.int64]
    kind: NDArray[np.str_]
    geometry: NDArray[np.object_]
    dwell_s: NDArray[np.float64]
    weight: NDArray[np.float64]


@dataclass(frozen=True)
class Compliance:
    """Per target (rows, in the order of the :class:`TargetSet`) and window (columns, starting
    at ``window_start``, seconds since 1970): ``visited``; ``first_s``, the arrival (s since
    1970) of the first visit counted for the window (NaN: none) and its ``unit`` (-1); and
    ``longest_s``, the longest stay at the target overlapping the window, visit or not (the
    dwell achieved, seconds)."""

    targets: TargetSet
    window_start: NDArray[np.float64]
    window_s: float
    visited: NDArray[np.bool_]
    first_s: NDArray[np.float64]
    unit: NDArray[np.int64]
    longest_s: NDArray[np.float64]


def compliance(tracks: Tracks, targets: TargetSet, *, start_s: float, end_s: float,
               visit_m: float = VISIT_M, along_share: float = ALONG_SHARE,
               slack_s: float = SLACK_S, window_s: float = WINDOW_S) -> Compliance:
    """The compliance of ``targets`` over the windows covering [start_s, end_s) (seconds since
    1970, widened to whole windows) by the units of ``tracks`` (see the module)."""
    if not end_s > start_s:
        raise ValueError("the end of the range must be after its start")
    first = np.floor(start_s / window_s) * window_s
    windows = np.arange(first, end_s, window_s, dtype=np.float64)
    shape = (len(targets.id), len(windows))
    found = stays(tracks, Regions(targets.kind, targets.geometry, visit_m))
    dwell = np.maximum(targets.dwell_s[found.target] - slack_s, 0.0)
    result = Compliance(targets, windows, float(window_s), np.zeros(shape, bool),
                        np.full(shape, np.nan), np.full(shape, -1, np.int64), np.zeros(shape))
    _longest(result, found)
    ok = _qualifies(found, dwell, targets, along_share)
    _credit(result, found, ok, dwell)
    return result


def _qualifies(found: Stays, dwell: NDArray, targets: TargetSet, along_share: float
               ) -> NDArray[np.bool_]:
    """Stays of at least ``dwell`` (s, per stay), and along lines far enough, to be visits."""
    long_enough = found.end - found.start >= dwell - 1e-6
    line = targets.kind[found.target] == "line"
    length = shapely.length(targets.geometry[found.target])
    return long_enough & (~line | (found.span_m >= along_share * length - 1e-6))


def _window_pairs(result: Compliance, index: NDArray, begin: NDArray, end: NDArray
                  ) -> tuple[NDArray, NDArray]:
    """(stay index, window index) of every window that [begin, end] overlaps."""
    w = result.window_s
    lo = np.floor((begin - result.window_start[0]) / w).astype(np.int64)
    hi = np.maximum(lo, np.ceil((end - result.window_start[0]) / w).astype(np.int64) - 1)
    lo, hi = np.maximum(lo, 0), np.minimum(hi, len(result.window_start) - 1)
    keep = hi >= lo
    index, lo, hi = index[keep], lo[keep], hi[keep]
    count = hi - lo + 1
    pair = np.repeat(index, count)
    window = np.repeat(lo, count) + np.arange(len(pair)) - np.repeat(np.cumsum(count) - count,
                                                                      count)
    return pair, window


def _longest(result: Compliance, found: Stays) -> None:
    pair, window = _window_pairs(result, np.arange(len(found.start)), found.start, found.end)
    np.maximum.at(result.longest_s, (found.target[pair], window),
                  found.end[pair] - found.start[pair])


def _credit(result: Compliance, found: Stays, ok: NDArray, dwell: NDArray) -> None:
    """Mark the windows of every visit, with the first arrival and its unit."""
    index = np.flatnonzero(ok)
    pair, window = _window_pairs(result, index, found.start[index] + dwell[index],
                                 found.end[index])
    target = found.target[pair]
    order = np.lexsort((found.start[pair], window, target))
    target, window, pair = target[order], window[order], pair[order]
    head = np.ones(len(pair), bool)
    head[1:] = (target[1:] != target[:-1]) | (window[1:] != window[:-1])
    target, window, pair = target[head], window[head], pair[head]
    result.visited[target, window] = True
    result.first_s[target, window] = found.start[pair]
    result.unit[target, window] = found.unit[pair]


@dataclass(frozen=True)
class Shifts:
    """Shifts as local start hours of the day (ascending, the first shift may start after
    midnight: the hours before it belong to the day's last shift) at ``utc_offset_h``."""

    starts_h: tuple[float, ...] = (0.0, 8.0, 16.0)
    utc_offset_h: float = 8.0

    def __post_init__(self) -> None:
        hours = list(self.starts_h)
        if not hours or hours != sorted(set(hours)) or hours[0] < 0 or hours[-1] >= 24:
            raise ValueError("shift start hours must be distinct, ascending, within 0-24")

    def of(self, seconds: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(local day number since 1970, shift index) of each time (seconds since 1970)."""
        local_h = (np.asarray(seconds) + self.utc_offset_h * 3600) / 3600
        shift = np.searchsorted(self.starts_h, local_h % 24, side="right") - 1
        day = np.floor(local_h / 24).astype(np.int64)
        day = np.where(shift < 0, day - 1, day)  # before the first start: yesterday's last
        return day, np.where(shift < 0, len(self.starts_h) - 1, shift)

    def start_of(self, day: int, shift: int) -> float:
        """Seconds since 1970 at which shift ``shift`` of local day ``day`` starts."""
        return (day * 24 + self.starts_h[shift] - self.utc_offset_h) * 3600.0
