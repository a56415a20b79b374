"""The patrol-loop vehicle-routing problem, solved with PyVRP (iterated local search).

Loops start and end at one depot (the zone's station, index 0) and visit clients 1…n, each with a
service time; every loop lasts at most ``limit``. All durations are integers in the caller's unit
(the planner uses tenths of a second). Without a unit limit every client is visited and the
number of loops is minimised first, their total duration second. With ``units`` loops at most,
clients become optional: the weight visited is maximised first, then loops, then duration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pyvrp import Model, Solution
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

#: Solver budget per problem: wall-clock seconds, and iterations without improvement.
DEFAULT_TIME_S = 1.0
DEFAULT_PATIENCE = 500
#: Objective scales: a loop costs FIXED_LOOPS loop lengths of driving; the lightest target is
#: worth PRIZE_LOOPS times a loop and its driving. They stay far below the solver's penalty for
#: an overlong loop (up to 1e5 per unit of excess), so that the search keeps to feasible loops.
FIXED_LOOPS = 2
PRIZE_LOOPS = 2


@dataclass(frozen=True)
class Routes:
    """Solver answer: each loop as client indices (1…n) in visiting order; unvisited clients."""

    loops: list[list[int]]
    unvisited: list[int]


def solve_loops(travel: NDArray[np.int64], service: NDArray[np.int64], *, limit: int,
                weights: NDArray[np.float64] | None = None, units: int | None = None,
                time_s: float = DEFAULT_TIME_S, patience: int = DEFAULT_PATIENCE,
                seed: int = 0) -> Routes:
    """Solve for ``travel`` (square, depot first; ``travel[i, j]`` from i to j) and ``service``
    (per client, index 0 unused). Every client must fit a loop on its own:
    ``travel[0, c] + service[c] + travel[c, 0] <= limit``."""
    n = len(travel) - 1
    if n == 0:
        return Routes([], [])
    alone = travel[0, 1:] + service[1:] + travel[1:, 0]
    if np.any(alone > limit):
        raise ValueError("every client must fit a loop on its own")
    optional = units is not None
    weights = np.ones(n + 1) if weights is None else np.asarray(weights, float)
    units = n if units is None else min(units, n)
    fixed = FIXED_LOOPS * int(limit)  # a loop costs as much as driving a few whole loops
    prize_unit = PRIZE_LOOPS * (fixed + int(limit)) / min(weights[1:].min(), 1.0) \
        if optional else 0
    model = Model()
    places = [model.add_location(0, 0) for _ in range(n + 1)]  # only their edges matter
    model.add_depot(places[0])
    model.add_vehicle_type(num_available=units, shift_duration=int(limit), fixed_cost=fixed,
                           unit_distance_cost=1)
    for c in range(1, n + 1):
        prize = int(round(weights[c] * prize_unit))
        model.add_client(places[c], service_duration=int(service[c]), required=not optional,
                         prize=prize)
    over = 10 * int(limit) + 1  # a leg longer than any loop: never taken
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                t = int(min(travel[i, j], over))
                model.add_edge(a, b, distance=t, duration=t)
    data = model.data()
    start = Solution(data, [] if optional else [[c] for c in range(n)])  # clients from 0
    stop = MultipleCriteria([MaxRuntime(time_s), NoImprovement(patience)])
    best = model.solve(stop, seed=seed, display=False, collect_stats=False,
                       initial_solution=start).best
    if not best.is_feasible():
        best = start
    loops = [[a.idx + 1 for a in route if a.is_client()] for route in best.routes()]
    loops = [loop for loop in loops if loop]
    visited = {c for loop in loops for c in loop}
    return Routes(loops, [c for c in range(1, n + 1) if c not in visited])

