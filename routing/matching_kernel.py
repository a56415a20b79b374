"""The compiled hidden-Markov map-matching kernel (numba): Viterbi over road candidates.

Newson & Krumm (2009): a fix's candidates are positions on the directed road edges near it; the
emission score of a candidate is the Gaussian log-density of its distance to the fix, the
transition score between candidates of consecutive fixes is ``-(route - straight) / beta`` where
``route`` is the shortest road distance between the two positions and ``straight`` the distance
between the fixes. (Newson & Krumm take the absolute difference; the signed one is linear in the
route, so one bounded Dijkstra per fix from all its candidates at once finds every next
candidate's best predecessor, and on our test tracks it matches more of the true route.) The
search stops once every candidate of the next fix is settled or the bound is passed; its arrays
are allocated once per track and reset through the list of nodes it touched, so a search costs
only the few nodes near the fix.

Positions on edges are ``offset`` metres from the edge's tail along its polyline; all lengths are
polyline lengths in the graph's metric CRS.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from routing.kernel import _heap_pop, _heap_push

#: Largest score deficit (nats) of a predecessor that a transition may start from.
MAX_DEFICIT = 30.0


@njit(cache=True, nogil=True)
def _layer(indptr, head, length, src_node, src_key, src_label, limit, want, remaining, dist,
           label, pred, touched, heap_t, heap_v):
    """Dijkstra (metres) from several sources with start keys, each node labelled with the
    source it is reached from at the least key + distance and the edge it is reached through
    (``pred``, -1 at a source); stops at ``limit`` or once the ``remaining`` target nodes
    (``want[v]`` counts the targets at node v) are settled. ``dist`` must be ``inf`` everywhere
    on entry; returns how many nodes it touched (listed in ``touched``, whose ``dist`` the caller
    resets)."""
    n_touched = 0
    size = 0
    for j in range(src_node.shape[0]):
        v, key = src_node[j], src_key[j]
        if key <= limit and key < dist[v]:
            if dist[v] == np.inf:
                touched[n_touched] = v
                n_touched += 1
            dist[v] = key
            label[v] = src_label[j]
            pred[v] = -1
            size = _heap_push(heap_t, heap_v, size, key, v)
    while size > 0 and remaining > 0:
        d, v, size = _heap_pop(heap_t, heap_v, size)
        if d > dist[v]:
            continue
        remaining -= want[v]
        for a in range(indptr[v], indptr[v + 1]):
            h = head[a]
            nd = d + length[a]
            if nd <= limit and nd < dist[h]:
                if dist[h] == np.inf:
                    touched[n_touched] = h
                    n_touched += 1
                dist[h] = nd
                label[h] = label[v]
                pred[h] = a
                size = _heap_push(heap_t, heap_v, size, nd, h)
    return n_touched


@njit(cache=True, nogil=True)
def _workspace(indptr, head):
    """Arrays for :func:`_layer`, allocated once per track: dist, label, pred, touched, want and
    the heap."""
    n_nodes = indptr.shape[0] - 1
    return (np.full(n_nodes, np.inf), np.full(n_nodes, -1, np.int64),
            np.full(n_nodes, -1, np.int64), np.empty(n_nodes, np.int32),
            np.zeros(n_nodes, np.int64), np.empty(head.shape[0] + 1),
            np.empty(head.shape[0] + 1, np.int32))


@njit(cache=True, nogil=True)
def _reset(dist, touched, n_touched):
    for j in range(n_touched):
        dist[touched[j]] = np.inf


@njit(cache=True, nogil=True)
def _transitions(indptr, head, tail, length, p_lo, p_hi, lo, hi, cand_edge, cand_off, score,
                 back, straight, limit, beta, back_tol, want, dist, label, pred, touched, heap_t,
                 heap_v):
    """Best predecessor and score of candidates ``lo:hi`` from candidates ``p_lo:p_hi``.

    The transition score ``-(route - straight) / beta`` is linear in the route, so one search
    from all predecessors, each starting at its remaining edge length plus ``beta`` times its
    score deficit, finds every candidate's best predecessor at once. Routes longer than
    ``limit`` metres, or whose score deficit exceeds ``MAX_DEFICIT`` nats, are not possible.
    """
    best = -np.inf
    for a in range(p_lo, p_hi):
        best = max(best, score[a])
    if best == -np.inf:
        return
    cap = limit + beta * MAX_DEFICIT
    n_src = p_hi - p_lo
    src_node = np.empty(n_src, np.int32)
    src_key = np.empty(n_src)
    src_label = np.empty(n_src, np.int64)
    for j in range(n_src):
        a = p_lo + j
        src_node[j] = head[cand_edge[a]]
        src_key[j] = length[cand_edge[a]] - cand_off[a] + beta * (best - score[a])
        src_label[j] = a
    linked = _relax(indptr, head, tail, length, src_node, src_key, src_label, lo, hi, cand_edge,
                    cand_off, score, back, straight, limit, cap, best, beta, want, dist, label,
                    pred, touched, heap_t, heap_v)
    if not linked:  # no best start was near enough: try each start alone, however unlikely
        for j in range(n_src):
            a = src_label[j]
            rest = np.array([length[cand_edge[a]] - cand_off[a]])
            _relax(indptr, head, tail, length, src_node[j:j + 1], rest, src_label[j:j + 1], lo,
                   hi, cand_edge, cand_off, score, back, straight, limit, limit, score[a], beta,
                   want, dist, label, pred, touched, heap_t, heap_v)
    for b in range(lo, hi):
        for a in range(p_lo, p_hi):  # forward (or a little back) on the same edge
            if cand_edge[a] == cand_edge[b] and cand_off[b] >= cand_off[a] - back_tol:
                s = score[a] - (max(cand_off[b] - cand_off[a], 0.0) - straight) / beta
                if s > score[b]:
                    score[b], back[b] = s, a


@njit(cache=True, nogil=True)
def _relax(indptr, head, tail, length, src_node, src_key, src_label, lo, hi, cand_edge, cand_off,
           score, back, straight, limit, cap, best, beta, want, dist, label, pred, touched, heap_t,
           heap_v):
    """One search from the given starts; improves the scores of candidates ``lo:hi`` reached
    within ``limit`` metres of road. Returns whether any was."""
    for b in range(lo, hi):
        want[tail[cand_edge[b]]] += 1
    n_t = _layer(indptr, head, length, src_node, src_key, src_label, cap, want, hi - lo, dist,
                 label, pred, touched, heap_t, heap_v)
    linked = False
    for b in range(lo, hi):
        v = tail[cand_edge[b]]
        want[v] = 0
        if dist[v] < np.inf:
            a = label[v]
            r = dist[v] - beta * (best - score[a]) + cand_off[b]
            s = score[a] - (r - straight) / beta
            if r <= limit and s > score[b]:
                score[b], back[b] = s, a
                linked = True
    _reset(dist, touched, n_t)
    return linked


@njit(cache=True, nogil=True)
def viterbi(indptr, head, tail, length, fx, fy, ft, cand_ptr, cand_edge, cand_off, cand_dist,
            skip, sigma, beta, route_factor, max_speed, slack, back_tol):
    """Most likely candidate per fix, cut into pieces where no transition is possible.

    Returns ``(choice, piece)``: for each fix the chosen candidate (index into ``cand_*``, -1 for a
    fix without candidates or with ``skip`` set) and its piece number (-1 likewise). A
    transition is possible when the road distance is at most
    ``min(route_factor * straight, max_speed * dt) + slack`` metres.
    """
    n = fx.shape[0]
    dist, label, pred, touched, want, heap_t, heap_v = _workspace(indptr, head)
    n_cand = cand_edge.shape[0]
    score = np.full(n_cand, -np.inf)
    back = np.full(n_cand, -1, np.int64)
    emit = -0.5 * (cand_dist / sigma) ** 2
    choice = np.full(n, -1, np.int64)
    piece = np.full(n, -1, np.int64)
    starts = np.zeros(n, np.bool_)
    prev = -1
    for i in range(n):
        lo, hi = cand_ptr[i], cand_ptr[i + 1]
        if skip[i]:
            continue
        if hi == lo:
            prev = -1  # a fix far from every road ends the piece
            continue
        linked = False
        if prev >= 0:
            straight = np.hypot(fx[i] - fx[prev], fy[i] - fy[prev])
            dt = max(ft[i] - ft[prev], 1.0)
            limit = min(route_factor * straight, max_speed * dt) + slack
            _transitions(indptr, head, tail, length, cand_ptr[prev], cand_ptr[prev + 1], lo, hi,
                         cand_edge, cand_off, score, back, straight, limit, beta, back_tol,
                         want, dist, label, pred, touched, heap_t, heap_v)
            for b in range(lo, hi):
                if score[b] > -np.inf:
                    score[b] += emit[b]
                    linked = True
        if not linked:
            starts[i] = True
            for b in range(lo, hi):
                score[b], back[b] = emit[b], -1
        prev = i
    # Backtrack each piece from its best last candidate.
    n_piece = 0
    i = n - 1
    while i >= 0:
        lo, hi = cand_ptr[i], cand_ptr[i + 1]
        if hi == lo or skip[i]:
            i -= 1
            continue
        best = lo
        for b in range(lo, hi):
            if score[b] > score[best]:
                best = b
        c = best
        while True:
            choice[i] = c
            piece[i] = n_piece
            if starts[i]:
                break
            c = back[c]
            i -= 1
            while skip[i]:
                i -= 1
        n_piece += 1
        i -= 1
    for i in range(n):  # number pieces in time order
        if piece[i] >= 0:
            piece[i] = n_piece - 1 - piece[i]
    return choice, piece


@njit(cache=True, nogil=True)
def connect(indptr, head, tail, length, choice, piece, cand_edge, cand_off, back_tol):
    """Edges between consecutive matched fixes of one piece, by the shortest path.

    Returns ``(ptr, edges)``: the edges strictly between fix i-1's and fix i's candidate edges are
    ``edges[ptr[i]:ptr[i+1]]`` (in driving order), empty when fix i starts a piece.
    """
    n = choice.shape[0]
    dist, label, pred, touched, want, heap_t, heap_v = _workspace(indptr, head)
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
                v, k = tail[eb], 0
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
