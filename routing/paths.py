"""The fastest drive between two snapped points as legs along edges, and where a car driving
it is after some seconds (a simulated car on its way, for instance)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.errors import RoutingError
from routing.routes import Leg, enter_leg, leave_leg, shared_leg
from routing.search import Weights, rank
from routing.snapping import Snap


@dataclass(frozen=True)
class DrivePath:
    """A drive as legs: leg i runs along ``edge[i]`` from fraction ``start[i]`` to ``end[i]``
    (in the edge's direction) and ends ``elapsed_s[i]`` seconds after departure."""

    edge: NDArray[np.int64]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    elapsed_s: NDArray[np.float64]

    @property
    def seconds(self) -> float:
        """The whole drive's time, seconds."""
        return float(self.elapsed_s[-1])

    def position_at(self, seconds: float) -> Snap:
        """Where the car is ``seconds`` after departure (at the end once it has arrived), as a
        point on its current road."""
        i = min(int(np.searchsorted(self.elapsed_s, seconds, side="right")), len(self.edge) - 1)
        begun = self.elapsed_s[i - 1] if i else 0.0
        length = self.elapsed_s[i] - begun
        share = min(max((seconds - begun) / length, 0.0), 1.0) if length > 0 else 1.0
        fraction = self.start[i] + share * (self.end[i] - self.start[i])
        return Snap(int(self.edge[i]), float(fraction), 0.0)


def drive_path(graph: RoadGraph, start: Snap, end: Snap, *, weights: Weights | None = None
               ) -> DrivePath:
    """The fastest drive from ``start`` to ``end`` (one search back from ``end``, stopped once
    ``start`` is reached); :class:`RoutingError` when no road leads there."""
    weights = weights or Weights.free_flow(graph)
    ranking = rank(graph, end, [start], k=1, weights=weights)
    if not ranking.top:
        raise RoutingError("no road leads from the start to the end of this drive")
    w = weights.forward
    node = int(ranking.best_node[0])
    if node < 0:  # along a road both lie on
        legs = [shared_leg(graph, start, end, w)]
    else:
        legs = [leave_leg(graph, start, node, w)]
        while ranking.pred_edge[node] >= 0:
            e = int(ranking.pred_edge[node])
            legs.append((e, 0.0, 1.0))
            node = int(graph.edge_head[e])
        legs.append(enter_leg(graph, end, node, w))
    return _path(legs, w)


def _path(legs: list[Leg], w: NDArray) -> DrivePath:
    edge, start, end = (np.array(v) for v in zip(*legs))
    seconds = (end - start) * w[edge]
    return DrivePath(edge.astype(np.int64), start.astype(np.float64), end.astype(np.float64),
                     np.cumsum(seconds))
