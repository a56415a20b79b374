"""The plain networkx ranking, kept as the benchmark baseline for the compiled kernel.

It ranks candidates by drive time to a target with ``networkx.single_source_dijkstra_path_length``
on the reversed graph (one run per way into the target, no cutoff), on the same compiled graph.
Selected in the service with ``PATROL_RANKING=networkx``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from routing.compiled import RoadGraph
from routing.search import Ranked, Weights
from routing.snapping import Snap, direct_seconds


class NetworkxRanker:
    """Holds the reversed graph as a networkx DiGraph (parallel edges: the fastest kept)."""

    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph
        reverse = nx.DiGraph()
        reverse.add_nodes_from(range(graph.n_nodes))
        for e in np.argsort(-graph.edge_seconds):  # slowest first, so the fastest overwrites
            reverse.add_edge(int(graph.edge_head[e]), int(graph.edge_tail[e]),
                             weight=float(graph.edge_seconds[e]))
        self.reverse = reverse

    def rank_to(self, target: Snap, candidates: list[Snap], *, k: int) -> list[Ranked]:
        """The k candidates fastest to ``target`` (metres are not tracked: 0)."""
        weights = Weights.free_flow(self.graph).forward
        best = np.array([direct_seconds(self.graph, c, target, weights)[0] for c in candidates])
        for node, offset, _ in target.arrivals(self.graph, weights):
            seconds = nx.single_source_dijkstra_path_length(self.reverse, node, weight="weight")
            for i, cand in enumerate(candidates):
                for start, leave, _ in cand.departures(self.graph, weights):
                    total = leave + seconds.get(start, np.inf) + offset
                    if total < best[i]:
                        best[i] = total
        order = np.argsort(best, kind="stable")[:k]
        return [Ranked(int(i), float(best[i]), 0.0) for i in order if np.isfinite(best[i])]
