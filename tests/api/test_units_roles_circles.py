"""Units, API-key roles, and circle and coverage endpoints through HTTP."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from routing.coords import from_wgs84

BEIHU = (114.26897, 30.60743)


def test_roles(client, city):
    body = {"lon": BEIHU[0], "lat": BEIHU[1], "category": "theft", "priority": 5}
    reply = client.post("/incidents", json=body)
    assert reply.status_code == 401 and "missing X-API-Key" in reply.text
    reply = client.post("/incidents", json=body, headers={"X-API-Key": "not-a-key"})
    assert reply.status_code == 401 and "unknown or revoked" in reply.text
    reply = client.post("/incidents", json=body, headers=city.headers("planner"))
    assert reply.status_code == 403 and "needs the dispatcher role" in reply.text
    assert client.get("/incidents", headers=city.headers("planner")).status_code == 200
    reply = client.post("/incidents", json=body, headers=city.headers("admin"))
    assert reply.status_code == 201
    client.post(f"/incidents/{reply.json()['id']}/close", headers=city.headers("admin"))
    reply = client.put(f"/units/{city.unit_ids[0]}/status", json={"status": "off_duty"},
                       headers=city.headers("planner"))
    assert reply.status_code == 403
    with city.engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT key_hash FROM api_keys")).scalars().all()
    assert all(len(h) == 64 and h not in city.keys.values() for h in hashes)


def test_positions_in_gcj02_and_staleness(client, city):
    unit_id = city.unit_ids[1]
    headers = city.headers("dispatcher")
    gx, gy = from_wgs84(BEIHU[0] + 0.001, BEIHU[1], "gcj02")
    now = datetime.now(timezone.utc)
    reply = client.put(f"/units/{unit_id}/position", headers=headers, json={
        "lon": float(gx), "lat": float(gy), "crs": "gcj02", "timestamp": now.isoformat()})
    assert reply.status_code == 200 and reply.json()["stored"]
    assert reply.json()["lon"] == pytest.approx(BEIHU[0] + 0.001, abs=1e-8)
    older = client.put(f"/units/{unit_id}/position", headers=headers, json={
        "lon": 114.0, "lat": 30.5, "timestamp": (now - timedelta(minutes=5)).isoformat()})
    assert older.status_code == 200 and not older.json()["stored"]  # out of order: ignored
    near = client.get("/units", params={"near": f"{BEIHU[0]},{BEIHU[1]}", "radius_m": 300},
                      headers=headers).json()
    assert unit_id in [u["id"] for u in near]
    # A stale fix places the unit at its home station, and the answer says so.
    stale_at = (now - timedelta(minutes=10)).isoformat()
    client.put("/units/positions", headers=headers, json={"fixes": [
        {"unit_id": u, "lon": 114.30, "lat": 30.60, "timestamp": stale_at}
        for u in city.unit_ids]})
    with city.engine.begin() as conn:
        conn.execute(sa.text("UPDATE unit_positions SET position_at = :t"), {"t": stale_at})
    incident = client.post("/incidents", headers=headers, json={
        "lon": BEIHU[0], "lat": BEIHU[1], "category": "theft", "priority": 5}).json()
    assert all(c["at_home_station"] for c in incident["candidates"])
    client.post(f"/incidents/{incident['id']}/close", headers=headers)


def test_bad_single_positions(client, city):
    headers = city.headers("dispatcher")
    now = datetime.now(timezone.utc).isoformat()
    reply = client.put("/units/987654/position", headers=headers,
                       json={"lon": 114.28, "lat": 30.60, "timestamp": now})
    assert reply.status_code == 404 and "no unit 987654" in reply.text
    for fix, message in (({"lon": 114.28, "lat": 95.0, "timestamp": now}, "latitude 95.0"),
                         ({"lon": 114.28, "lat": 30.6, "timestamp": "2026-11-21T08:00:00"},
                          "has no time zone"),
                         ({"lon": 114.28, "lat": 30.6, "timestamp": "2099-01-01T00:00:00Z"},
                          "in the future")):
        reply = client.put(f"/units/{city.unit_ids[2]}/position", headers=headers, json=fix)
        assert reply.status_code == 422 and message in reply.text


def test_a_batch_keeps_each_units_newest_fix_in_any_crs(client, city):
    """Fixes arrive out of order within a batch and in mixed coordinate systems: each unit
    ends at its newest fix, converted to WGS-84."""
    headers = city.headers("dispatcher")
    first, second = city.unit_ids[4:6]
    now = datetime.now(timezone.utc)
    gx, gy = from_wgs84(114.2811, 30.6022, "gcj02")
    fixes = [
        {"unit_id": first, "lon": 114.2701, "lat": 30.6001, "timestamp": now.isoformat()},
        {"unit_id": second, "lon": float(gx), "lat": float(gy), "crs": "gcj02",
         "timestamp": now.isoformat()},
        {"unit_id": first, "lon": 114.2999, "lat": 30.5999,
         "timestamp": (now - timedelta(seconds=30)).isoformat()},
    ]
    reply = client.put("/units/positions", headers=headers, json={"fixes": fixes})
    assert reply.status_code == 200
    assert reply.json() == {"received": 3, "stored": 2, "rejected": []}
    moved = {u: client.get(f"/units/{u}", headers=headers).json() for u in (first, second)}
    assert (moved[first]["lon"], moved[first]["lat"]) == pytest.approx((114.2701, 30.6001))
    assert (moved[second]["lon"], moved[second]["lat"]) == pytest.approx((114.2811, 30.6022),
                                                                          abs=1e-8)


def test_unit_status_rules(client, city):
    headers = city.headers("dispatcher")
    unit_id = city.unit_ids[3]
    reply = client.put(f"/units/{unit_id}/status", json={"status": "on_scene"}, headers=headers)
    assert reply.status_code == 409 and "has no incident" in reply.text
    reply = client.put(f"/units/{unit_id}/status", json={"status": "asleep"}, headers=headers)
    assert reply.status_code == 422 and "unknown status 'asleep'" in reply.text
    assert client.put(f"/units/{unit_id}/status", json={"status": "off_duty"},
                      headers=headers).json()["status"] == "off_duty"
    listed = client.get("/units", params={"status": "off_duty"}, headers=headers).json()
    assert [u["id"] for u in listed] == [unit_id]
    client.put(f"/units/{unit_id}/status", json={"status": "available"}, headers=headers)


def test_circles_endpoints(client, city):
    headers = city.headers("planner")
    gx, gy = from_wgs84(*BEIHU, "gcj02")
    reply = client.get("/circles", params={"lon": float(gx), "lat": float(gy), "crs": "gcj02",
                                           "minutes": "1,3,5", "direction": "arrive"},
                       headers=headers)
    assert reply.status_code == 200
    features = reply.json()["features"]
    assert [f["properties"]["minutes"] for f in features] == [1, 3, 5]
    assert all(f["properties"]["direction"] == "arrive" for f in features)
    with city.engine.connect() as conn:
        station_id = conn.execute(sa.text(
            "SELECT id FROM stations WHERE name LIKE '%北湖街派出所' LIMIT 1")).scalar()
        hotspot_id = conn.execute(sa.text("SELECT min(id) FROM hotspots")).scalar()
    station = client.get(f"/stations/{station_id}/circles", headers=headers).json()
    assert station["station"]["name"].endswith("北湖街派出所") and len(station["features"]) == 3
    unit = client.get(f"/units/{city.unit_ids[0]}/circles", params={"minutes": "3"},
                      headers=headers).json()
    assert len(unit["features"]) == 1 and unit["unit"]["id"] == city.unit_ids[0]
    for bad, message in (({"minutes": "0"}, "must lie in"), ({"direction": "up"}, "depart"),
                         ({"lon": 1.0}, "m from the nearest road")):
        params = {"lon": BEIHU[0], "lat": BEIHU[1], **bad}
        reply = client.get("/circles", params=params, headers=headers)
        assert reply.status_code == 422 and message in reply.text
    assert client.get("/stations/999999/circles", headers=headers).status_code == 404
    coverage = client.get(f"/hotspots/{hotspot_id}/coverage", headers=headers)
    assert coverage.status_code == 200
    rings = coverage.json()["rings"]
    seen = [x for ring in rings.values() for x in ring]
    assert all(x["seconds"] <= 300 for x in seen)
    assert all(x["ring"] == ring for ring, xs in rings.items() for x in xs)


def test_coverage_map_page(client, city):
    reply = client.get("/maps/coverage", headers=city.headers("dispatcher"))
    assert reply.status_code == 403 and "planner" in reply.text
    reply = client.get("/maps/coverage", params={"category": "hospital"},
                       headers=city.headers("planner"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "reached within 5 minutes" in reply.text and "leaflet" in reply.text.lower()
    with city.engine.connect() as conn:
        zone = conn.execute(sa.text("SELECT min(id) FROM patrol_zones")).scalar()
    assert client.get("/maps/coverage", params={"zone": zone},
                      headers=city.headers("planner")).status_code == 200
    reply = client.get("/maps/coverage", params={"zone": 999999}, headers=city.headers("planner"))
    assert reply.status_code == 404 and "no patrol zone 999999" in reply.text
    reply = client.get("/maps/coverage", params={"category": "zoo"},
                       headers=city.headers("planner"))
    assert reply.status_code == 422 and "unknown hotspot category" in reply.text
