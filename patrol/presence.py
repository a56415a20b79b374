"""When units were at must-patrol targets: exact presence intervals from tracks (pure, numpy and
shapely 2 vectorised).

A track is a unit's matched path: vertices in a metric CRS (metres) with a time (seconds) each,
cut into pieces where the match broke; between two vertices of a piece the unit moves in a
straight line at constant speed. A target is a region: a point's disc of radius ``visit_m``
around its road position, a line's buffer of ``visit_m``, an area grown by ``visit_m`` (a car on
the road along its edge is there). A *stay* is a maximal time interval during which a unit is
inside a target's region without a break; for a line it also records how far along the line the
unit got (the span of its positions projected onto the line, metres).

Candidate (segment, target) pairs come from a uniform grid (segments are cut to at most
``MAX_STEP_M`` first), then each pair's time inside the region is solved exactly: a quadratic for
a disc, the segment's intersection with the polygon otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

#: Longest straight step (metres) a track segment is cut to before the grid search.
MAX_STEP_M = 100.0
#: Grid cell (metres) of the candidate search.
CELL_M = 250.0
#: Two intervals of one unit at one target closer than this (seconds) are one stay.
JOIN_S = 1e-3


@dataclass(frozen=True)
class Tracks:
    """Vertices of every unit's matched path, sorted by unit, piece and time: unit id, piece
    number (a unit's vertices of different pieces are not joined), time (s), x and y (m)."""

    unit: NDArray[np.int64]
    piece: NDArray[np.int64]
    t: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]

    @classmethod
    def concat(cls, parts: list[Tracks]) -> Tracks:
        """Several units' tracks as one."""
        if not parts:
            empty = np.empty(0)
            return cls(empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty)
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("unit", "piece", "t", "x", "y")))


@dataclass(frozen=True)
class Regions:
    """Target regions in the tracks' metric CRS: ``kind`` 'point' (``geometry`` is the point
    where a car stops for it), 'line' or 'area'; ``visit_m`` the distance that counts as there."""

    kind: NDArray[np.str_]
    geometry: NDArray[np.object_]
    visit_m: float

    @property
    def shapes(self) -> NDArray[np.object_]:
        """The regions as polygons (points: their disc, for drawing and bounds)."""
        return shapely.buffer(self.geometry, self.visit_m)


@dataclass(frozen=True)
class Stays:
    """Stays (see the module), sorted by target and start: target index, unit id, start and
    end (s) and for line targets the span along the line (m; 0 for other kinds)."""

    target: NDArray[np.int64]
    unit: NDArray[np.int64]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    span_m: NDArray[np.float64]


def stays(tracks: Tracks, regions: Regions) -> Stays:
    """Every stay of every unit at every target (see the module)."""
    seg = _segments(tracks)
    pair_seg, pair_target = _candidates(seg, regions)
    parts = [_disc_intervals(seg, regions, pair_seg, pair_target),
             _polygon_intervals(seg, regions, pair_seg, pair_target)]
    target, seg_index, s0, s1, along0, along1 = (np.concatenate(c) for c in zip(*parts))
    a, b = seg["t0"][seg_index], seg["t1"][seg_index]
    return _join(target, seg["unit"][seg_index], a + s0 * (b - a), a + s1 * (b - a),
                 along0, along1)


def _segments(tracks: Tracks) -> dict[str, NDArray]:
    """Consecutive vertices of one unit's piece as segments, cut to at most MAX_STEP_M."""
    same = (tracks.unit[1:] == tracks.unit[:-1]) & (tracks.piece[1:] == tracks.piece[:-1])
    i = np.flatnonzero(same)
    x0, y0, x1, y1 = tracks.x[i], tracks.y[i], tracks.x[i + 1], tracks.y[i + 1]
    cuts = np.maximum(1, np.ceil(np.hypot(x1 - x0, y1 - y0) / MAX_STEP_M)).astype(np.int64)
    owner = np.repeat(np.arange(len(i)), cuts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(cuts) - cuts, cuts)
    f0, f1 = k / cuts[owner], (k + 1) / cuts[owner]
    j = i[owner]

    def lerp(v: NDArray, f: NDArray) -> NDArray:
        return v[j] + f * (v[j + 1] - v[j])

    return {"unit": tracks.unit[j], "t0": lerp(tracks.t, f0), "t1": lerp(tracks.t, f1),
            "x0": lerp(tracks.x, f0), "y0": lerp(tracks.y, f0),
            "x1": lerp(tracks.x, f1), "y1": lerp(tracks.y, f1)}


