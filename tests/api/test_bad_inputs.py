"""Inputs that once answered 500 or reset the connection: each is a 422 problem with a sentence
naming the input, and the document describes every error answer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests_api_support import add_hotspot

BEIHU = {"lon": 114.26897, "lat": 30.60743}
ALARM = {**BEIHU, "category": "theft", "priority": 5}


@pytest.mark.parametrize("raw, message", [
    ('{"lon": NaN, "lat": 30, "category": "theft", "priority": 5}', "finite number"),
    ('{"lon": 114.27, "lat": Infinity, "category": "theft", "priority": 5}', "finite number"),
    ('{"lon": 114.27, "lat": 30.6, "category": "th\\u0000eft", "priority": 5}', "NUL"),
    ('{"lon": 114.27, "lat": 30.6, "category": "theft", "description": "a\\u0000", '
     '"priority": 5}', "NUL"),
    ('{"lon": 114.27, "lat": 30.6, "category": "\\ud800", "priority": 5}', "unicode"),
    ('{"lon": "114.27", "lat": 30.6, "category": "theft", "priority": 5}', "valid number"),
    ('{"lon": 114.27, "lat": true, "category": "theft", "priority": 5}', "valid number"),
])
def test_bad_alarm_bodies_are_422_problems(client, city, raw, message):
    reply = client.post("/incidents", content=raw.encode(), headers={
        **city.headers("dispatcher"), "Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["status"] == 422 and message in problem["detail"]
    assert problem["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("raw, status, message", [
    (b'{"fixes": [', 422, "the body is not JSON: Expecting value at character 11"),
    (b'{"fixes": [{"lon": 114.27\xff}]}', 400, "not readable JSON: 'utf-8' codec can't decode"),
    (b'{"fixes": [{"lon": ' + b"1" * 5000 + b'}]}', 400, "not readable JSON: Exceeds the limit"),
    (b"[" * 200_000, 400, "not readable JSON: maximum recursion depth"),
])
def test_a_body_that_is_not_json_says_why(client, city, raw, status, message):
    reply = client.post(f"/units/{city.unit_ids[0]}/track", content=raw, headers={
        **city.headers("dispatcher"), "Content-Type": "application/json"})
    assert reply.status_code == status and message in reply.json()["detail"], reply.text


def test_a_plus_sent_as_a_space_in_a_query_time_is_named(client, city):
    reply = client.get(f"/units/{city.unit_ids[0]}/track?from=2026-11-21T08:00:00+08:00"
                       f"&to=2026-11-21T09:00:00%2B08:00", headers=city.headers("planner"))
    assert reply.status_code == 422 and "write it %2B" in reply.json()["detail"], reply.text


def test_an_epsg_alias_is_stored_by_its_name(client, city):
    reply = client.post("/incidents", json={**ALARM, "crs": "EPSG:4326"},
                        headers=city.headers("dispatcher"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["input_crs"] == "wgs84"
    client.post(f"/incidents/{reply.json()['id']}/close", headers=city.headers("dispatcher"))


@pytest.mark.parametrize("path, params", [
    ("/incidents", {"zone_id": 3_000_000_000}),
    ("/incidents/3000000000", {}),
    ("/units/2147483648", {}),
    ("/units/-1/circles", {}),
    ("/stations/2147483648/circles", {}),
    ("/incidents", {"since": "0.5"}),
    ("/incidents", {"until": "2026-11-21T08:00:00"}),
    ("/circles", {**BEIHU, "minutes": "nan"}),
    ("/circles", {**BEIHU, "minutes": "1e0"}),
    ("/circles", {**BEIHU, "minutes": ",".join(str(m) for m in range(1, 14))}),
    ("/circles", {"lon": "nan", "lat": 30.6}),
    ("/units", {"near": "114.27,95"}),
])
def test_bad_query_and_path_values_are_422(client, city, path, params):
    reply = client.get(path, params=params, headers=city.headers("planner"))
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"]


def test_ids_beyond_int32_in_bodies_are_422(client, city):
    headers = city.headers("dispatcher")
    reply = client.post("/incidents/1/assign", json={"unit_id": 2**31}, headers=headers)
    assert reply.status_code == 422 and "unit_id" in reply.json()["detail"]
    reply = client.put("/units/positions", headers=headers, json={"fixes": [
        {"unit_id": 2**40, **BEIHU, "timestamp": "2026-11-21T08:00:00+08:00"}]})
    assert reply.status_code == 422, reply.text


def test_a_405_names_every_method_of_the_path(client, city):
    reply = client.delete("/incidents", headers=city.headers("admin"))
    assert reply.status_code == 405
    assert set(reply.headers["allow"].split(", ")) == {"GET", "POST"}
    reply = client.get("/units/positions", headers=city.headers("admin"))
    assert reply.status_code == 405 and reply.headers["allow"] == "PUT"


def test_every_error_answer_is_documented_as_a_problem(client):
    document = client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(answer["content"]) == ["application/problem+json"], (path, status)
            assert "503" in operation["responses"], (method, path)
    with_body = document["paths"]["/incidents"]["post"]["responses"]
    assert {"400", "401", "403", "413", "422", "503"} <= set(with_body)


def test_a_hotspot_far_from_every_road_is_a_422(client, city):
    hotspot_id = add_hotspot(city.engine, "test-far", 10.0, 10.0)
    try:
        reply = client.get(f"/hotspots/{hotspot_id}/coverage", headers=city.headers("planner"))
        assert reply.status_code == 422 and "from the nearest road" in reply.json()["detail"]
    finally:
        with city.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM hotspots WHERE id = :id"), {"id": hotspot_id})
