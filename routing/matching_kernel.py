"""The compiled hidden-Markov map-matching kernel (numba): Viterbi over road candidates.

Newson & Krumm (2009): a fix's candidates are positions on the directed road edges near it; the
emission score of a candidate is the Gaussian log-density of its distance to the fix, the
transition score between candidates of consecutive fixes is ``-(route - straight) / beta`` where
``route`` is the shortest road distance between the two positions and ``straight`` the distance
between the fixes. (Newson & Krumm take the absolute difference; the signed one is linear in the
route, so one bounded Dijkstra per fix from all its candidates at once finds every next
candidate's best predecessor, and on our test tracks it matches more of the true route.) The
search (:mod:`routing.matching_search`) stops once every candidate of the next fix is settled or
the bound is passed.

The signed score sums, over a piece, to the straight distances less the length of the path: it
rewards a short path, and in the middle of a piece every metre a candidate is moved saves one
step what it costs the next. The first and last candidate have no such counterweight and would
be pulled along the road towards the inside of the piece (onto the road the car turns into at
the start, back before the last junction at the end). So the first step of every piece, and the
last step before the end of the track or before a fix far from every road, score the absolute
difference, as Newson & Krumm do, with one search per predecessor (:func:`_end_step`).

Positions on edges are ``offset`` metres from the edge's tail along its polyline; all lengths are
polyline lengths in the graph's metric CRS.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from routing.matching_search import _layer, _reset

#: Largest score deficit (nats) of a predecessor that a transition may start from.
MAX_DEFICIT = 30.0
#: Consecutive fixes that no road route reaches from the last fix which are left out (their
#: step is noise, mostly backwards at 1 Hz) before the piece is broken at the first of them.
MAX_DROPPED = 3


@njit(cache=True, nogil=True)
def _transitions(indptr, head, tail, length, src, gain, src_limit, lo, hi, cand_edge, cand_off,
                 score, back, beta, back_tol, want, dist, label, pred, touched, heap_t, heap_v):
    """Best predecessor and score of candidates ``lo:hi`` from the candidates ``src``.

    A step from ``a`` to ``b`` scores ``gain[a] - route / beta`` (``gain`` holds the score of
    ``a`` plus its straight-line distance over ``beta``). That is linear in the route, so one
    search from all predecessors, each starting at its remaining edge length plus ``beta`` times
    its deficit of gain, finds every candidate's best predecessor at once. Routes longer than
    ``src_limit[a]`` metres, or whose deficit exceeds ``MAX_DEFICIT`` nats, are not possible.
    """
    n_src = src.shape[0]
    if n_src == 0:
        return
    best = gain.max()
    cap = src_limit.max() + beta * MAX_DEFICIT
    src_node = np.empty(n_src, np.int32)
    src_key = np.empty(n_src)
    for j in range(n_src):
        a = src[j]
        src_node[j] = head[cand_edge[a]]
        src_key[j] = length[cand_edge[a]] - cand_off[a] + beta * (best - gain[j])
    linked = _relax(indptr, head, tail, length, src_node, src_key, src, gain, src_limit, lo, hi,
                    cand_edge, cand_off, score, back, cap, best, beta, want, dist, label, pred,
                    touched, heap_t, heap_v)
    if not linked:  # no best start was near enough: try each start alone, however unlikely
        for j in range(n_src):
            rest = np.array([length[cand_edge[src[j]]] - cand_off[src[j]]])
            _relax(indptr, head, tail, length, src_node[j:j + 1], rest, src[j:j + 1],
                   gain[j:j + 1], src_limit[j:j + 1], lo, hi, cand_edge, cand_off, score, back,
                   src_limit[j], gain[j], beta, want, dist, label, pred, touched, heap_t, heap_v)
    for b in range(lo, hi):
        for j in range(n_src):  # forward (or a little back) on the same edge
            a = src[j]
            if cand_edge[a] == cand_edge[b] and cand_off[b] >= cand_off[a] - back_tol:
                s = gain[j] - max(cand_off[b] - cand_off[a], 0.0) / beta
                if s > score[b]:
                    score[b], back[b] = s, a


@njit(cache=True, nogil=True)
def _relax(indptr, head, tail, length, src_node, src_key, src, gain, src_limit, lo, hi,
           cand_edge, cand_off, score, back, cap, best, beta, want, dist, label, pred, touched,
           heap_t, heap_v):
    """One search from the given starts (``src_key`` metres, labelled by their position in
    ``src``); improves the scores of candidates ``lo:hi`` reached within their predecessor's
    limit. Returns whether any was."""
    for b in range(lo, hi):
        want[tail[cand_edge[b]]] += 1
    n_t = _layer(indptr, head, length, src_node, src_key, np.arange(src.shape[0]), cap, want,
                 hi - lo, dist, label, pred, touched, heap_t, heap_v)
    linked = False
    for b in range(lo, hi):
        v = tail[cand_edge[b]]
        want[v] = 0
        if dist[v] < np.inf:
            j = label[v]
            r = dist[v] - beta * (best - gain[j]) + cand_off[b]
            s = gain[j] - r / beta
            if r <= src_limit[j] and s > score[b]:
                score[b], back[b] = s, src[j]
                linked = True
    _reset(dist, touched, n_t)
    return linked


@njit(cache=True, nogil=True)
def _end_step(indptr, head, tail, length, src, base, straight, src_limit, lo, hi, cand_edge,
              cand_off, score, back, beta, back_tol, work):
    """Best predecessor and score of candidates ``lo:hi`` from the candidates ``src`` scoring
    ``base[a] - |route - straight[a]| / beta`` (Newson & Krumm's transition), one search per
    predecessor; routes longer than ``src_limit[a]`` metres are not possible."""
    dist, label, pred, touched, want, heap_t, heap_v = work
    for j in range(src.shape[0]):
        a = src[j]
        e = cand_edge[a]
        for b in range(lo, hi):
            want[tail[cand_edge[b]]] += 1
        n_t = _layer(indptr, head, length, np.array([head[e]], np.int32),
                     np.array([length[e] - cand_off[a]]), np.zeros(1, np.int64), src_limit[j],
                     want, hi - lo, dist, label, pred, touched, heap_t, heap_v)
        for b in range(lo, hi):
            v = tail[cand_edge[b]]
            want[v] = 0
            route = dist[v] + cand_off[b]
            if cand_edge[b] == e and cand_off[b] >= cand_off[a] - back_tol:
                route = max(cand_off[b] - cand_off[a], 0.0)  # on along the same edge
            s = base[j] - abs(route - straight[j]) / beta
            if route <= src_limit[j] and s > score[b]:
                score[b], back[b] = s, a
        _reset(dist, touched, n_t)


@njit(cache=True, nogil=True)
def _sources(cand_ptr, score, prev, prev2, fx, fy, ft, i, since, beta, outlier, window,
             route_factor, max_speed, slack):
    """The possible predecessors of fix ``i``: the live candidates of fix ``prev`` and, leaving
    ``prev`` out as an outlier (``outlier`` nats), of fix ``prev2`` (-1: none) when the two are
    at most ``window`` seconds apart (dense fixes: leaving one out loses little of the route).
    Returns ``(src, gain, limit, straight)``; the straight distance of a step past ``prev`` is
    the distance via ``prev``, so that leaving a fix out gains nothing but the detour it saves. The
    time a step from ``prev`` may take counts from ``since`` (s): fixes that no route reached
    do not widen the detours allowed after them."""
    step = np.hypot(fx[i] - fx[prev], fy[i] - fy[prev])
    if prev2 >= 0 and ft[i] - ft[prev2] > window:
        prev2 = -1
    n = cand_ptr[prev + 1] - cand_ptr[prev]
    if prev2 >= 0:
        n += cand_ptr[prev2 + 1] - cand_ptr[prev2]
    src = np.empty(n, np.int64)
    gain = np.empty(n)
    limit = np.empty(n)
    walk = np.empty(n)
    k = 0
    for f in (prev, prev2):
        if f < 0:
            continue
        straight = np.hypot(fx[i] - fx[f], fy[i] - fy[f])
        along = step if f == prev else step + np.hypot(fx[prev] - fx[f], fy[prev] - fy[f])
        dt = ft[i] - (since if f == prev else ft[f])
        lim = min(route_factor * straight, max_speed * max(dt, 1.0)) + slack
        penalty = 0.0 if f == prev else outlier
        for a in range(cand_ptr[f], cand_ptr[f + 1]):
            if score[a] > -np.inf:
                src[k], gain[k], limit[k] = a, score[a] - penalty + along / beta, lim
                walk[k] = along
                k += 1
    return src[:k], gain[:k], limit[:k], walk[:k]


@njit(cache=True, nogil=True)
def viterbi(indptr, head, tail, length, fx, fy, ft, cand_ptr, cand_edge, cand_off, cand_dist,
            skip, sigma, beta, outlier, window, route_factor, max_speed, slack, back_tol, work):
    """Most likely candidate per fix, cut into pieces where no transition is possible.

    Returns ``(choice, piece)``: for each fix the chosen candidate (index into ``cand_*``, -1 for a
    fix without candidates or with ``skip`` set) and its piece number (-1 likewise). A
    transition is possible when the road distance is at most
    ``min(route_factor * straight, max_speed * dt) + slack`` metres. A fix may be left out of
    the path as an outlier at a cost of ``outlier`` nats when the fixes before and after it are
    at most ``window`` seconds apart (a step then goes from the one to the other); fixes left
    out, and those that no route reaches, get ``skip`` set. ``work`` holds the search arrays of
    :func:`_workspace`, left as they came.
    """
    n = fx.shape[0]
    dist, label, pred, touched, want, heap_t, heap_v = work
    n_cand = cand_edge.shape[0]
    score = np.full(n_cand, -np.inf)
    back = np.full(n_cand, -1, np.int64)
    emit = -0.5 * (cand_dist / sigma) ** 2
    choice = np.full(n, -1, np.int64)
    piece = np.full(n, -1, np.int64)
    starts = np.zeros(n, np.bool_)
    dropped = np.zeros(n, np.bool_)
    prev, prev2, first_drop, i = -1, -1, -1, 0
    while i < n:
        lo, hi = cand_ptr[i], cand_ptr[i + 1]
        if skip[i]:
            i += 1
            continue
        if hi == lo:
            prev = -1  # a fix far from every road ends the piece
            i += 1
            continue
        linked = False
        if prev >= 0:
            since = ft[prev] if first_drop < 0 else ft[i - 1]
            src, gain, lim, straight = _sources(cand_ptr, score, prev, prev2, fx, fy, ft, i,
                                                since, beta, outlier, window, route_factor,
                                                max_speed, slack)
            ends = i == n - 1 or cand_ptr[i + 2] == cand_ptr[i + 1]  # the piece's last fix
            if starts[prev] or ends:
                _end_step(indptr, head, tail, length, src, gain - straight / beta, straight, lim,
                          lo, hi, cand_edge, cand_off, score, back, beta, back_tol, work)
            else:
                _transitions(indptr, head, tail, length, src, gain, lim, lo, hi, cand_edge,
                             cand_off, score, back, beta, back_tol, want, dist, label, pred,
                             touched, heap_t, heap_v)
            for b in range(lo, hi):
                if score[b] > -np.inf:
                    score[b] += emit[b]
                    linked = True
            if not linked and not ends and (first_drop < 0 or i - first_drop < MAX_DROPPED):
                skip[i] = dropped[i] = True  # no road route explains it: try the next fix
                first_drop = i if first_drop < 0 else first_drop
                i += 1
                continue
            if not linked and first_drop >= 0:  # none of the next fixes either: break there
                for j in range(first_drop, i):
                    skip[j] = skip[j] and not dropped[j]
                i, first_drop, prev = first_drop, -1, -1
                continue
        if not linked:
            starts[i] = True
            for b in range(lo, hi):
                score[b], back[b] = emit[b], -1
        prev2 = prev if linked else -1
        prev, first_drop = i, -1
        i += 1
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
            if starts[i] or back[c] < 0:
                break
            c = back[c]
            j = np.searchsorted(cand_ptr, c, side="right") - 1  # the fix of candidate c
            for k in range(j + 1, i):
                skip[k] = True  # left out as an outlier
            i = j
        n_piece += 1
        i -= 1
    for i in range(n):  # number pieces in time order
        if piece[i] >= 0:
            piece[i] = n_piece - 1 - piece[i]
    return choice, piece
