"""The incident lifecycle through HTTP against real PostGIS."""

import numpy as np
import pytest
import sqlalchemy as sa

from reference import times_from_entries
from routing.search import Weights
from routing.snapping import snap_point, snap_points

BEIHU = {"lon": 114.26897, "lat": 30.60743}  # 北湖街派出所, WGS-84


def post_incident(client, city, **fields):
    body = {**BEIHU, "category": "theft", "priority": 1, "description": "test", **fields}
    return client.post("/incidents", json=body, headers=city.headers("dispatcher"))


def test_full_lifecycle(client, city):
    reply = post_incident(client, city)
    assert reply.status_code == 201, reply.text
    incident = reply.json()
    assert incident["status"] == "dispatched" and incident["grid_code"] and incident["zone_id"]
    assert incident["station_name"].endswith("派出所")
    etas = [c["eta_seconds"] for c in incident["candidates"]]
    assert etas == sorted(etas) and len(etas) == 5
    assert incident["unit_id"] == incident["candidates"][0]["unit_id"]
    assert incident["decision"]["mode"] == "auto"
    route = incident["route"]
    assert route["geometry"]["type"] == "LineString"
    assert np.allclose(route["geometry"]["coordinates"][-1],
                       [incident["road_lon"], incident["road_lat"]], atol=1e-6)
    unit_id, incident_id = incident["unit_id"], incident["id"]
    assert client.get(f"/units/{unit_id}", headers=city.headers("dispatcher")).json()[
        "status"] == "dispatched"
    for step, status in (("arrive", "arrived"), ("close", "closed")):
        reply = client.post(f"/incidents/{incident_id}/{step}", headers=city.headers("dispatcher"))
        assert reply.status_code == 200 and reply.json()["status"] == status
    stored = client.get(f"/incidents/{incident_id}", headers=city.headers("planner")).json()
    assert reply.json() == {name: stored[name] for name in reply.json()}  # the close's answer
    assert stored["received_at"] <= stored["dispatched_at"] <= stored["arrived_at"] \
        <= stored["closed_at"]
    assert stored["warning"] is None
    audit = stored["decisions"][0]
    assert audit["mode"] == "auto" and audit["chosen_unit_id"] == unit_id
    assert audit["requested_by"].startswith("key") and len(audit["candidates"]) >= 5
    assert client.get(f"/units/{unit_id}", headers=city.headers("dispatcher")).json()[
        "status"] == "available"


def test_low_priority_gets_a_recommendation_only(client, city):
    incident = post_incident(client, city, priority=4).json()
    assert incident["status"] == "open" and incident["unit_id"] is None
    assert incident["decision"]["mode"] == "recommendation"
    assert incident["decision"]["unit_id"] == incident["candidates"][0]["unit_id"]
    assert incident["warning"] is None and incident["deadline_seconds"] == 900
    client.post(f"/incidents/{incident['id']}/close", headers=city.headers("dispatcher"))


def test_override_assign_and_illegal_transitions(client, city):
    incident = post_incident(client, city, priority=4).json()
    other = post_incident(client, city, priority=1).json()
    busy_unit = other["unit_id"]
    free_unit = incident["candidates"][0]["unit_id"]
    if free_unit == busy_unit:
        free_unit = incident["candidates"][1]["unit_id"]
    path = f"/incidents/{incident['id']}"
    headers = city.headers("dispatcher")
    reply = client.post(f"{path}/assign", json={"unit_id": busy_unit}, headers=headers)
    assert reply.status_code == 409 and f"to incident {other['id']}" in reply.json()["detail"]
    reply = client.post(f"{path}/arrive", headers=headers)
    assert reply.status_code == 409 and "only a dispatched incident" in reply.json()["detail"]
    reply = client.post(f"{path}/assign", json={"unit_id": free_unit}, headers=headers)
    assert reply.status_code == 200 and reply.json()["unit_id"] == free_unit
    assert reply.json()["eta_seconds"] > 0
    decisions = client.get(path, headers=headers).json()["decisions"]
    assert [d["mode"] for d in decisions] == ["recommendation", "override"]
    assert client.post(f"{path}/close", headers=headers).status_code == 200
    reply = client.post(f"{path}/close", headers=headers)
    assert reply.status_code == 409 and "already closed" in reply.json()["detail"]
    reply = client.post(f"{path}/assign", json={"unit_id": free_unit}, headers=headers)
    assert reply.status_code == 409
    client.post(f"/incidents/{other['id']}/close", headers=headers)


