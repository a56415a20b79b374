"""The matched path (numba): which fixes the hidden-Markov model needs, the edges between
consecutive matched fixes (shortest paths), the path as polyline vertices from each matched
fix's edge position through those edges (with the distance along the path at every vertex and
fix), and the road positions of the other fixes."""

from __future__ import annotations

import numpy as np
from numba import njit

from routing.matching_search import _layer, _reset


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


@njit(cache=True, nogil=True)
def thin(fx, fy, cand_ptr, min_step):
    """Fixes to leave out of the hidden-Markov model: those within ``min_step`` metres of the
    last fix kept (Newson & Krumm: at 1 Hz such a step is mostly noise). The first and last
    fix, and the fixes on either side of a fix without candidates, are always kept."""
    n = fx.shape[0]
    skip = np.zeros(n, np.bool_)
    last = -1
    for i in range(n):
        if cand_ptr[i + 1] == cand_ptr[i]:
            last = -1
        elif (last >= 0 and i < n - 1 and cand_ptr[i + 2] > cand_ptr[i + 1]
              and np.hypot(fx[i] - fx[last], fy[i] - fy[last]) < min_step):
            skip[i] = True
        else:
            last = i
    return skip


@njit(cache=True, nogil=True)
def attach(skip, choice, piece, ptr, between, cand_ptr, cand_edge, cand_dist):
    """Give each skipped fix between two matched fixes of one piece its nearest candidate on the
    path between them (their edges and the edges between), in place; others stay unmatched."""
    prev = -1
    for i in range(skip.shape[0]):
        if skip[i]:
            continue
        if choice[i] >= 0 and prev >= 0 and piece[prev] == piece[i]:
            ea, eb = cand_edge[choice[prev]], cand_edge[choice[i]]
            for j in range(prev + 1, i):
                best = -1
                for c in range(cand_ptr[j], cand_ptr[j + 1]):
                    e = cand_edge[c]
                    on_path = e == ea or e == eb
                    for k in range(ptr[i], ptr[i + 1]):
                        on_path = on_path or between[k] == e
                    if on_path and (best < 0 or cand_dist[c] < cand_dist[best]):
                        best = c
                if best >= 0:
                    choice[j], piece[j] = best, piece[i]
        prev = i if choice[i] >= 0 else -1


@njit(cache=True, nogil=True)
def connect(indptr, head, tail, length, choice, piece, cand_edge, cand_off, back_tol, work):
    """Edges between consecutive matched fixes of one piece, by the shortest path.

    Returns ``(ptr, edges)``: the edges strictly between fix i-1's and fix i's candidate edges are
    ``edges[ptr[i]:ptr[i+1]]`` (in driving order), empty when fix i starts a piece. ``work``
    holds the search arrays of :func:`routing.matching_search._workspace`.
    """
    n = choice.shape[0]
    dist, label, pred, touched, want, heap_t, heap_v = work
    ptr = np.zeros(n + 1, np.int64)
    out = np.empty(64, np.int32)
    n_out = 0
    prev = -1
    for i in range(n):
        if choice[i] >= 0 and prev >= 0 and piece[prev] == piece[i]:
            a, b = choice[prev], choice[i]
            ea, eb = cand_edge[a], cand_edge[b]
            if not (ea == eb and cand_off[b] >= cand_off[a] - back_tol):
                want[tail[eb]] = 1
                n_t = _layer(indptr, head, length, np.array([head[ea]], np.int32), np.zeros(1),
                             np.zeros(1, np.int64), np.inf, want, 1, dist, label, pred, touched,
                             heap_t, heap_v)
                want[tail[eb]] = 0
                if dist[tail[eb]] < np.inf:  # always, as Viterbi linked them: else no walk
                    v, k = tail[eb], 0       # along the last searches' predecessors
                    while v != head[ea]:
                        k += 1
                        v = tail[pred[v]]
                    while n_out + k > out.shape[0]:
                        grown = np.empty(out.shape[0] * 2, np.int32)
                        grown[:n_out] = out[:n_out]
                        out = grown
                    v, j = tail[eb], n_out + k - 1
                    while v != head[ea]:
                        out[j] = pred[v]
                        v = tail[pred[v]]
                        j -= 1
                    n_out += k
                _reset(dist, touched, n_t)
        if choice[i] >= 0:
            prev = i
        ptr[i + 1] = n_out
    return ptr, out[:n_out]