def _candidates(seg: dict[str, NDArray], regions: Regions) -> tuple[NDArray, NDArray]:
    """(segment, target) pairs whose bounding boxes overlap, found through a grid of CELL_M
    cells: each target is listed in the cells its box (grown by half a step) covers, each
    segment in the cell of its midpoint."""
    if not len(regions.kind) or not len(seg["t0"]):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    box = shapely.bounds(regions.shapes)
    lo = np.floor((box[:, :2] - MAX_STEP_M / 2) / CELL_M).astype(np.int64)
    hi = np.floor((box[:, 2:] + MAX_STEP_M / 2) / CELL_M).astype(np.int64)
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    target = np.repeat(np.arange(len(box)), nx * ny)
    k = np.arange(len(target)) - np.repeat(np.cumsum(nx * ny) - nx * ny, nx * ny)
    cx, cy = lo[target, 0] + k // ny[target], lo[target, 1] + k % ny[target]
    cell_keys = _key(cx, cy)
    order = np.argsort(cell_keys, kind="stable")
    cell_keys, target = cell_keys[order], target[order]
    mx = np.floor((seg["x0"] + seg["x1"]) / 2 / CELL_M).astype(np.int64)
    my = np.floor((seg["y0"] + seg["y1"]) / 2 / CELL_M).astype(np.int64)
    seg_keys = _key(mx, my)
    first = np.searchsorted(cell_keys, seg_keys, "left")
    count = np.searchsorted(cell_keys, seg_keys, "right") - first
    pair_seg = np.repeat(np.arange(len(seg_keys)), count)
    offset = np.arange(len(pair_seg)) - np.repeat(np.cumsum(count) - count, count)
    pair_target = target[np.repeat(first, count) + offset]
    sx0, sx1 = np.minimum(seg["x0"], seg["x1"]), np.maximum(seg["x0"], seg["x1"])
    sy0, sy1 = np.minimum(seg["y0"], seg["y1"]), np.maximum(seg["y0"], seg["y1"])
    b = box[pair_target]
    overlap = ((sx1[pair_seg] >= b[:, 0]) & (sx0[pair_seg] <= b[:, 2])
               & (sy1[pair_seg] >= b[:, 1]) & (sy0[pair_seg] <= b[:, 3]))
    return pair_seg[overlap], pair_target[overlap]


def _key(cx: NDArray, cy: NDArray) -> NDArray[np.int64]:
    return cx * (1 << 32) + cy


def _disc_intervals(seg, regions: Regions, pair_seg: NDArray, pair_target: NDArray):
    """Exact fractions [s0, s1] of each segment within ``visit_m`` of a point target."""
    keep = regions.kind[pair_target] == "point"
    ps, pt = pair_seg[keep], pair_target[keep]
    centre = shapely.get_coordinates(regions.geometry[pt]).reshape(-1, 2)
    ax, ay = seg["x0"][ps] - centre[:, 0], seg["y0"][ps] - centre[:, 1]
    dx, dy = seg["x1"][ps] - seg["x0"][ps], seg["y1"][ps] - seg["y0"][ps]
    qa, qb = dx * dx + dy * dy, 2 * (ax * dx + ay * dy)
    qc = ax * ax + ay * ay - regions.visit_m ** 2
    disc = qb * qb - 4 * qa * qc
    moving = qa > 0
    root = np.sqrt(np.where(moving & (disc >= 0), disc, 0.0))
    safe = np.where(moving, 2 * qa, 1.0)
    s0 = np.where(moving, np.maximum((-qb - root) / safe, 0.0), 0.0)
    s1 = np.where(moving, np.minimum((-qb + root) / safe, 1.0), 1.0)
    inside = np.where(moving, (disc >= 0) & (s0 <= s1), qc <= 0)
    zeros = np.zeros(int(inside.sum()))
    return pt[inside], ps[inside], s0[inside], s1[inside], zeros, zeros


