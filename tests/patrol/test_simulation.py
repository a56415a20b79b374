"""The incident simulation on central Wuhan: drive times checked against networkx, units
dispatched from where they have got to, one incident per unit at a time, same seed same
incidents, and the reported figures recomputed from the CSV."""

import csv

import numpy as np
import pytest

from patrol.simulation import FleetView, Move, replay
from patrol.simulation_fleet import RELOCATING, SimUnit
from patrol.simulation_incidents import Incidents, Places, draw_incidents
from patrol.simulation_report import summarise, write_outputs
from reference import distinct_road_snaps, times_between_snapped
from routing import Snapped
from routing.paths import drive_path


def incidents_at(snaps, received_s, *, priority=None, service_s=600.0) -> Incidents:
    """Incidents at ``snaps`` received at ``received_s`` (priority 1 unless given)."""
    n = len(snaps)
    lonlat = np.array([[0.0, 0.0]] * n)
    return Incidents(np.asarray(received_s, float), lonlat[:, 0], lonlat[:, 1], Snapped.of(snaps),
                     np.asarray(priority or [1] * n, np.int64), np.array(["grid"] * n),
                     np.full(n, float(service_s)), 0)


def units_at(snaps) -> list[SimUnit]:
    return [SimUnit(i + 1, f"T-{i + 1}", s, s) for i, s in enumerate(snaps)]


def networkx_seconds(graph, start, end) -> float:
    return float(times_between_snapped(graph, Snapped.of([start]), Snapped.of([end]),
                                       weights=graph.edge_seconds, cutoff=np.inf)[0])


@pytest.fixture(scope="module")
def snaps(wuhan_central):
    return distinct_road_snaps(wuhan_central, 12, seed=7)


def test_a_drive_path_takes_the_networkx_time_and_runs_from_start_to_end(wuhan_central, snaps):
    graph = wuhan_central.graph
    for start, end in zip(snaps[:4], snaps[4:8]):
        path = drive_path(graph, start, end)
        assert path.seconds == pytest.approx(networkx_seconds(graph, start, end), abs=1e-6)
        first, last = path.position_at(0.0), path.position_at(path.seconds + 60)
        assert first.lonlat(graph) == pytest.approx(start.lonlat(graph), abs=1e-7)
        assert last.lonlat(graph) == pytest.approx(end.lonlat(graph), abs=1e-7)
        whole = path.edge[1:-1]  # the legs between the first and the last are whole edges
        assert np.all(graph.edge_head[path.edge[:-1]] == graph.edge_tail[path.edge[1:]])
        assert np.all(path.start[1:-1] == 0) and np.all(path.end[1:-1] == 1) or not len(whole)
        halfway = path.position_at(path.seconds / 2)
        # from halfway the rest of the way takes the other half
        assert networkx_seconds(graph, halfway, end) == pytest.approx(path.seconds / 2, abs=1e-6)


def test_one_unit_one_incident_responds_in_the_networkx_drive_time(wuhan_central, snaps):
    graph = wuhan_central.graph
    home, scene = snaps[0], snaps[1]
    run = replay(graph, units_at([home]), incidents_at([scene], [100.0]))
    (record,) = run.incidents
    expected = networkx_seconds(graph, home, scene)
    assert record["unit_id"] == 1 and record["dispatched_s"] == 100.0
    assert record["response_s"] == pytest.approx(expected, abs=1e-6)
    assert record["arrived_s"] == pytest.approx(100.0 + expected, abs=1e-6)
    assert record["cleared_s"] == pytest.approx(100.0 + expected + 600.0, abs=1e-6)


def test_a_returning_unit_is_dispatched_from_where_it_has_got_to(wuhan_central, snaps):
    graph = wuhan_central.graph
    home, first, second = snaps[2], snaps[3], snaps[4]
    to_first = networkx_seconds(graph, home, first)
    cleared = to_first + 600.0
    back = drive_path(graph, first, home)
    later = cleared + back.seconds / 2  # halfway home
    run = replay(graph, units_at([home]), incidents_at([first, second], [0.0, later]))
    record = run.incidents[1]
    assert record["unit_was"] == "returning" and record["dispatched_s"] == later
    where = back.position_at(back.seconds / 2)
    assert record["drive_s"] == pytest.approx(networkx_seconds(graph, where, second), abs=1e-6)


def test_an_incident_waits_for_the_next_unit_to_clear(wuhan_central, snaps):
    graph = wuhan_central.graph
    run = replay(graph, units_at([snaps[0]]), incidents_at([snaps[1], snaps[2]], [0.0, 10.0]))
    first, second = run.incidents
    assert second["dispatched_s"] == pytest.approx(first["cleared_s"])
    assert second["response_s"] == pytest.approx(
        first["cleared_s"] - 10.0 + networkx_seconds(graph, snaps[1], snaps[2]), abs=1e-6)


def city_places(wuhan_central) -> Places:
    graph = wuhan_central.graph
    rng = np.random.default_rng(3)
    nodes = graph.node_lonlat[rng.choice(graph.n_nodes, 60, replace=False)]
    return Places(nodes[:20], np.array(["mall", "school", "hospital", "metro_station"] * 5),
                  nodes[20:])


