"""Patrol plans and must-patrol targets through the API: roles, stored plans, bad input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zones.targets import targets_from_hotspots

BOWTIE = [[114.27, 30.59], [114.272, 30.592], [114.272, 30.59], [114.27, 30.592],
          [114.27, 30.59]]


@pytest.fixture(scope="module")
def zone(city):
    """The zone with the most targets generated from its hotspots."""
    targets_from_hotspots(city.engine)
    with city.engine.connect() as conn:
        return conn.execute(sa.text("SELECT zone_id FROM patrol_targets GROUP BY zone_id "
                                    "ORDER BY count(*) DESC, zone_id LIMIT 1")).scalar_one()


def test_plan_is_computed_stored_and_read_back(client, city, zone):
    missing = client.get(f"/zones/{zone}/plan", headers=city.headers("planner"))
    assert missing.status_code in (200, 404)
    reply = client.post(f"/zones/{zone}/plan", json={"loop_minutes": 15},
                        headers=city.headers("planner"))
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    assert plan["type"] == "FeatureCollection" and plan["zone_id"] == zone
    assert plan["features"] and all(f["properties"]["duration_s"] <= 900
                                    for f in plan["features"])
    targets = client.get(f"/zones/{zone}/targets", headers=city.headers("planner")).json()
    stops = [s["target_id"] for f in plan["features"] for s in f["properties"]["stops"]]
    assert sorted(stops + [t["target_id"] for t in plan["unreachable"]]) == sorted(
        t["id"] for t in targets)
    stored = client.get(f"/zones/{zone}/plan", headers=city.headers("dispatcher"))
    assert stored.status_code == 200 and stored.json() == plan


def test_one_unit_keeps_one_loop_and_lists_the_rest(client, city, zone):
    reply = client.post(f"/zones/{zone}/plan", json={"loop_minutes": 5, "units": 1},
                        headers=city.headers("planner"))
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    assert len(plan["features"]) == 1 and plan["left_out"]
    assert all(t["reason"] == "no_unit" for t in plan["left_out"])


@pytest.mark.parametrize("zone_id, body, status, message", [
    (999999, {"loop_minutes": 15}, 404, "no patrol zone 999999"),
    (None, {"loop_minutes": 0}, 422, "greater than or equal to 1"),
    (None, {"loop_minutes": -15}, 422, "greater than or equal to 1"),
    (None, {"loop_minutes": 15, "units": 0}, 422, "greater than or equal to 1"),
])
def test_bad_plan_requests_are_problems(client, city, zone, zone_id, body, status, message):
    reply = client.post(f"/zones/{zone_id or zone}/plan", json=body,
                        headers=city.headers("planner"))
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert message in reply.text


def test_a_dispatcher_may_not_plan(client, city, zone):
    reply = client.post(f"/zones/{zone}/plan", json={}, headers=city.headers("dispatcher"))
    assert reply.status_code == 403


def test_targets_are_edited_by_admins_only(client, city, zone):
    body = {"name": "gate", "geometry": {"type": "Point", "coordinates": [114.2745, 30.5935]},
            "dwell_s": 90, "weight": 2}
    assert client.post(f"/zones/{zone}/targets", json=body,
                       headers=city.headers("planner")).status_code == 403
    made = client.post(f"/zones/{zone}/targets", json=body, headers=city.headers("admin"))
    assert made.status_code == 201, made.text
    target = made.json()
    assert (target["kind"], target["dwell_s"], target["weight"]) == ("point", 90, 2.0)
    changed = client.patch(f"/targets/{target['id']}", json={"weight": 5},
                           headers=city.headers("admin"))
    assert changed.status_code == 200 and changed.json()["weight"] == 5.0
    assert client.patch(f"/targets/{target['id']}", json={},
                        headers=city.headers("admin")).status_code == 422
    assert client.delete(f"/targets/{target['id']}",
                         headers=city.headers("admin")).status_code == 204
    gone = client.delete(f"/targets/{target['id']}", headers=city.headers("admin"))
    assert gone.status_code == 404 and "no must-patrol target" in gone.text


def test_an_invalid_target_geometry_is_a_422(client, city, zone):
    body = {"name": "bowtie", "geometry": {"type": "Polygon", "coordinates": [BOWTIE]}}
    reply = client.post(f"/zones/{zone}/targets", json=body, headers=city.headers("admin"))
    assert reply.status_code == 422
    assert "has an invalid geometry (Self-intersection" in reply.json()["detail"]
