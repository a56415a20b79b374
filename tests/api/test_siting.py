"""Siting recommendations (MCLP, greedy): the reported gain equals the recomputed gain."""

import pytest

from patrol.analysis import hotspots, station_tiers
from patrol.errors import Invalid
from patrol.siting import recommend
from routing.snapping import snap_points


@pytest.fixture(scope="module")
def setting(city, wuhan_central):
    with city.engine.connect() as conn:
        tiers = station_tiers(conn)
        places = hotspots(conn)
    # A thin station set, so that there are gaps to close.
    stations = tiers[1][::10]
    snaps, _ = snap_points(wuhan_central.graph, places.lon, places.lat)
    return wuhan_central.graph, stations, places, snaps


def test_reported_gain_equals_recomputed_gain(setting):
    graph, stations, places, snaps = setting
    result = recommend(graph, stations, places, snaps, k=3, tier_s=60)
    assert len(result.nodes) == 3 and all(g > 0 for g in result.gains)
    assert result.gains == sorted(result.gains, reverse=True)  # greedy gains never grow
    assert result.covered_after == pytest.approx(result.verified_after)
    assert result.verified_after > result.covered_before


def test_cover_matrix_equals_networkx(setting, wuhan_central):
    """The nodes from which a post reaches a hotspot within 60 s, against networkx reverse
    Dijkstra from the hotspot's ways in."""
    from reference import times_from_entries
    from routing.search import Weights
    from patrol.siting import _cover_matrix
    graph, _, _, snaps = setting
    w = Weights.free_flow(graph).forward
    sample = [s for s in snaps if s is not None][:12]
    cover = _cover_matrix(graph, sample, 60).tocsc()
    for j, snap in enumerate(sample):
        times = times_from_entries(wuhan_central, snap.arrivals(graph, w), reverse=True,
                                   cutoff=60)
        expected = {n for n in range(graph.n_nodes) if int(graph.node_osmid[n]) in times}
        got = set(cover[:, j].indices.tolist())
        assert got == expected


def test_k_larger_than_the_candidates(setting):
    graph, stations, places, snaps = setting
    with pytest.raises(Invalid, match="more than the .* candidate locations"):
        recommend(graph, stations, places, snaps, k=10**7, tier_s=60)
    with pytest.raises(Invalid, match="at least 1"):
        recommend(graph, stations, places, snaps, k=0, tier_s=60)
