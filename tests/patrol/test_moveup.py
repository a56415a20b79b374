"""Move-up on central Wuhan: reported gains against coverage recomputed with networkx, the hole
a dispatch leaves, busy units, the 1-minute rule, and the HiGHS rebalance against enumeration."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from patrol.cover_tables import CoverTables
from patrol.moveup import (RINGS, Cover, Demand, Fleet, expected_coverage,
                           moves_after_dispatch, pair_gains, recommend_moves)
from patrol.rebalance import rebalance
from reference import distinct_road_snaps, times_between_snapped
from routing import Snapped
from routing.search import Weights

N_DEMAND, N_SITES, N_UNITS = 60, 12, 10


@pytest.fixture(scope="module")
def world(wuhan_central):
    """Demand points (a third of them hotspots), waiting points and units on distinct roads of
    central Wuhan; zones by a coarse longitude band."""
    snaps = distinct_road_snaps(wuhan_central, N_DEMAND + N_SITES + N_UNITS, seed=15,
                                bbox=(114.26, 30.585, 114.29, 30.61))
    demand_pts = Snapped.of(snaps[:N_DEMAND])
    sites = Snapped.of(snaps[N_DEMAND:N_DEMAND + N_SITES])
    units = Snapped.of(snaps[N_DEMAND + N_SITES:])
    graph = wuhan_central.graph
    lon = np.array([graph.to_lonlat.transform(*graph.edge_lines[s.edge].interpolate(
        s.fraction, normalized=True).coords[0])[0] for s in snaps])
    zone = (lon > 114.275).astype(np.int64)
    demand = Demand(np.where(np.arange(N_DEMAND) % 3 == 0, 2.0, 1.0),
                    np.arange(N_DEMAND) % 3 == 0, zone[:N_DEMAND])
    tables = CoverTables.build(graph, demand, demand_pts, sites)
    return graph, demand, demand_pts, sites, units, zone[N_DEMAND + N_SITES:], tables


def nx_cover(graph, origins: Snapped, demand_pts: Snapped) -> Cover:
    """Cover recomputed with networkx, one search per origin."""
    rows, cols, secs = [], [], []
    for i in range(len(origins)):
        t = times_between_snapped(graph, origins.take([i]), demand_pts,
                                  weights=Weights.free_flow(graph).forward, cutoff=max(RINGS))
        hit = np.flatnonzero(np.isfinite(t))
        rows.append(np.full(len(hit), i)), cols.append(hit), secs.append(t[hit])
    return Cover.of(np.concatenate(rows), np.concatenate(cols), np.concatenate(secs),
                    n_rows=len(origins), n_demand=len(demand_pts))


def stacked(*snaps: Snapped) -> Snapped:
    return Snapped.of([s for part in snaps for s in part.snaps()])


def test_tables_agree_with_networkx(world):
    graph, demand, demand_pts, sites, units, zone, tables = world
    ours, _ = tables.fleet_rows(np.arange(len(units)), units)
    theirs = nx_cover(graph, units, demand_pts)
    for r in RINGS:
        assert (ours.within[r] != theirs.within[r]).nnz == 0
    assert (tables.sites.within[180] != nx_cover(graph, sites, demand_pts).within[180]).nnz == 0


def test_reported_gain_equals_recomputed(world):
    graph, demand, demand_pts, sites, units, zone, tables = world
    cover, to_site = tables.fleet_rows(np.arange(len(units)), units)
    fleet = Fleet(cover, np.ones(len(units), bool), zone, to_site)
    moves = recommend_moves(demand, fleet, tables.sites, max_moves=2, max_drive_s=900)
    assert moves, "central Wuhan with 10 units has a gainful move"
    placed = units.snaps()
    weight = demand.objective_weight()
    before = expected_coverage(weight, nx_cover(graph, units, demand_pts).counts(180), 0.3)
    for move in moves:
        placed[move.unit] = sites.snap(move.site)
        after = expected_coverage(weight, nx_cover(graph, Snapped.of(placed),
                                                   demand_pts).counts(180), 0.3)
        assert move.gain == pytest.approx(after - before, abs=1e-12)
        assert move.after.expected == pytest.approx(after, abs=1e-12)
        before = after


def test_move_restores_the_hole_a_dispatch_leaves(world):
    """Unit 0 is dispatched; unit 2 stands where unit 1 does (it adds nothing there). The best
    move brings the recomputed coverage back to at least what it was before the dispatch."""
    graph, demand, demand_pts, sites, units, zone, tables = world
    placed = units.snaps()
    placed[2] = placed[1]
    full = Snapped.of(placed)
    left = Snapped.of(placed[1:])
    site_pts = stacked(sites, Snapped.of([placed[0]]))
    tables = CoverTables.build(graph, demand, demand_pts, site_pts)
    cover, to_site = tables.fleet_rows(np.arange(1, len(units)) + 100, left)
    fleet = Fleet(cover, np.ones(len(left), bool), np.full(len(left), -1), to_site)
    moves = recommend_moves(demand, fleet, tables.sites, max_moves=1, max_drive_s=900)
    assert len(moves) == 1
    weight = demand.objective_weight()
    before_dispatch = expected_coverage(weight, nx_cover(graph, full, demand_pts).counts(180),
                                        0.3)
    hole = expected_coverage(weight, nx_cover(graph, left, demand_pts).counts(180), 0.3)
    assert hole < before_dispatch
    after_move = left.snaps()
    after_move[moves[0].unit] = site_pts.snap(moves[0].site)
    recomputed = expected_coverage(weight, nx_cover(graph, Snapped.of(after_move),
                                                    demand_pts).counts(180), 0.3)
    assert recomputed == pytest.approx(moves[0].after.expected, abs=1e-12)
    assert recomputed >= before_dispatch - 1e-12


def test_move_after_each_dispatch_is_the_recommendation_without_that_unit(world):
    """The hints (the first move once a unit is dispatched, to a waiting point near it) equal
    recommend_moves over the fleet with that unit taken out and those waiting points only;
    a busy unit gets no hint and is never moved."""
    graph, demand, demand_pts, sites, units, zone, tables = world
    cover, to_site = tables.fleet_rows(np.arange(len(units)), units)
    movable = np.ones(len(units), bool)
    movable[3] = False
    fleet = Fleet(cover, movable, zone, to_site)
    hints = moves_after_dispatch(demand, fleet, tables.sites, reach_s=600, max_drive_s=900)
    assert len(hints) >= 5 and 3 not in hints
    for gone in np.flatnonzero(movable):
        rest = np.flatnonzero(np.arange(len(units)) != gone)
        near = np.flatnonzero(to_site[gone] <= 600)
        expected = recommend_moves(demand, Fleet(cover.take(rest), movable[rest], zone[rest],
                                                 to_site[np.ix_(rest, near)]),
                                   tables.sites.take(near), max_moves=1, max_drive_s=900)
        if not expected:
            assert gone not in hints
            continue
        first, hint = expected[0], hints[gone]
        assert (hint.unit, hint.site) == (rest[first.unit], near[first.site])
        assert hint.unit != 3
        assert (hint.gain, hint.drive_s, hint.after) == (first.gain, first.drive_s, first.after)


def test_busy_units_are_never_moved(world):
    graph, demand, demand_pts, sites, units, zone, tables = world
    cover, to_site = tables.fleet_rows(np.arange(len(units)), units)
    everyone = recommend_moves(demand, Fleet(cover, np.ones(len(units), bool), zone, to_site),
                               tables.sites, max_moves=3, max_drive_s=900)
    busy = np.zeros(len(units), bool)
    busy[[m.unit for m in everyone]] = True
    moves = recommend_moves(demand, Fleet(cover, ~busy, zone, to_site), tables.sites,
                            max_moves=3, max_drive_s=900)
    assert moves and not busy[[m.unit for m in moves]].any()


def test_sole_one_minute_cover_of_own_zone_is_kept(world):
    graph, demand, demand_pts, sites, units, zone, tables = world
    cover, to_site = tables.fleet_rows(np.arange(len(units)), units)
    k60 = cover.counts(60)
    free = Fleet(cover, np.ones(len(units), bool), np.full(len(units), -1), to_site)
    for move in recommend_moves(demand, free, tables.sites, max_moves=5, max_drive_s=900):
        row = cover.within[60][move.unit].toarray().ravel() > 0
        sole = row & (k60 == 1)
        if not sole.any():
            continue
        # Zoned so that the moved unit's sole 1-minute points are its own zone: refused now,
        # unless the waiting point reaches them too.
        zoned = np.where(np.arange(len(units)) == move.unit, 7, -1)
        rezoned = Demand(demand.weight, demand.hotspot, np.where(sole, 7, demand.zone))
        moves = recommend_moves(rezoned, Fleet(cover, np.ones(len(units), bool), zoned,
                                               to_site), tables.sites, max_moves=5,
                                max_drive_s=900)
        for m in moves:
            if m.unit == move.unit:
                reached = tables.sites.within[60][m.site].toarray().ravel() > 0
                assert reached[sole].all()
        return
    pytest.skip("no move here takes a unit's sole 1-minute cover")


def test_rebalance_is_optimal_against_enumeration(world):
    graph, demand, demand_pts, sites, units, zone, tables = world
    cover, to_site = tables.fleet_rows(np.arange(len(units)), units)
    fleet = Fleet(cover, np.ones(len(units), bool), np.full(len(units), -1), to_site)
    kwargs = dict(max_drive_s=900, per_unit=N_SITES, max_pairs=10_000)
    result = rebalance(demand, fleet, tables.sites, max_moves=2, **kwargs)
    assert result.status == "Optimal"
    weight = demand.objective_weight()
    k = cover.counts(180)
    once = float(weight @ (k >= 1))

    def value(moves) -> float:
        c = k.copy()
        for u, s in moves:
            c = c - cover.within[180][u].toarray().ravel() + tables.sites.within[180][
                s].toarray().ravel()
        if weight @ (c >= 1) < once - 1e-12:
            return -np.inf  # the model's α: single coverage never drops
        return float(weight @ (np.minimum(c, 1) + (c >= 2)))

    gain, cand_units, cand_sites = pair_gains(demand, fleet, tables.sites, max_drive_s=900)
    pairs = [(int(cand_units[i]), int(cand_sites[j])) for i, j in zip(*np.nonzero(gain > 0))]
    best = max([value([])] + [value(c) for n in (1, 2) for c in combinations(pairs, n)
                              if len({u for u, _ in c}) == n])
    chosen = [(u, s) for u, s, _ in result.moves]
    assert value(chosen) == pytest.approx(best, abs=1e-3)  # up to the drive-time penalty
