"""The live 1/3/5-minute circles of the units that may answer an alarm (the console's overlay),
checked against networkx drive times from every such unit and shapely, on central Wuhan; kept
while the fleet stands still, worked out again when a unit leaves."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import shapely
from shapely.ops import substring

import patrol.live_rings
from reference import times_from_entries
from routing import snap_many
from routing.search import Weights
from tests_api_support import available_lonlat, fresh_fixes

#: How far outside the reachable roads a ring may reach (metres): its 50 m buffer, the outline's
#: raster (two 25 m cells) and its 15 m simplification.
OUTLINE_SLACK_M = 50.0 + 2 * 25.0 + 15.0


@pytest.fixture(autouse=True)
def drawn_afresh(client):
    """Each test starts with no rings kept (the app is shared by the module's tests)."""
    client.app.state.live_rings._kept = None


def rings_now(client, city) -> dict:
    answer = client.get("/coverage/live/rings", headers=city.headers("dispatcher"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def nx_reached(network, lonlat: list[tuple[float, float]], limit_s: float
               ) -> tuple[np.ndarray, shapely.Geometry]:
    """By networkx from the nearest of the units at ``lonlat``: each node's drive seconds
    (inf beyond ``limit_s``) and the road reached within ``limit_s`` (metric lines)."""
    graph = network.graph
    w = Weights.free_flow(graph).forward
    snaps = snap_many(graph, [p[0] for p in lonlat], [p[1] for p in lonlat], limit_m=500.0)
    entries, own = [], []
    for i in range(len(snaps)):
        for edge, fraction in snaps.snap(i).entries:
            entries.append((int(graph.edge_head[edge]), (1 - fraction) * w[edge], 0.0))
            own.append(substring(graph.edge_lines[edge], fraction,
                                 min(1.0, fraction + limit_s / w[edge]), normalized=True))
            twin = int(graph.edge_twin[edge])
            if twin >= 0:
                entries.append((int(graph.edge_head[twin]), fraction * w[twin], 0.0))
                own.append(substring(graph.edge_lines[twin], 1 - fraction,
                                     min(1.0, 1 - fraction + limit_s / w[twin]),
                                     normalized=True))
    by_osmid = times_from_entries(network, entries, reverse=False, cutoff=limit_s)
    seconds = np.array([by_osmid.get(int(osmid), np.inf) for osmid in graph.node_osmid])
    at_tail = seconds[graph.edge_tail]
    pieces = [substring(graph.edge_lines[e], 0.0, min(1.0, (limit_s - at_tail[e]) / w[e]),
                        normalized=True) for e in np.flatnonzero(at_tail <= limit_s)]
    return seconds, shapely.union_all(pieces + own)


def test_the_rings_are_the_units_drive_times(client, city, wuhan_central):
    """Every node networkx reaches within a ring's time lies inside it; every node inside it
    lies within the ring's buffer of a road networkx reaches in time."""
    fresh_fixes(client, city)
    units = available_lonlat(client, city)
    answer = rings_now(client, city)
    assert answer["unit_ids"] == sorted(units)
    assert [f["properties"]["seconds"] for f in answer["features"]] == [60, 180, 300]
    graph = wuhan_central.graph
    lon, lat = graph.node_lonlat[:, 0], graph.node_lonlat[:, 1]
    for feature in answer["features"][:2]:
        limit = feature["properties"]["seconds"]
        ring = shapely.geometry.shape(feature["geometry"])
        assert ring.is_valid
        seconds, reached = nx_reached(wuhan_central, list(units.values()), limit)
        inside = shapely.contains_xy(ring, lon, lat)
        assert inside[seconds <= limit - 1].all()  # 1 s: a node right at the limit
        assert (seconds <= limit - 1).sum() >= len(units)
        outside_time = np.flatnonzero(inside & (seconds > limit))
        gaps = shapely.distance(reached, shapely.points(graph.node_xy[outside_time]))
        assert gaps.max(initial=0.0) <= OUTLINE_SLACK_M


def test_kept_while_the_fleet_stands_and_redrawn_when_a_unit_leaves(client, city, monkeypatch):
    monkeypatch.setattr(patrol.live_rings, "CHANGED_EVERY_S", 0.0)
    fresh_fixes(client, city)
    first = rings_now(client, city)
    live_rings = client.app.state.live_rings
    computed = live_rings.computed
    assert rings_now(client, city) == first and live_rings.computed == computed
    tag = client.get("/coverage/live/rings", headers=city.headers("dispatcher")).headers["ETag"]
    unchanged = client.get("/coverage/live/rings",
                           headers={**city.headers("dispatcher"), "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    leaving = first["unit_ids"][0]
    headers = city.headers("dispatcher")
    assert client.put(f"/units/{leaving}/status", json={"status": "off_duty"},
                      headers=headers).status_code == 200
    try:
        after = rings_now(client, city)
        assert live_rings.computed == computed + 1
        assert after["unit_ids"] == first["unit_ids"][1:]
        assert client.get("/coverage/live/rings", headers={
            **city.headers("dispatcher"), "If-None-Match": tag}).status_code == 200
        areas = [[f["properties"]["area_m2"] for f in a["features"]] for a in (first, after)]
        assert areas[1][0] < areas[0][0]  # its own 1-minute circle is gone
        assert all(b <= a + 1.0 for a, b in zip(*areas))
    finally:
        client.put(f"/units/{leaving}/status", json={"status": "available"}, headers=headers)


def test_units_that_only_moved_are_drawn_again_after_a_while(client, city, monkeypatch):
    fresh_fixes(client, city)
    first = rings_now(client, city)
    live_rings = client.app.state.live_rings
    computed = live_rings.computed
    mover = first["unit_ids"][-1]
    lon, lat = available_lonlat(client, city)[mover]
    moved = {"lon": lon + 0.01, "lat": lat, "timestamp": datetime.now(timezone.utc).isoformat()}
    assert client.put(f"/units/{mover}/position", json=moved,
                      headers=city.headers("dispatcher")).status_code == 200
    assert rings_now(client, city) == first and live_rings.computed == computed  # kept
    monkeypatch.setattr(patrol.live_rings, "MOVED_EVERY_S", 0.0)
    after = rings_now(client, city)
    assert live_rings.computed == computed + 1 and after["unit_ids"] == first["unit_ids"]
    assert after["fleet_state"] != first["fleet_state"]


def test_a_changed_unit_set_is_held_back_until_the_rings_are_old_enough(client, city,
                                                                       monkeypatch):
    """A city changes some unit's status every second and a drawing costs seconds: a unit
    leaving is drawn once the kept rings are CHANGED_EVERY_S old, not at once."""
    monkeypatch.setattr(patrol.live_rings, "CHANGED_EVERY_S", 3600.0)
    fresh_fixes(client, city)
    live_rings = client.app.state.live_rings
    first = rings_now(client, city)
    computed = live_rings.computed
    leaving = first["unit_ids"][0]
    headers = city.headers("dispatcher")
    assert client.put(f"/units/{leaving}/status", json={"status": "off_duty"},
                      headers=headers).status_code == 200
    try:
        assert rings_now(client, city) == first and live_rings.computed == computed  # held
        monkeypatch.setattr(patrol.live_rings, "CHANGED_EVERY_S", 0.0)
        after = rings_now(client, city)
        assert live_rings.computed == computed + 1
        assert after["unit_ids"] == first["unit_ids"][1:]
    finally:
        client.put(f"/units/{leaving}/status", json={"status": "available"}, headers=headers)


def test_the_rings_need_a_reader_key(client, city):
    assert client.get("/coverage/live/rings").status_code == 401
    assert rings_now(client, city)["type"] == "FeatureCollection"
    assert client.get("/coverage/live/rings",
                      headers=city.headers("planner")).status_code == 200


@pytest.fixture(autouse=True)
def _every_unit_available(client, city):
    """Each test starts with the whole fleet available."""
    headers = city.headers("dispatcher")
    for unit in client.get("/units", headers=headers).json():
        if unit["status"] != "available":
            client.put(f"/units/{unit['id']}/status", json={"status": "available"},
                       headers=headers)
