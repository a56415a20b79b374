"""The batch analysis and the single-hotspot answer are one computation, equal to networkx.

For every hotspot and grid cell of the test city and every tier: the batch time (one search from
all the tier's stations, ``TierSearch.at``), the time GET /hotspots/{id}/coverage gives (one
search back from the place, ``times_to``) and an independent networkx multi-source search on the
graph with every road cut at its points (``reference.times_between_snapped``) agree.
"""

import numpy as np
import pytest

from patrol.analysis import TIERS, grid_cells, hotspots, search_tier, station_tiers
from reference import times_between_snapped
from routing.search import Weights, times_to
from routing.snapping import snap_many

LIMIT_S = 300.0  # the coverage endpoint's horizon


@pytest.fixture(scope="module")
def places(city, wuhan_central):
    graph = wuhan_central.graph
    with city.engine.connect() as conn:
        tiers = station_tiers(conn)
        found = [hotspots(conn), grid_cells(conn)]
    return tiers, [(p, snap_many(graph, p.lon, p.lat)) for p in found]


def within(seconds: np.ndarray) -> np.ndarray:
    return np.where(seconds <= LIMIT_S, seconds, np.inf)


@pytest.mark.parametrize("tier", TIERS)
def test_batch_equals_single_point_and_networkx(places, wuhan_central, tier):
    graph = wuhan_central.graph
    tiers, place_sets = places
    stations = snap_many(graph, [s[2] for s in tiers[tier]], [s[3] for s in tiers[tier]])
    search = search_tier(graph, tiers[tier])
    w = Weights.free_flow(graph).forward
    compared = same_road = 0
    for kind, snapped in place_sets:
        batch = within(search.at(snapped).seconds)
        single = np.array([times_to(graph, snapped.snap(i), stations, limit_s=LIMIT_S).min()
                           if snapped.on_road[i] else np.inf for i in range(len(snapped))])
        reference = within(times_between_snapped(graph, stations, snapped, weights=w,
                                                 cutoff=LIMIT_S + 1))
        for name, ours in (("batch", batch), ("single", single)):
            assert np.array_equal(np.isfinite(ours), np.isfinite(reference)), (kind.kind, name)
            finite = np.isfinite(reference)
            worst = np.max(np.abs(ours[finite] - reference[finite]), initial=0.0)
            assert worst < 0.01, f"{kind.kind}s, {name}: off by {worst:.3f} s"
        compared += np.isfinite(reference).sum()
        same_road += np.isin(snapped.edge, stations.edge[stations.on_road]).sum()
    assert compared > 50
    if tier == 1:
        assert same_road > 0, "some place shares a road with a station (the direct way)"
