"""The compiled part of :mod:`patrol.presence` (numba): every track segment against the targets
on a uniform grid; stays at points (discs) joined on the way, and the (segment, target) pairs
whose boxes overlap for the other kinds.

The targets' boxes are listed per grid cell (CSR: ``cell_ptr``, ``cell_targets``); a segment
visits the cells its own box covers, and each target once (``seen`` stamps). Segments come in
(unit, piece, time) order, so a unit's time inside a disc is joined into stays as it goes: a
stay is open while each new interval starts within ``join_s`` of its end.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _disc_fractions(ax, ay, bx, by, cx, cy, r2):
    """Fractions (s0, s1) of the segment a→b within the disc (s0 > s1: none)."""
    dx, dy = bx - ax, by - ay
    px, py = ax - cx, ay - cy
    qa = dx * dx + dy * dy
    qb = 2.0 * (px * dx + py * dy)
    qc = px * px + py * py - r2
    if qa == 0.0:
        return (0.0, 1.0) if qc <= 0.0 else (1.0, 0.0)
    disc = qb * qb - 4.0 * qa * qc
    if disc < 0.0:
        return 1.0, 0.0
    root = np.sqrt(disc)
    return max((-qb - root) / (2.0 * qa), 0.0), min((-qb + root) / (2.0 * qa), 1.0)


@njit(cache=True, nogil=True)
def scan(unit, piece, t, x, y, x0, y0, cell_m, nx, ny, cell_ptr, cell_targets, box, is_disc,
         cx, cy, radius, join_s, stay_target, stay_unit, stay_start, stay_end, pair_target,
         pair_seg):
    """Write the stays at discs (target, unit, start, end; seconds) and the other hits
    (target, segment) into the given arrays as far as they hold them. Returns both counts
    (larger than the arrays: call again with arrays that large)."""
    n_targets = len(box)
    seen = np.full(n_targets, -1, np.int64)
    open_start = np.zeros(n_targets)
    open_end = np.full(n_targets, -np.inf)
    open_unit = np.full(n_targets, -1, np.int64)
    opened = np.empty(n_targets, np.int64)
    n_open = 0
    r2 = radius * radius
    n_stay = n_pair = 0
    for i in range(len(t)):
        last = i == len(t) - 1
        if last or unit[i] != unit[i + 1]:  # the unit's track ends: close its stays
            for k in range(n_open):
                j = opened[k]
                if n_stay < len(stay_target):
                    stay_target[n_stay], stay_unit[n_stay] = j, open_unit[j]
                    stay_start[n_stay], stay_end[n_stay] = open_start[j], open_end[j]
                n_stay += 1
                open_unit[j] = -1
            n_open = 0
            continue
        if piece[i] != piece[i + 1]:
            continue
        ax, ay, bx, by = x[i], y[i], x[i + 1], y[i + 1]
        lo_x, hi_x = min(ax, bx), max(ax, bx)
        lo_y, hi_y = min(ay, by), max(ay, by)
        c0 = max(int(np.floor((lo_x - x0) / cell_m)), 0)
        c1 = min(int(np.floor((hi_x - x0) / cell_m)), nx - 1)
        r0 = max(int(np.floor((lo_y - y0) / cell_m)), 0)
        r1 = min(int(np.floor((hi_y - y0) / cell_m)), ny - 1)
        for c in range(c0, c1 + 1):
            for r in range(r0, r1 + 1):
                cell = c * ny + r
                for k in range(cell_ptr[cell], cell_ptr[cell + 1]):
                    j = cell_targets[k]
                    if seen[j] == i:
                        continue
                    seen[j] = i
                    if hi_x < box[j, 0] or lo_x > box[j, 2] or hi_y < box[j, 1] or \
                            lo_y > box[j, 3]:
                        continue
                    if not is_disc[j]:
                        if n_pair < len(pair_target):
                            pair_target[n_pair], pair_seg[n_pair] = j, i
                        n_pair += 1
                        continue
                    s0, s1 = _disc_fractions(ax, ay, bx, by, cx[j], cy[j], r2)
                    if s0 > s1:
                        continue
                    a = t[i] + s0 * (t[i + 1] - t[i])
                    b = t[i] + s1 * (t[i + 1] - t[i])
                    if open_unit[j] == unit[i] and a <= open_end[j] + join_s:
                        open_end[j] = max(open_end[j], b)
                        continue
                    if open_unit[j] == unit[i]:  # a new stay: close the last one
                        if n_stay < len(stay_target):
                            stay_target[n_stay], stay_unit[n_stay] = j, open_unit[j]
                            stay_start[n_stay], stay_end[n_stay] = open_start[j], open_end[j]
                        n_stay += 1
                    else:
                        opened[n_open] = j
                        n_open += 1
                    open_unit[j], open_start[j], open_end[j] = unit[i], a, b
    return n_stay, n_pair
