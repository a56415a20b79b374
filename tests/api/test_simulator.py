"""The simulated fleet: created at stations, moved along roads, reported through the API."""

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient

from patrol import simulator
from patrol.simulator import Car, FleetMotion, create_fleet


def test_cars_drive_along_roads_at_edge_speeds(wuhan_central):
    graph = wuhan_central.graph
    motion = FleetMotion(graph, seed=1)
    e = int(np.flatnonzero(graph.edge_seconds > 20)[0])
    car = Car(1, e, 0.0)
    motion.advance(car, 5.0)
    assert car.edge == e and car.fraction == np.float64(5.0 / graph.edge_seconds[e])
    for _ in range(50):
        before = car.edge
        motion.advance(car, 30.0)
        lon, lat = motion.position(car)
        assert graph.node_lonlat[:, 0].min() - 0.01 < lon < graph.node_lonlat[:, 0].max() + 0.01
    assert car.edge != before or car.fraction > 0


def test_fleet_is_created_once_and_marked_simulated(city, wuhan_central):
    added = create_fleet(city.engine, wuhan_central.graph, 30)
    again = create_fleet(city.engine, wuhan_central.graph, 30)
    assert added == 30 and again == 0
    with city.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT callsign, simulated, home_station_id FROM units "
                                    "WHERE callsign LIKE 'SIM-%'")).all()
    assert len(rows) == 30 and all(r[1] and r[2] for r in rows)


def test_simulator_reports_positions_through_the_api(client, city, wuhan_central, monkeypatch):
    import httpx

    from patrol import simulator
    create_fleet(city.engine, wuhan_central.graph, 30)
    with city.engine.connect() as conn:
        before = dict(conn.execute(sa.text(
            "SELECT id, ST_AsText(position) FROM units JOIN unit_positions ON unit_id = id "
            "WHERE simulated")).all())
    # Route the simulator's HTTP client into the in-process app.
    monkeypatch.setattr(simulator.httpx, "Client",
                        lambda base_url, headers, timeout: _Wrap(client, headers))
    monkeypatch.setattr(simulator.time, "sleep", lambda s: None)
    simulator.simulate("http://test", city.keys["dispatcher"], wuhan_central.graph,
                       interval_s=20, ticks=2)
    with city.engine.connect() as conn:
        after = dict(conn.execute(sa.text(
            "SELECT id, ST_AsText(position) FROM units JOIN unit_positions ON unit_id = id "
            "WHERE simulated")).all())
    moved = sum(before[i] != after[i] for i in after)
    assert moved >= 0.8 * len(after)
    assert httpx  # the real client class is untouched outside this test


class _Wrap:
    def __init__(self, client: TestClient, headers):
        self.client, self.headers = client, headers

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get(self, path, params=None):
        return self.client.get(path, params=params, headers=self.headers)

    def put(self, path, json=None):
        return self.client.put(path, json=json, headers=self.headers)


def test_a_unit_with_a_patrol_loop_drives_it(city, client, wuhan_central, monkeypatch):
    """The unit given a loop is reported on that loop, where its round has got to."""
    unit_id = city.unit_ids[0]
    path = [[114.2700, 30.5900], [114.2750, 30.5900], [114.2750, 30.5950], [114.2700, 30.5900]]
    monkeypatch.setattr(simulator.httpx, "Client",
                        lambda base_url, headers, timeout: _Wrap(client, headers))
    monkeypatch.setattr(simulator.time, "sleep", lambda s: None)
    simulator.simulate("http://test", city.keys["dispatcher"], wuhan_central.graph,
                       interval_s=25, ticks=2, loops={unit_id: (path, 200.0)})
    with city.engine.connect() as conn:
        lon, lat = conn.execute(sa.text("SELECT ST_X(position), ST_Y(position) "
                                        "FROM unit_positions WHERE unit_id = :u"),
                                {"u": unit_id}).one()
    expected = shapely.line_interpolate_point(shapely.LineString(path), 50 / 200,
                                              normalized=True)
    assert (lon, lat) == pytest.approx((expected.x, expected.y), abs=1e-7)


def test_loop_round_comes_back_to_its_start():
    path = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    car = simulator.LoopRound(path, 100.0)
    line = shapely.LineString(path)
    assert car.advance(50) == pytest.approx(tuple(
        shapely.line_interpolate_point(line, 0.5, normalized=True).coords[0]))
    assert car.advance(50) == pytest.approx((0.0, 0.0))
    assert car.advance(125) == pytest.approx(tuple(
        shapely.line_interpolate_point(line, 0.25, normalized=True).coords[0]))
