"""The pieces of a drawn route at its ends: from a snapped point to the first node, from the
last node to the snapped target, or along a road both lie on (metric CRS LineStrings)."""

from __future__ import annotations

import shapely
import shapely.ops
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.snapping import Snap, along_road, on_canonical


def along_shared_road(graph: RoadGraph, cand: Snap, target: Snap, w: NDArray):
    """The fastest way from ``cand`` to ``target`` along a road both lie on, drawn."""
    pairs = [(along_road(graph, a, fa, fb, w)[0], a, fa, fb)
             for a, fa in _canonical(graph, cand) for b, fb in _canonical(graph, target)
             if a == b]
    _, edge, start, end = min(pairs)
    if end >= start:
        return shapely.ops.substring(graph.edge_lines[edge], start, end, normalized=True)
    twin = int(graph.edge_twin[edge])
    return shapely.ops.substring(graph.edge_lines[twin], 1 - start, 1 - end, normalized=True)


def _canonical(graph: RoadGraph, snap: Snap) -> list[tuple[int, float]]:
    """The snap's entries on each road's canonical edge (see :func:`on_canonical`)."""
    return [tuple(v.item() for v in on_canonical(graph, e, f)) for e, f in snap.entries]


def leave_piece(graph: RoadGraph, snap: Snap, node: int, w: NDArray):
    """From the snapped point to ``node``, an end of one of its roads (the fastest way)."""
    ways = []
    for e, f in snap.entries:
        twin = int(graph.edge_twin[e])
        if graph.edge_head[e] == node:
            ways.append(((1 - f) * w[e], e, f))
        if twin >= 0 and graph.edge_tail[e] == node:
            ways.append((f * w[twin], twin, 1 - f))
    _, edge, start = min(ways)
    return shapely.ops.substring(graph.edge_lines[edge], start, 1, normalized=True)


def enter_piece(graph: RoadGraph, snap: Snap, node: int, w: NDArray):
    """From ``node``, an end of one of the target's roads, to the snapped target (the fastest
    way)."""
    ways = []
    for e, f in snap.entries:
        twin = int(graph.edge_twin[e])
        if graph.edge_tail[e] == node:
            ways.append((f * w[e], e, f))
        if twin >= 0 and graph.edge_head[e] == node:
            ways.append(((1 - f) * w[twin], twin, 1 - f))
    _, edge, end = min(ways)
    return shapely.ops.substring(graph.edge_lines[edge], 0, end, normalized=True)
