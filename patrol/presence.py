"""When units were at must-patrol targets: exact presence intervals from tracks (pure, numpy and
shapely 2 vectorised).

A track is a unit's matched path: vertices in a metric CRS (metres) with a time (seconds) each,
cut into pieces where the match broke; between two vertices of a piece the unit moves in a
straight line at constant speed. A target is a region: a point's disc of radius ``visit_m``
around its road position, a line's buffer of ``visit_m``, an area grown by ``visit_m`` (a car on
the road along its edge is there). A *stay* is a maximal time interval during which a unit is
inside a target's region without a break; for a line it also records how far along the line the
unit got (the span of its positions projected onto the line, metres).

Every segment is checked against the targets listed in the cells of a uniform grid that its
box covers (a numba kernel, :mod:`patrol.presence_kernel`), and each hit's time inside the
region is solved exactly: a quadratic for a disc (in the kernel), the segment's intersection
with the polygon otherwise (shapely, vectorised).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray

from patrol import presence_kernel as kernel

#: Grid cell (metres) of the candidate search.
CELL_M = 200.0
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

    @cached_property
    def shapes(self) -> NDArray[np.object_]:
        """The regions as polygons (points: their disc, for drawing and bounds)."""
        return shapely.buffer(self.geometry, self.visit_m)


@dataclass(frozen=True)
class Stays:
    """Stays (see the module): target index, unit id, start and end (s) and for line targets
    the span along the line (m; 0 for other kinds)."""

    target: NDArray[np.int64]
    unit: NDArray[np.int64]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    span_m: NDArray[np.float64]


def stays(tracks: Tracks, regions: Regions) -> Stays:
    """Every stay of every unit at every target (see the module)."""
    (target, unit, start, end), (pair_target, pair_seg) = _scan(tracks, regions)
    pieces = _polygon_intervals(tracks, regions, pair_seg, pair_target)
    other = _join(*pieces)
    return Stays(np.r_[target, other.target], np.r_[unit, other.unit], np.r_[start, other.start],
                 np.r_[end, other.end], np.r_[np.zeros(len(target)), other.span_m])


def _scan(tracks: Tracks, regions: Regions):
    """The stays at points (target, unit, start, end) and the (target, segment) pairs of the
    other targets whose boxes a segment (numbered by its first vertex) overlaps."""
    if not len(regions.kind) or len(tracks.t) < 2:
        return _empty_stays(), (np.empty(0, np.int64), np.empty(0, np.int64))
    box = shapely.bounds(regions.shapes)
    x0, y0 = box[:, 0].min(), box[:, 1].min()
    nx = int((box[:, 2].max() - x0) // CELL_M) + 1
    ny = int((box[:, 3].max() - y0) // CELL_M) + 1
    lo = ((box[:, :2] - [x0, y0]) // CELL_M).astype(np.int64)
    hi = ((box[:, 2:] - [x0, y0]) // CELL_M).astype(np.int64)
    wide, tall = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    target = np.repeat(np.arange(len(box)), wide * tall)
    k = np.arange(len(target)) - np.repeat(np.cumsum(wide * tall) - wide * tall, wide * tall)
    cell = (lo[target, 0] + k // tall[target]) * ny + lo[target, 1] + k % tall[target]
    order = np.argsort(cell, kind="stable")
    cell_ptr = np.r_[0, np.cumsum(np.bincount(cell, minlength=nx * ny))].astype(np.int64)
    is_disc = regions.kind == "point"
    centre = np.zeros((len(box), 2))
    centre[is_disc] = shapely.get_coordinates(regions.geometry[is_disc]).reshape(-1, 2)
    ints, floats = (np.asarray(getattr(tracks, f), np.int64) for f in ("unit", "piece")), (
        np.asarray(getattr(tracks, f), np.float64) for f in ("t", "x", "y"))
    args = (*ints, *floats, float(x0), float(y0), float(CELL_M), nx, ny, cell_ptr,
            target[order].astype(np.int64), box, is_disc, centre[:, 0].copy(),
            centre[:, 1].copy(), float(regions.visit_m), JOIN_S)
    stays_cap, pairs_cap = len(tracks.t) // 8 + 1024, len(tracks.t) // 8 + 1024
    while True:  # one pass, unless the arrays were too small for what it found
        found = (np.empty(stays_cap, np.int64), np.empty(stays_cap, np.int64),
                 np.empty(stays_cap), np.empty(stays_cap))
        pairs = (np.empty(pairs_cap, np.int64), np.empty(pairs_cap, np.int64))
        n_stay, n_pair = kernel.scan(*args, *found, *pairs)
        if n_stay <= stays_cap and n_pair <= pairs_cap:
            return tuple(a[:n_stay] for a in found), tuple(a[:n_pair] for a in pairs)
        stays_cap, pairs_cap = max(n_stay, stays_cap), max(n_pair, pairs_cap)


def _empty_stays():
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0)


def _polygon_intervals(tracks: Tracks, regions: Regions, ps: NDArray, pt: NDArray):
    """When each segment ``ps`` is inside the region of its target ``pt`` (a line or an area;
    one row per part of the intersection: target, segment, unit, start, end), and for lines
    the positions along the line (m) where it enters and leaves."""
    start = np.column_stack([tracks.x[ps], tracks.y[ps]])
    end = np.column_stack([tracks.x[ps + 1], tracks.y[ps + 1]])
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
    seg = ps[owner]
    a, b = tracks.t[seg], tracks.t[seg + 1]
    return (target, seg, tracks.unit[seg], a + s0 * (b - a), a + s1 * (b - a), along0,
            along1)


def _as_line(parts: NDArray[np.object_]) -> NDArray[np.object_]:
    """Point parts (a segment touching a region) as zero-length lines."""
    points = shapely.get_type_id(parts) == 0
    if points.any():
        xy = shapely.get_coordinates(parts[points])
        parts = parts.copy()
        parts[points] = shapely.linestrings(np.stack([xy, xy], axis=1))
    return parts


def _join(target, seg, unit, start, end, along0, along1) -> Stays:
    """Intervals of one unit at one target that touch joined into stays, with their span."""
    # segments are numbered in (unit, piece, time) order: (target, segment) orders by unit too
    order = np.lexsort((start, target * (int(seg.max(initial=0)) + 1) + seg))
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
