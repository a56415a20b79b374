"""The matched path as polyline vertices (numba): from each fix's chosen edge position through
the edges between fixes, with the distance along the path at every vertex and every fix."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _walk(e, a, b, geom_xy, geom_off, cum, s, vx, vy, vs, n_v):
    """Append the vertices of edge ``e`` after offset ``a`` up to the point at offset ``b``
    (metres), with their path distance from ``s`` on; returns the new vertex count.
    ``cum`` are the vertex positions of :attr:`RoadGraph.vertex_positions`."""
    lo, hi = geom_off[e], geom_off[e + 1]
    a, b = a + cum[lo], b + cum[lo]
    for k in range(lo, hi):
        w = cum[k]
        if w > a and w < b:
            vx[n_v], vy[n_v], vs[n_v] = geom_xy[k, 0], geom_xy[k, 1], s + w - a
            n_v += 1
    for k in range(lo, hi - 1):
        if cum[k + 1] >= b or k == hi - 2:
            span = cum[k + 1] - cum[k]
            f = min(max((b - cum[k]) / span, 0.0), 1.0) if span > 0 else 0.0
            vx[n_v] = geom_xy[k, 0] + f * (geom_xy[k + 1, 0] - geom_xy[k, 0])
            vy[n_v] = geom_xy[k, 1] + f * (geom_xy[k + 1, 1] - geom_xy[k, 1])
            vs[n_v] = s + b - a
            return n_v + 1
    return n_v


@njit(cache=True, nogil=True)
def trace(choice, piece, cand_edge, cand_off, ptr, edges, geom_xy, geom_off, cum, length,
          back_tol):
    """The matched path as vertices: ``(vx, vy, vs, vpiece, fix_s)`` with x/y in metres, ``vs``
    the distance along the piece (metres) and ``fix_s`` each matched fix's distance along its
    piece (-1 for unmatched fixes). A step back within ``back_tol`` on one edge stands still."""
    n = choice.shape[0]
    cap = 16 + 2 * n
    for i in range(n):
        cap += 1
    for j in range(edges.shape[0]):
        cap += geom_off[edges[j] + 1] - geom_off[edges[j]]
    for i in range(n):
        if choice[i] >= 0:
            e = cand_edge[choice[i]]
            cap += geom_off[e + 1] - geom_off[e]
    vx, vy, vs = np.empty(cap), np.empty(cap), np.empty(cap)
    vpiece = np.empty(cap, np.int64)
    fix_s = np.full(n, -1.0)
    n_v = 0
    cur_e, cur_off, s, prev = -1, 0.0, 0.0, -1
    for i in range(n):
        c = choice[i]
        if c < 0:
            continue
        e, off = cand_edge[c], cand_off[c]
        start = n_v
        if prev < 0 or piece[prev] != piece[i]:
            s = 0.0
            n_v = _walk(e, off, off, geom_xy, geom_off, cum, s, vx, vy, vs, n_v)
        elif e == cur_e and off >= cand_off[choice[prev]] - back_tol:
            if off > cur_off:
                n_v = _walk(e, cur_off, off, geom_xy, geom_off, cum, s, vx, vy, vs, n_v)
                s += off - cur_off
            off = max(off, cur_off)
        else:
            n_v = _walk(cur_e, cur_off, length[cur_e], geom_xy, geom_off, cum, s, vx, vy,
                        vs, n_v)
            s += length[cur_e] - cur_off
            for j in range(ptr[i], ptr[i + 1]):
                m = edges[j]
                n_v = _walk(m, 0.0, length[m], geom_xy, geom_off, cum, s, vx, vy, vs, n_v)
                s += length[m]
            n_v = _walk(e, 0.0, off, geom_xy, geom_off, cum, s, vx, vy, vs, n_v)
            s += off
        vpiece[start:n_v] = piece[i]
        cur_e, cur_off, prev = e, off, i
        fix_s[i] = s
    return vx[:n_v], vy[:n_v], vs[:n_v], vpiece[:n_v], fix_s
