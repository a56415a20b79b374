"""The compiled shortest-path kernel: Dijkstra on CSR arrays, in numba.

One function serves every search of the engine:

- several sources, each with a start offset (a point in the middle of an edge enters the graph at
  the edge's end nodes after part of the edge's time);
- a time limit: nothing beyond ``limit`` seconds is settled or returned;
- a label per source, inherited by every node from its fastest source;
- optional targets attached to nodes with their own offsets (units, stations, hotspots snapped to
  edges): the search stops as soon as the ``k`` best targets are final.

It returns full-size arrays indexed by node: best time (seconds, ``inf`` when not reached), the
metres along that fastest path, and the edge through which each node was reached (``pred``), plus
the settled nodes in order of time. Answers equal those of networkx's Dijkstra on the same graph.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_NO_EDGE = -1


@njit(cache=True, nogil=True)
def _heap_push(heap_t, heap_v, size, t, v):
    j = size
    while j > 0:
        parent = (j - 1) >> 1
        if heap_t[parent] <= t:
            break
        heap_t[j] = heap_t[parent]
        heap_v[j] = heap_v[parent]
        j = parent
    heap_t[j] = t
    heap_v[j] = v
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(heap_t, heap_v, size):
    t = heap_t[0]
    v = heap_v[0]
    size -= 1
    if size > 0:
        last_t = heap_t[size]
        last_v = heap_v[size]
        j = 0
        while True:
            child = 2 * j + 1
            if child >= size:
                break
            if child + 1 < size and heap_t[child + 1] < heap_t[child]:
                child += 1
            if heap_t[child] >= last_t:
                break
            heap_t[j] = heap_t[child]
            heap_v[j] = heap_v[child]
            j = child
        heap_t[j] = last_t
        heap_v[j] = last_v
    return t, v, size


@njit(cache=True, nogil=True)
def _offer(top_t, top_c, k, c, t):
    """Keep ``top_*`` the k best (time, target) pairs in increasing time, target c now at t."""
    pos = -1
    for i in range(k):
        if top_c[i] == c:
            pos = i
            break
    if pos < 0:
        if t >= top_t[k - 1]:
            return
        pos = k - 1
    while pos > 0 and top_t[pos - 1] > t:  # shift worse entries down, c moves up
        top_t[pos] = top_t[pos - 1]
        top_c[pos] = top_c[pos - 1]
        pos -= 1
    top_t[pos] = t
    top_c[pos] = c


@njit(cache=True, nogil=True)
def dijkstra(indptr, neighbour, edge_id, seconds, metres,
             src_node, src_seconds, src_metres, src_label, limit,
             tgt_indptr, tgt_id, tgt_seconds, tgt_metres, best_seconds, best_metres, best_node, k):
    """Run Dijkstra; see the module docstring.

    ``indptr``/``neighbour``/``edge_id``/``seconds``/``metres`` are one direction's CSR arrays.
    Targets: node i carries targets ``tgt_id[tgt_indptr[i]:tgt_indptr[i+1]]`` reached from i after
    ``tgt_seconds`` (and ``tgt_metres``); ``best_*`` arrays (one slot per target, pre-filled with
    ``inf`` or a time known without the graph) are improved in place. With ``k`` > 0 the search
    stops once the k best targets are final; with ``k`` == 0 targets are ignored.
    ``src_label`` names each source; every node inherits the label of the source it is reached
    from fastest (a network Voronoi diagram when the sources are stations).
    Returns ``(settled, dist, dist_metres, pred_edge, label)``.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    dist_m = np.zeros(n)
    pred = np.full(n, _NO_EDGE, np.int32)
    label = np.full(n, -1, np.int64)
    capacity = neighbour.shape[0] + src_node.shape[0] + 1
    heap_t = np.empty(capacity)
    heap_v = np.empty(capacity, np.int32)
    settled = np.empty(n, np.int32)
    n_settled = 0
    size = 0
    top_t = np.full(max(k, 1), np.inf)
    top_c = np.full(max(k, 1), -1, np.int64)
    if k > 0:
        for c in range(best_seconds.shape[0]):
            if best_seconds[c] < np.inf:
                _offer(top_t, top_c, k, c, best_seconds[c])
    for i in range(src_node.shape[0]):
        s = src_node[i]
        if src_seconds[i] <= limit and src_seconds[i] < dist[s]:
            dist[s] = src_seconds[i]
            dist_m[s] = src_metres[i]
            label[s] = src_label[i]
            size = _heap_push(heap_t, heap_v, size, src_seconds[i], s)
    while size > 0:
        d, v, size = _heap_pop(heap_t, heap_v, size)
        if d > dist[v]:
            continue  # a stale heap entry
        if k > 0 and d >= top_t[k - 1]:
            break  # every one of the k best targets is final
        settled[n_settled] = v
        n_settled += 1
        if k > 0:
            for j in range(tgt_indptr[v], tgt_indptr[v + 1]):
                c = tgt_id[j]
                t = d + tgt_seconds[j]
                if t < best_seconds[c] and t <= limit:
                    best_seconds[c] = t
                    best_metres[c] = dist_m[v] + tgt_metres[j]
                    best_node[c] = v
                    _offer(top_t, top_c, k, c, t)
        for a in range(indptr[v], indptr[v + 1]):
            h = neighbour[a]
            nd = d + seconds[a]
            if nd < dist[h] and nd <= limit:
                dist[h] = nd
                dist_m[h] = dist_m[v] + metres[a]
                pred[h] = edge_id[a]
                label[h] = label[v]
                size = _heap_push(heap_t, heap_v, size, nd, h)
    return settled[:n_settled], dist, dist_m, pred, label