def test_the_same_seed_gives_the_same_incidents(wuhan_central):
    graph, places = wuhan_central.graph, city_places(wuhan_central)
    a = draw_incidents(graph, places, hours=3, rate_per_h=40, seed=5)
    b = draw_incidents(graph, places, hours=3, rate_per_h=40, seed=5)
    c = draw_incidents(graph, places, hours=3, rate_per_h=40, seed=6)
    for name in ("received_s", "lon", "lat", "priority", "service_s"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.lon[:10], c.lon[:10])
    assert 60 < len(a) < 180 and np.all(np.diff(a.received_s) >= 0)
    assert set(a.source) <= {"grid", "mall", "school", "hospital", "metro_station"}
    assert {"grid", "mall"} <= set(a.source)


def move_to(target):
    """A stub policy: after each dispatch, the lowest-id standing unit drives to ``target``."""
    def policy(view: FleetView) -> list[Move]:
        standing = view.unit_id[view.state == "available"]
        return [Move(int(standing[0]), target)] if view.event == "dispatch" and len(
            standing) else []
    return policy


def busy_timeline_ok(records) -> bool:
    """No unit holds two incidents at once: per unit, its [dispatched, cleared) spans are
    disjoint."""
    by_unit = {}
    for r in records:
        by_unit.setdefault(r["unit_id"], []).append((r["dispatched_s"], r["cleared_s"]))
    return all(b[0] >= a[1] for spans in by_unit.values()
               for a, b in zip(sorted(spans), sorted(spans)[1:]))


@pytest.mark.parametrize("with_moves", [False, True])
def test_busy_fleet_never_gives_a_unit_two_incidents(wuhan_central, snaps, with_moves):
    graph, places = wuhan_central.graph, city_places(wuhan_central)
    incidents = draw_incidents(graph, places, hours=4, rate_per_h=30, seed=1)
    policy = move_to(snaps[11]) if with_moves else None
    run = replay(graph, units_at(snaps[:4]), incidents, policy=policy)
    assert len(run.incidents) == len(incidents)
    assert all("arrived_s" in r for r in run.incidents)
    assert sum(r["dispatched_s"] > r["received_s"] for r in run.incidents) > 10  # it queued
    assert busy_timeline_ok(run.incidents)
    assert (len(run.moves) > 0) == with_moves
    broken = [dict(r) for r in run.incidents]
    broken[1].update(unit_id=broken[0]["unit_id"], dispatched_s=broken[0]["dispatched_s"])
    assert not busy_timeline_ok(broken)  # the check can fail


def test_moves_relocate_units_that_stay_dispatchable(wuhan_central, snaps):
    graph = wuhan_central.graph
    target = snaps[9]
    units = units_at(snaps[:2])
    run = replay(graph, units, incidents_at([snaps[5], snaps[6]], [0.0, 30.0]),
                 policy=move_to(target))
    move = run.moves[0]
    moved = next(u for u in units if u.unit_id == move["unit_id"])
    assert move["event"] == "dispatch" and move["at_s"] == 0.0
    assert run.incidents[0]["unit_id"] != moved.unit_id
    assert move["drive_s"] == pytest.approx(networkx_seconds(graph, moved.home, target),
                                            abs=1e-6)
    second = run.incidents[1]
    assert second["unit_id"] == moved.unit_id and second["unit_was"] == RELOCATING
    where = drive_path(graph, moved.home, target).position_at(30.0)
    assert second["drive_s"] == pytest.approx(networkx_seconds(graph, where, snaps[6]),
                                              abs=1e-6)


def test_moves_of_busy_units_are_ignored(wuhan_central, snaps):
    def busy_first(view: FleetView) -> list[Move]:
        return [Move(int(u), snaps[9]) for u, s in zip(view.unit_id, view.state)
                if s == "to_scene"]

    run = replay(wuhan_central.graph, units_at(snaps[:2]), incidents_at([snaps[5]], [0.0]),
                 policy=busy_first)
    assert run.moves == [] and run.ignored_moves == 1


def test_figures_agree_with_the_csv(wuhan_central, snaps, tmp_path):
    graph, places = wuhan_central.graph, city_places(wuhan_central)
    incidents = draw_incidents(graph, places, hours=8, rate_per_h=20, seed=2)
    run = replay(graph, units_at(snaps[:6]), incidents, policy=move_to(snaps[11]))
    figures = summarise(run)
    write_outputs(tmp_path, {"on": run}, {"inputs": {"hours": 8, "rate_per_h": 20, "units": 6,
                                                    "seed": 2, "incidents": len(incidents),
                                                    "dropped_off_network": 0},
                                         "runs": {"on": figures}})
    with open(tmp_path / "incidents_on.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    p1 = sorted(float(r["arrived_s"]) - float(r["received_s"]) for r in rows
                if r["priority"] == "1")
    assert figures["priority_1"]["count"] == len(p1) > 5
    for limit in (60, 180, 300):
        share = sum(t <= limit for t in p1) / len(p1)
        assert figures["priority_1"]["within"][str(limit)] == pytest.approx(share)
    assert figures["priority_1"]["late"] == sum(t > 180 for t in p1)
    assert figures["priority_1"]["mean_s"] == pytest.approx(sum(p1) / len(p1))
    rank = 0.9 * (len(p1) - 1)  # the 90th percentile, interpolated between order statistics
    low = int(rank)
    p90 = p1[low] + (rank - low) * (p1[min(low + 1, len(p1) - 1)] - p1[low])
    assert figures["priority_1"]["p90_s"] == pytest.approx(p90)
    with open(tmp_path / "moves_on.csv", newline="") as f:
        assert figures["moves_per_incident"] == pytest.approx(len(list(csv.reader(f))[1:])
                                                              / len(rows))
    assert "move-up on" in (tmp_path / "report.md").read_text()
