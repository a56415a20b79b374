"""The bounded road search of the map matcher (numba): Dijkstra from several keyed sources,
each node labelled with the source it is reached from. Its arrays are allocated once per thread
and graph (:func:`_workspace`) and reset through the list of nodes a search touched, so a
search costs only the few nodes near the fix. Lengths are metres."""

from __future__ import annotations

import numpy as np
from numba import njit

from routing.kernel import _heap_pop, _heap_push


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
            n_touched, size = _settle(v, key, src_label[j], -1, n_touched, size, dist, label,
                                      pred, touched, heap_t, heap_v)
    while size > 0 and remaining > 0:
        d, v, size = _heap_pop(heap_t, heap_v, size)
        if d > dist[v]:
            continue
        remaining -= want[v]
        for a in range(indptr[v], indptr[v + 1]):
            h = head[a]
            nd = d + length[a]
            if nd <= limit and nd < dist[h]:
                n_touched, size = _settle(h, nd, label[v], a, n_touched, size, dist, label, pred,
                                          touched, heap_t, heap_v)
    return n_touched


@njit(cache=True, nogil=True)
def _settle(v, d, lab, via, n_touched, size, dist, label, pred, touched, heap_t, heap_v):
    """Give node v the key ``d`` (metres), source ``lab`` and edge ``via`` and queue it; returns
    the touched count and the heap size."""
    if dist[v] == np.inf:
        touched[n_touched] = v
        n_touched += 1
    dist[v] = d
    label[v] = lab
    pred[v] = via
    return n_touched, _heap_push(heap_t, heap_v, size, d, v)


@njit(cache=True, nogil=True)
def _workspace(indptr, head):
    """Arrays for :func:`_layer`: dist, label, pred, touched, want and the heap. Every search
    leaves them as it found them (``dist`` reset through ``touched``, ``want`` zeroed), so one
    set serves all the searches of a thread on one graph."""
    n_nodes = indptr.shape[0] - 1
    return (np.full(n_nodes, np.inf), np.full(n_nodes, -1, np.int64),
            np.full(n_nodes, -1, np.int64), np.empty(n_nodes, np.int32),
            np.zeros(n_nodes, np.int64), np.empty(head.shape[0] + 1),
            np.empty(head.shape[0] + 1, np.int32))


@njit(cache=True, nogil=True)
def _reset(dist, touched, n_touched):
    for j in range(n_touched):
        dist[touched[j]] = np.inf