def test_ranking_equals_networkx(client, city, wuhan_central):
    """Candidate ETAs equal networkx Dijkstra from each unit's snapped position."""
    graph = wuhan_central.graph
    weights = Weights.free_flow(graph)
    rng = np.random.default_rng(5)
    with city.engine.connect() as conn:
        units = {r[0]: (r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT id, lon, lat FROM units JOIN unit_positions ON unit_id = id "
            "WHERE status = 'available'"))}
    done = 0
    while done < 6:
        lon, lat = rng.uniform(114.25, 114.30), rng.uniform(30.58, 30.62)
        reply = post_incident(client, city, lon=lon, lat=lat, priority=5)
        if reply.status_code != 201:
            continue
        incident = reply.json()
        target = snap_point(graph, lon, lat)
        to_target = times_from_entries(wuhan_central, target.arrivals(graph, weights.forward),
                                       reverse=True)
        expected = {}
        for unit_id, (ulon, ulat) in units.items():
            (start,), _ = snap_points(graph, ulon, ulat)
            expected[unit_id] = min(s + to_target.get(int(graph.node_osmid[n]), np.inf)
                                    for n, s, _ in start.departures(graph, weights.forward))
        best = sorted(expected.values())[:5]
        got = [c["eta_seconds"] for c in incident["candidates"]]
        assert np.allclose(got, np.round(best, 1), atol=0.051)
        for c in incident["candidates"]:
            assert abs(expected[c["unit_id"]] - c["eta_seconds"]) < 0.051
        client.post(f"/incidents/{incident['id']}/close", headers=city.headers("dispatcher"))
        done += 1


@pytest.mark.parametrize("body, status, message", [
    ({"lon": 214.0}, 422, "longitude 214.0 is out of range"),
    ({"lat": "north"}, 422, "valid number"),
    ({"crs": "mars"}, 422, "unknown coordinate system 'mars'"),
    ({"lon": 114.40, "lat": 30.70}, 422, "m from the nearest road"),
    ({"priority": 9}, 422, "less than or equal to 5"),
    ({"category": ""}, 422, "at least 1 character"),
    ({"unit_kind": "tank"}, 422, "unknown unit kind 'tank'"),
])
def test_bad_incident_input(client, city, body, status, message):
    reply = post_incident(client, city, **body)
    assert reply.status_code == status and message in reply.text


def test_unknown_ids_and_oversized_body(client, city):
    headers = city.headers("dispatcher")
    assert client.get("/incidents/999999", headers=headers).status_code == 404
    assert "no incident 999999" in client.post("/incidents/999999/close", headers=headers).text
    reply = client.put("/units/999999/status", json={"status": "off_duty"}, headers=headers)
    assert reply.status_code == 404 and "no unit 999999" in reply.text
    reply = client.post("/incidents", content=b"x" * 2_000_000,
                        headers={**headers, "Content-Type": "application/json"})
    assert reply.status_code == 413 and "over the limit" in reply.text
    chunked = client.post("/incidents", content=(b"x" * 100_000 for _ in range(20)),
                          headers={**headers, "Content-Type": "application/json"})
    assert chunked.status_code == 413 and "over the limit" in chunked.text


def test_gcj02_incident_lands_where_its_wgs84_twin_does(client, city):
    from routing.coords import from_wgs84
    gx, gy = from_wgs84(BEIHU["lon"], BEIHU["lat"], "gcj02")
    a = post_incident(client, city, priority=5).json()
    b = post_incident(client, city, priority=5, lon=float(gx), lat=float(gy), crs="gcj02").json()
    assert abs(a["lon"] - b["lon"]) < 1e-8 and abs(a["lat"] - b["lat"]) < 1e-8
    assert a["grid_id"] == b["grid_id"] and a["input_crs"] == "wgs84" and b["input_crs"] == "gcj02"
    for incident in (a, b):
        client.post(f"/incidents/{incident['id']}/close", headers=city.headers("dispatcher"))
