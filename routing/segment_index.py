"""Exact nearest road polyline for many points at once, on a compiled grid kernel (numba).

Every road polyline is cut into its straight segments; each segment is listed in every cell of a
uniform grid (``CELL_M`` metres) that its bounding box meets. A query scans the cells around the
point ring by ring and measures exact point-to-segment distances. The nearest point of any
segment lies in a cell that lists the segment, and every point of a cell in ring k is at least
(k - 1) cells away, so the scan stops once that bound passes the best distance found: the answer
is exact. Points with no road within ``FAR_M`` get GEOS's own nearest-geometry search (a search
may instead stop at a given largest distance). The answer equals ``STRtree.query_nearest`` over
the polylines; on an exact tie (a point nearest to a node several roads share) the road listed
first wins, and the same scan lists every other road within a tolerance of the nearest distance
(``near_m``): roads meeting at a node the point lies on, or roads equally near it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from numba import njit
from numpy.typing import NDArray

#: Side of a grid cell (metres).
CELL_M = 100.0
#: Beyond this distance (metres) the search hands the point to GEOS's nearest-geometry search.
FAR_M = 800.0
#: Most segments near a point kept while scanning (more meet at no real junction).
_MAX_NEAR = 64


@dataclass(frozen=True)
class Nearest:
    """For each query point: the road (index into the indexed polylines, -1: none within the
    largest distance), the position along it as a fraction of its length from its first vertex
    (0..1), and the distance (metres, ``inf``: none within the largest distance)."""

    road: NDArray[np.int64]
    fraction: NDArray[np.float64]
    distance: NDArray[np.float64]
    #: Other roads within the tolerance of each point's nearest distance: the point they belong
    #: to (ascending), the road and the fraction along it (empty unless asked for).
    also_point: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    also_road: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    also_fraction: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


class SegmentIndex:
    """Nearest-polyline index over polylines in a metric CRS (coordinates in metres)."""

    def __init__(self, lines: NDArray[np.object_]) -> None:
        """Index ``lines``, an array of shapely LineStrings (metres)."""
        xy, line_of = shapely.get_coordinates(lines, return_index=True)
        vertex = np.flatnonzero(line_of[1:] == line_of[:-1])  # each starts a segment
        self._lines = lines
        self._seg_road = line_of[vertex].astype(np.int64)
        a, b = xy[vertex], xy[vertex + 1]
        self._seg = np.ascontiguousarray(np.column_stack([a, b]))  # (S, 4): ax, ay, bx, by
        self._seg_len = np.hypot(*(b - a).T)
        before = np.cumsum(self._seg_len) - self._seg_len
        first_seg = np.searchsorted(self._seg_road, np.arange(len(lines)))
        road_base = (before[np.minimum(first_seg, len(before) - 1)] if len(before)
                     else np.zeros(len(lines)))
        self._along = before - road_base[self._seg_road]  # metres from the road's first vertex
        self._road_len = np.bincount(self._seg_road, self._seg_len, len(lines))
        self._origin = xy.min(axis=0) if len(xy) else np.zeros(2)
        self._shape, self._cell_start, self._cell_seg = _grid(a, b, self._origin)

    def nearest(self, x: NDArray[np.float64], y: NDArray[np.float64],
                max_distance: float = np.inf, *, near_m: float = -1.0) -> Nearest:
        """The nearest polyline to each point (x, y in metres); points farther than
        ``max_distance`` metres from every polyline get road -1 and distance ``inf``. With
        ``near_m`` >= 0, every other polyline within ``near_m`` metres of the nearest distance
        is listed too (``Nearest.also_*``; not for points beyond ``FAR_M``)."""
        x = np.ascontiguousarray(np.atleast_1d(x), dtype=np.float64)
        y = np.ascontiguousarray(np.atleast_1d(y), dtype=np.float64)
        seg, t, distance, also_point, also_seg, also_t = _scan(
            x, y, self._seg, self._seg_road, self._cell_start, self._cell_seg, self._origin[0],
            self._origin[1], self._shape[0], self._shape[1], CELL_M,
            float(min(max_distance, FAR_M)), float(near_m))
        found = seg >= 0
        road, fraction = self._locate(np.where(found, seg, 0), t)
        road = np.where(found, road, -1)
        far = np.flatnonzero(~found & np.isfinite(x) & np.isfinite(y))  # GEOS skips the rest
        if len(far) and max_distance > FAR_M:
            road[far], fraction[far], distance[far] = self._far(x[far], y[far])
            beyond = distance > max_distance
            road[beyond], distance[beyond] = -1, np.inf
        also_road, also_fraction = self._locate(also_seg, also_t)
        return Nearest(road, fraction, distance, also_point, also_road, also_fraction)

    def _locate(self, seg: NDArray[np.int64], t: NDArray[np.float64]
                ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The road of each segment and the fraction (0..1) of the road at position t on it."""
        road = self._seg_road[seg]
        length = self._road_len[road]
        fraction = np.where(length > 0, (self._along[seg] + t * self._seg_len[seg])
                            / np.where(length > 0, length, 1.0), 0.0)
        return road, np.clip(fraction, 0.0, 1.0)

    def within(self, x: NDArray[np.float64], y: NDArray[np.float64], radius: float,
               k: int) -> Nearest:
        """Up to ``k`` nearest polylines within ``radius`` metres of each point (x, y in metres),
        nearest first, one answer per polyline. Returns (n, k) arrays; empty slots hold road -1
        and distance ``inf``."""
        x = np.ascontiguousarray(np.atleast_1d(x), dtype=np.float64)
        y = np.ascontiguousarray(np.atleast_1d(y), dtype=np.float64)
        seg, t, distance = _scan_within(x, y, self._seg, self._seg_road, self._cell_start,
                                        self._cell_seg, self._origin[0], self._origin[1],
                                        self._shape[0], self._shape[1], CELL_M, float(radius),
                                        int(k))
        found = seg >= 0
        road, fraction = self._locate(np.where(found, seg, 0), t)
        return Nearest(np.where(found, road, -1), fraction, distance)

    @cached_property
    def _line_tree(self) -> shapely.STRtree:
        """GEOS's index over the whole polylines, built when first needed."""
        return shapely.STRtree(self._lines)

    def _far(self, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """GEOS nearest-geometry search for points far from every road."""
        points = shapely.points(x, y)
        (which, road), distance = self._line_tree.query_nearest(points, return_distance=True,
                                                                all_matches=False)
        order = np.argsort(which)
        road = road[order].astype(np.int64)
        fraction = shapely.line_locate_point(self._lines[road], points, normalized=True)
        return road, fraction, distance[order]


def _grid(a: NDArray, b: NDArray, origin: NDArray) -> tuple[tuple[int, int], NDArray, NDArray]:
    """Cells (CSR) listing the segments whose bounding box meets them; returns the grid shape
    (columns, rows), each cell's start in the list, and the list of segment indices."""
    low = np.floor((np.minimum(a, b) - origin) / CELL_M).astype(np.int64)
    high = np.floor((np.maximum(a, b) - origin) / CELL_M).astype(np.int64)
    shape = (int(high[:, 0].max(initial=0)) + 1, int(high[:, 1].max(initial=0)) + 1)
    span = high - low + 1
    count = span[:, 0] * span[:, 1]
    seg = np.repeat(np.arange(len(a)), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    col = low[seg, 0] + k % span[seg, 0]
    row = low[seg, 1] + k // span[seg, 0]
    cell = row * shape[0] + col
    order = np.argsort(cell, kind="stable")
    start = np.zeros(shape[0] * shape[1] + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=shape[0] * shape[1]), out=start[1:])
    return shape, start, seg[order]


@njit(cache=True, nogil=True)
def _distance(px, py, seg, s):
    """Position (0..1) on segment s nearest to (px, py), and the distance (metres); a point
    nearest to an end measures to that end exactly, so roads meeting there tie exactly."""
    ax, ay, bx, by = seg[s, 0], seg[s, 1], seg[s, 2], seg[s, 3]
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    t = 0.0
    if dd > 0.0:
        t = min(max(((px - ax) * dx + (py - ay) * dy) / dd, 0.0), 1.0)
    if t >= 1.0:
        return t, np.hypot(px - bx, py - by)
    return t, np.hypot(px - ax - t * dx, py - ay - t * dy)


@njit(cache=True, nogil=True)
def _scan(x, y, seg, seg_road, cell_start, cell_seg, x0, y0, cols, rows, cell_m, max_distance,
          near_m):
    """For each point, the nearest segment within ``max_distance`` (-1 if none), the position
    on it and the distance, by scanning grid rings outward and skipping cells farther than the
    best distance so far (plus ``near_m``). With ``near_m`` >= 0 also every other road's nearest
    segment within ``near_m`` of the best distance: (point, segment, position) arrays."""
    n = x.shape[0]
    best_seg = np.full(n, -1, np.int64)
    best_t = np.zeros(n)
    best_d = np.full(n, np.inf)
    slack = max(near_m, 0.0)
    near_seg = np.empty(_MAX_NEAR, np.int64)  # candidates of the current point
    near_t = np.empty(_MAX_NEAR)
    near_d = np.empty(_MAX_NEAR)
    out_point = np.empty(16, np.int64)
    out_seg = np.empty(16, np.int64)
    out_t = np.empty(16)
    n_out = 0
    for i in range(n):
        px, py = x[i] - x0, y[i] - y0
        if not (-max_distance <= px <= cols * cell_m + max_distance
                and -max_distance <= py <= rows * cell_m + max_distance):
            continue  # beyond the grid by more than max_distance, or not finite (far outside
            # the projection's domain): no segment is near, and the scan would never end
        ci, cj = int(np.floor(px / cell_m)), int(np.floor(py / cell_m))
        fx, fy = px - ci * cell_m, py - cj * cell_m  # offset inside the point's own cell
        edge = min(min(fx, cell_m - fx), min(fy, cell_m - fy))  # to its own cell's border
        n_near = 0
        ring = 0
        while ring == 0 or (ring - 1) * cell_m + edge <= min(best_d[i] + slack, max_distance):
            for dj in range(-ring, ring + 1):
                row = cj + dj
                if row < 0 or row >= rows:
                    continue
                gap_y = max(max(row * cell_m - py, py - (row + 1) * cell_m), 0.0)
                step = 1 if dj == -ring or dj == ring else 2 * ring
                for di in range(-ring, ring + 1, step):
                    col = ci + di
                    if col < 0 or col >= cols:
                        continue
                    gap_x = max(max(col * cell_m - px, px - (col + 1) * cell_m), 0.0)
                    if np.hypot(gap_x, gap_y) > min(best_d[i] + slack, max_distance):
                        continue  # the whole cell is farther than the best so far
                    cell = row * cols + col
                    for k in range(cell_start[cell], cell_start[cell + 1]):
                        s = cell_seg[k]
                        t, d = _distance(x[i], y[i], seg, s)
                        b = best_seg[i]
                        if d < best_d[i] or (d == best_d[i] and b >= 0 and (
                                seg_road[s] < seg_road[b] or
                                (seg_road[s] == seg_road[b] and s < b))):
                            best_seg[i], best_t[i], best_d[i] = s, t, d
                        if near_m >= 0 and d <= best_d[i] + slack:
                            n_near = _keep_near(near_seg, near_t, near_d, n_near, seg_road,
                                                s, t, d, best_d[i] + slack)
            ring += 1
        if best_d[i] > max_distance:
            best_seg[i], best_t[i], best_d[i] = -1, 0.0, np.inf
            continue
        for j in range(n_near):
            s = near_seg[j]
            if near_d[j] > best_d[i] + slack or seg_road[s] == seg_road[best_seg[i]] or \
                    not _nearest_of_its_road(near_seg, near_d, n_near, seg_road, j):
                continue
            if n_out == out_seg.shape[0]:
                out_point = _grown(out_point)
                out_seg = _grown(out_seg)
                out_t = _grown(out_t)
            out_point[n_out], out_seg[n_out], out_t[n_out] = i, s, near_t[j]
            n_out += 1
    return best_seg, best_t, best_d, out_point[:n_out], out_seg[:n_out], out_t[:n_out]


@njit(cache=True, nogil=True)
def _keep_near(near_seg, near_t, near_d, n_near, seg_road, s, t, d, bound):
    """Add segment s (at position t, distance d) to the candidates, first dropping those beyond
    ``bound`` when full; returns the new count."""
    if n_near == near_seg.shape[0]:
        kept = 0
        for j in range(n_near):
            if near_d[j] <= bound:
                near_seg[kept], near_t[kept], near_d[kept] = near_seg[j], near_t[j], near_d[j]
                kept += 1
        n_near = kept
        if n_near == near_seg.shape[0]:
            return n_near  # more segments than any junction has: the rest are left out
    near_seg[n_near], near_t[n_near], near_d[n_near] = s, t, d
    return n_near + 1


@njit(cache=True, nogil=True)
def _nearest_of_its_road(near_seg, near_d, n_near, seg_road, j):
    """Whether candidate j is its road's nearest (the first listed among equals)."""
    road = seg_road[near_seg[j]]
    for m in range(n_near):
        if seg_road[near_seg[m]] == road and (near_d[m] < near_d[j] or
                                              (near_d[m] == near_d[j] and m < j)):
            return False
    return True


@njit(cache=True, nogil=True)
def _grown(values):
    """``values`` copied into an array twice as long."""
    out = np.empty(2 * values.shape[0], values.dtype)
    out[:values.shape[0]] = values
    return out


@njit(cache=True, nogil=True)
def _scan_within(x, y, seg, seg_road, cell_start, cell_seg, x0, y0, cols, rows, cell_m,
                 radius, k):
    """For each point, the segments nearest to it of up to ``k`` distinct roads within
    ``radius`` metres, nearest first: (n, k) arrays of segment (-1: empty), position on it
    (0..1) and distance (metres)."""
    n = x.shape[0]
    out_seg = np.full((n, k), -1, np.int64)
    out_t = np.zeros((n, k))
    out_d = np.full((n, k), np.inf)
    reach = radius * radius * (1.0 + 1e-9)  # squared, with room for rounding: a bound only
    for i in range(n):
        px, py = x[i] - x0, y[i] - y0
        c_lo = max(int(np.floor((px - radius) / cell_m)), 0)
        c_hi = min(int(np.floor((px + radius) / cell_m)), cols - 1)
        r_lo = max(int(np.floor((py - radius) / cell_m)), 0)
        r_hi = min(int(np.floor((py + radius) / cell_m)), rows - 1)
        for row in range(r_lo, r_hi + 1):
            gap_y = max(max(row * cell_m - py, py - (row + 1) * cell_m), 0.0)
            for col in range(c_lo, c_hi + 1):
                gap_x = max(max(col * cell_m - px, px - (col + 1) * cell_m), 0.0)
                if gap_x * gap_x + gap_y * gap_y > reach:
                    continue  # the whole cell is beyond the radius
                cell = row * cols + col
                for j in range(cell_start[cell], cell_start[cell + 1]):
                    s = cell_seg[j]
                    if _box_gap2(x[i], y[i], seg, s) > reach:
                        continue  # its bounding box is beyond the radius
                    t, d = _distance(x[i], y[i], seg, s)
                    if d <= radius:
                        _keep(out_seg[i], out_t[i], out_d[i], seg_road, s, t, d)
    return out_seg, out_t, out_d


@njit(cache=True, nogil=True)
def _box_gap2(px, py, seg, s):
    """Squared distance (m²) from (px, py) to the bounding box of segment s: a lower bound of
    the squared distance to the segment."""
    gx = max(max(min(seg[s, 0], seg[s, 2]) - px, px - max(seg[s, 0], seg[s, 2])), 0.0)
    gy = max(max(min(seg[s, 1], seg[s, 3]) - py, py - max(seg[s, 1], seg[s, 3])), 0.0)
    return gx * gx + gy * gy


@njit(cache=True, nogil=True)
def _keep(top_seg, top_t, top_d, seg_road, s, t, d):
    """Offer segment s at distance d to a top list sorted by distance, one entry per road."""
    k = top_seg.shape[0]
    pos = k
    for j in range(k):
        if top_seg[j] >= 0 and seg_road[top_seg[j]] == seg_road[s]:
            if d >= top_d[j]:
                return
            pos = j  # the same road, now nearer: move it up from its old slot
            break
    if pos == k:
        if d >= top_d[k - 1]:
            return
        pos = k - 1
    while pos > 0 and top_d[pos - 1] > d:
        top_seg[pos], top_t[pos], top_d[pos] = top_seg[pos - 1], top_t[pos - 1], top_d[pos - 1]
        pos -= 1
    top_seg[pos], top_t[pos], top_d[pos] = s, t, d
