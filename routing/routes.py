"""The pieces of a route at its ends: from a snapped point to the first node, from the last
node to the snapped target, or along a road both lie on. Each piece is a leg (edge, start
fraction, end fraction, driven in the edge's direction) or that leg drawn (metric CRS
LineString)."""

from __future__ import annotations

import shapely
import shapely.ops
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.snapping import Snap, along_road, on_canonical

#: A leg: (edge, start fraction, end fraction), start <= end, driven along the edge.
Leg = tuple[int, float, float]


def along_shared_road(graph: RoadGraph, cand: Snap, target: Snap, w: NDArray):
    """The fastest way from ``cand`` to ``target`` along a road both lie on, drawn."""
    return drawn(graph, shared_leg(graph, cand, target, w))


def shared_leg(graph: RoadGraph, cand: Snap, target: Snap, w: NDArray) -> Leg:
    """The fastest way from ``cand`` to ``target`` along a road both lie on, as a leg."""
    pairs = [(along_road(graph, a, fa, fb, w)[0], a, fa, fb)
             for a, fa in _canonical(graph, cand) for b, fb in _canonical(graph, target)
             if a == b]
    _, edge, start, end = min(pairs)
    if end >= start:
        return edge, start, end
    return int(graph.edge_twin[edge]), 1 - start, 1 - end


def _canonical(graph: RoadGraph, snap: Snap) -> list[tuple[int, float]]:
    """The snap's entries on each road's canonical edge (see :func:`on_canonical`)."""
    return [tuple(v.item() for v in on_canonical(graph, e, f)) for e, f in snap.entries]


def leave_piece(graph: RoadGraph, snap: Snap, node: int, w: NDArray):
    """From the snapped point to ``node``, an end of one of its roads (the fastest way)."""
    return drawn(graph, leave_leg(graph, snap, node, w))


def leave_leg(graph: RoadGraph, snap: Snap, node: int, w: NDArray) -> Leg:
    """From the snapped point to ``node`` (the fastest way), as a leg."""
    ways = []
    for e, f in snap.entries:
        twin = int(graph.edge_twin[e])
        if graph.edge_head[e] == node:
            ways.append(((1 - f) * w[e], e, f))
        if twin >= 0 and graph.edge_tail[e] == node:
            ways.append((f * w[twin], twin, 1 - f))
    _, edge, start = min(ways)
    return edge, start, 1.0


def enter_piece(graph: RoadGraph, snap: Snap, node: int, w: NDArray):
    """From ``node``, an end of one of the target's roads, to the snapped target (the fastest
    way)."""
    return drawn(graph, enter_leg(graph, snap, node, w))


def enter_leg(graph: RoadGraph, snap: Snap, node: int, w: NDArray) -> Leg:
    """From ``node`` to the snapped target (the fastest way), as a leg."""
    ways = []
    for e, f in snap.entries:
        twin = int(graph.edge_twin[e])
        if graph.edge_tail[e] == node:
            ways.append((f * w[e], e, f))
        if twin >= 0 and graph.edge_head[e] == node:
            ways.append(((1 - f) * w[twin], twin, 1 - f))
    _, edge, end = min(ways)
    return edge, 0.0, end


def drawn(graph: RoadGraph, leg: Leg):
    """A leg as the part of its edge's line it covers (metric CRS)."""
    edge, start, end = leg
    return shapely.ops.substring(graph.edge_lines[edge], start, end, normalized=True)
