"""The coverage analysis on Dask distributed, for cities that outgrow one machine.

Places are split into partitions; each task carries what it needs (the compiled graph's file,
one tier's stations, the partition's coordinates) and returns drive times, so workers share
nothing but the graph file, which each loads once. Results equal the in-process run.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from patrol.analysis import TIERS, Places, TierTimes, tier_times
from routing.compiled import RoadGraph, load_compiled


@lru_cache(maxsize=2)
def _graph(path: str) -> RoadGraph:
    """The compiled graph, loaded once per worker process."""
    return load_compiled(path)


def partition_times(graph_file: str, stations: list[tuple], lon: np.ndarray, lat: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One task: drive times from the nearest of ``stations`` to these places."""
    places = Places("partition", list(range(len(lon))), [None] * len(lon), [None] * len(lon),
                    [None] * len(lon), lon, lat, np.ones(len(lon)))
    times = tier_times(_graph(graph_file), stations, places)
    return times.seconds, times.station


def dask_times(client, graph_file: str, tiers: dict[int, list[tuple]], places: Places,
               partitions: int) -> dict[int, TierTimes]:
    """Tier times for ``places`` computed by ``client``'s workers in ``partitions`` pieces."""
    chunks = [c for c in np.array_split(np.arange(len(places.ids)), max(1, partitions))
              if len(c)]
    jobs = [(tier, chunk, client.submit(partition_times, graph_file, tiers[tier],
                                        places.lon[chunk], places.lat[chunk], pure=False))
            for tier in TIERS for chunk in chunks]
    results = {tier: TierTimes(np.full(len(places.ids), np.inf),
                               np.full(len(places.ids), -1, np.int64)) for tier in TIERS}
    for tier, chunk, future in jobs:
        seconds, station = future.result()
        results[tier].seconds[chunk] = seconds
        results[tier].station[chunk] = station
    return results