def _polygon_intervals(seg, regions: Regions, pair_seg: NDArray, pair_target: NDArray):
    """Fractions [s0, s1] of each segment inside a line's or an area's region (one per part of
    the intersection), and for lines the positions along the line (m) where it enters and
    leaves."""
    keep = regions.kind[pair_target] != "point"
    ps, pt = pair_seg[keep], pair_target[keep]
    start = np.column_stack([seg["x0"][ps], seg["y0"][ps]])
    end = np.column_stack([seg["x1"][ps], seg["y1"][ps]])
    end = np.where((start == end).all(axis=1)[:, None], start + [1e-6, 0.0], end)
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    shapes = regions.shapes
    shapely.prepare(shapes)
    cut = shapely.intersection(lines, shapes[pt])
    parts, owner = shapely.get_parts(cut, return_index=True)
    parts_nonempty = ~shapely.is_empty(parts)
    parts, owner = parts[parts_nonempty], owner[parts_nonempty]
    first = shapely.get_coordinates(shapely.get_point(_as_line(parts), 0))
    last = shapely.get_coordinates(shapely.get_point(_as_line(parts), -1))
    a, d = start[owner], end[owner] - start[owner]
    norm = np.maximum((d * d).sum(axis=1), 1e-12)
    f0 = np.clip(((first - a) * d).sum(axis=1) / norm, 0.0, 1.0)
    f1 = np.clip(((last - a) * d).sum(axis=1) / norm, 0.0, 1.0)
    s0, s1 = np.minimum(f0, f1), np.maximum(f0, f1)
    target = pt[owner]
    along0, along1 = np.zeros(len(owner)), np.zeros(len(owner))
    is_line = regions.kind[target] == "line"
    guide = regions.geometry[target[is_line]]
    along0[is_line] = shapely.line_locate_point(guide, shapely.points(first[is_line]))
    along1[is_line] = shapely.line_locate_point(guide, shapely.points(last[is_line]))
    return target, ps[owner], s0, s1, along0, along1


def _as_line(parts: NDArray[np.object_]) -> NDArray[np.object_]:
    """Point parts (a segment touching a region) as zero-length lines."""
    points = shapely.get_type_id(parts) == 0
    if points.any():
        xy = shapely.get_coordinates(parts[points])
        parts = parts.copy()
        parts[points] = shapely.linestrings(np.stack([xy, xy], axis=1))
    return parts


def _join(target, unit, start, end, along0, along1) -> Stays:
    """Intervals of one unit at one target that touch joined into stays, with their span."""
    order = np.lexsort((start, unit, target))
    target, unit, start, end = target[order], unit[order], start[order], end[order]
    lo, hi = np.minimum(along0, along1)[order], np.maximum(along0, along1)[order]
    if not len(order):
        return Stays(target, unit, start, end, lo)
    reach = _running_max(end, target, unit)
    new = np.ones(len(order), bool)
    new[1:] = (target[1:] != target[:-1]) | (unit[1:] != unit[:-1]) | (
        start[1:] > reach[:-1] + JOIN_S)
    heads = np.flatnonzero(new)
    span = np.maximum.reduceat(hi, heads) - np.minimum.reduceat(lo, heads)
    return Stays(target[heads], unit[heads], start[heads], np.maximum.reduceat(end, heads),
                 span)


def _running_max(end: NDArray, target: NDArray, unit: NDArray) -> NDArray:
    """The latest end so far within each (target, unit) run (intervals may nest)."""
    run = np.ones(len(end), bool)
    run[1:] = (target[1:] != target[:-1]) | (unit[1:] != unit[:-1])
    # lift each run above all earlier ones, so that one cumulative maximum serves every run
    base = end.min()
    lift = (np.cumsum(run) - 1) * (end.max() - base + 1.0)
    return np.maximum.accumulate(end - base + lift) - lift + base
