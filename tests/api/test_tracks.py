"""GPS tracks through the API: crafted bad tracks cleaned and reported fix by fix (GCJ-02
input included), a unit key posting its own track only, a batch with a bad unit storing the
others, and the replay returning exactly what was stored with the matched path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from matching_support import route_share, synthetic_track
from routing.coords import from_wgs84, to_wgs84
from zones.api_keys import create_api_key
from zones.track_store import fixes_between

BASE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)


def stamp(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def fixes(points, times) -> list[dict]:
    return [{"lon": lon, "lat": lat, "timestamp": stamp(t)} for (lon, lat), t in zip(points, times)]


def statuses(reply) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [f["status"] for f in reply.json()["fixes"]]


def stored(city, unit_id: int) -> list[dict]:
    with city.engine.connect() as conn:
        return fixes_between(conn, unit_id, BASE - timedelta(days=1), BASE + timedelta(days=1))


def test_bad_fixes_are_cleaned_and_reported_one_by_one_in_gcj02(client, city):
    unit = city.unit_ids[0]
    with city.engine.begin() as conn:  # no position yet: the track's newest good fix is it
        conn.execute(sa.text("DELETE FROM unit_positions WHERE unit_id = :u"), {"u": unit})
    wgs = [(114.2700, 30.6000), (114.2704, 30.6001), (114.2708, 30.6002), (114.3200, 30.6500),
           (114.2712, 30.6003)]
    gcj = [tuple(float(v) for v in from_wgs84(lon, lat, "gcj02")) for lon, lat in wgs]
    sent = fixes([gcj[0], gcj[1], gcj[1], gcj[0], gcj[3], gcj[2], gcj[4]],
                 [0, 5, 5, 3, 10, 15, 20])
    sent.append({**sent[-1], "timestamp": (datetime.now(timezone.utc) + timedelta(hours=1))
                 .isoformat()})
    reply = client.post(f"/units/{unit}/track", json={"crs": "gcj02", "fixes": sent},
                        headers=city.headers("dispatcher"))
    assert statuses(reply) == ["ok", "ok", "duplicate", "backwards", "jump", "ok", "ok",
                               "refused"]
    body = reply.json()
    assert body["stored"] == 5 and body["counts"] == {
        "ok": 4, "jump": 1, "duplicate": 1, "backwards": 1, "refused": 1}
    jump = body["fixes"][4]
    assert jump["speed_kph"] > 150 and "left out of matching" in jump["reason"]
    assert "in the future" in body["fixes"][7]["reason"]
    rows = stored(city, unit)
    expected = [to_wgs84(*gcj[i], "gcj02") for i in (0, 1, 3, 2, 4)]
    assert [(r["lon"], r["lat"]) for r in rows] == [(float(x), float(y)) for x, y in expected]
    assert [r["jump"] for r in rows] == [False, False, True, False, False]
    assert [r["at"] for r in rows] == [BASE + timedelta(seconds=s) for s in (0, 5, 10, 15, 20)]
    for (lon, lat), row in zip([wgs[i] for i in (0, 1, 3, 2, 4)], rows):
        assert abs(lon - row["lon"]) < 2e-5 and abs(lat - row["lat"]) < 2e-5  # within 2 m
    position = client.get(f"/units/{unit}", headers=city.headers("dispatcher")).json()
    assert datetime.fromisoformat(position["position_at"]) == BASE + timedelta(seconds=20)
    assert (position["lon"], position["lat"]) == (rows[-1]["lon"], rows[-1]["lat"])

    # judged against what is stored: a repeat, a time before the newest, a jump from the last
    # good fix (114.2712, 30.6003), and a good fix after it
    again = fixes([gcj[4], gcj[1], gcj[3], gcj[4]], [20, 12, 25, 30])
    reply = client.post(f"/units/{unit}/track", json={"crs": "gcj02", "fixes": again},
                        headers=city.headers("dispatcher"))
    assert statuses(reply) == ["duplicate", "backwards", "jump", "ok"]
    assert "newest stored fix" in reply.json()["fixes"][1]["reason"]
    assert len(stored(city, unit)) == 7


def test_a_unit_key_posts_its_own_track_only(client, city):
    own, other = city.unit_ids[1:3]
    with city.engine.begin() as conn:
        headers = {"X-API-Key": create_api_key(conn, "unit", name="terminal", unit_id=own)}
    track = {"fixes": fixes([(114.27, 30.60)], [0])}
    assert statuses(client.post(f"/units/{own}/track", json=track, headers=headers)) == ["ok"]
    for path, body in [(f"/units/{other}/track", track),
                       ("/units/tracks", {"tracks": [{**track, "unit_id": own},
                                                     {**track, "unit_id": other}]})]:
        reply = client.post(path, json=body, headers=headers)
        assert reply.status_code == 403, reply.text
        assert f"reports for unit {own} only, not for unit {other}" in reply.json()["detail"]
    assert stored(city, other) == []
    assert client.get(f"/units/{own}/track", params={"from": stamp(-1), "to": stamp(1)},
                      headers=headers).status_code == 403  # replay is for dispatch and planning


def test_a_batch_with_a_bad_unit_stores_the_others(client, city):
    first, second = city.unit_ids[3:5]
    track = {"crs": "bd09", "fixes": fixes([(114.28, 30.61), (114.2805, 30.61)], [0, 5])}
    body = {"tracks": [{**track, "unit_id": first}, {**track, "unit_id": 999999},
                       {**track, "unit_id": second}, {**track, "unit_id": first}]}
    reply = client.post("/units/tracks", json=body, headers=city.headers("dispatcher"))
    assert reply.status_code == 200, reply.text
    reports = reply.json()["tracks"]
    assert [r["unit_id"] for r in reports] == [first, 999999, second, first]
    assert [r["stored"] for r in reports] == [2, 0, 2, 0]
    assert reports[1]["refused"] == "no unit 999999"
    assert {f["status"] for f in reports[1]["fixes"]} == {"refused"}
    assert "has a track earlier in this batch" in reports[3]["refused"]
    assert len(stored(city, first)) == len(stored(city, second)) == 2
    # a coordinate out of range is against the document: the whole batch is refused
    third = city.unit_ids[5]
    body = {"tracks": [{**track, "unit_id": third},
                       {"unit_id": city.unit_ids[8], "fixes": fixes([(114.28, 95.0)], [0])}]}
    reply = client.post("/units/tracks", json=body, headers=city.headers("dispatcher"))
    assert reply.status_code == 422 and "latitude 95.0 is out of range" in reply.text
    assert stored(city, third) == []


def test_a_position_batch_is_part_of_the_track(client, city):
    unit = city.unit_ids[6]
    batch = [{"unit_id": unit, "lon": 114.27 + i * 1e-4, "lat": 30.60, "timestamp": stamp(i * 5)}
             for i in range(3)]
    assert client.put("/units/positions", json={"fixes": batch},
                      headers=city.headers("dispatcher")).status_code == 200
    assert [(r["lon"], r["at"]) for r in stored(city, unit)] == [
        (114.27 + i * 1e-4, BASE + timedelta(seconds=i * 5)) for i in range(3)]


@pytest.fixture(scope="module")
def driven(client, city, wuhan_central):
    """A unit's drive along the fastest route between two nodes, every 5 s with 5 m of noise
    and a microsecond in every time, posted as its track."""
    unit = city.unit_ids[7]
    track = synthetic_track(wuhan_central.graph, np.random.default_rng(7), sigma_m=5.0,
                            interval_s=5.0)
    times = track.t + np.arange(len(track.t)) * 1e-6 + 0.123456
    sent = fixes(zip(track.lon.tolist(), track.lat.tolist()), times.tolist())
    reply = client.post(f"/units/{unit}/track", json={"fixes": sent},
                        headers=city.headers("dispatcher"))
    assert set(statuses(reply)) == {"ok"}
    return unit, track, sent


def test_the_replay_returns_exactly_what_was_stored_and_the_matched_path(
        client, city, wuhan_central, driven):
    unit, track, sent = driven
    reply = client.get(f"/units/{unit}/track", params={"from": sent[0]["timestamp"],
                                                       "to": stamp(track.t[-1] + 1)},
                       headers=city.headers("planner"))
    assert reply.status_code == 200, reply.text
    collection = reply.json()
    points = [f for f in collection["features"] if f["properties"]["kind"] == "fix"]
    assert [(p["properties"]["lon"], p["properties"]["lat"]) for p in points] == [
        (f["lon"], f["lat"]) for f in sent]
    assert [p["geometry"]["coordinates"] for p in points] == [[f["lon"], f["lat"]] for f in sent]
    assert [datetime.fromisoformat(p["properties"]["time"]) for p in points] == [
        datetime.fromisoformat(f["timestamp"]) for f in sent]
    paths = [f for f in collection["features"] if f["properties"]["kind"] == "path"]
    assert paths and all(len(p["properties"]["times"]) == len(p["geometry"]["coordinates"])
                         for p in paths)
    vertex_times = [datetime.fromisoformat(t) for p in paths for t in p["properties"]["times"]]
    assert vertex_times == sorted(vertex_times)
    assert vertex_times[0] >= BASE and vertex_times[-1] <= datetime.fromisoformat(
        sent[-1]["timestamp"]) + timedelta(milliseconds=1)
    lines = [np.array(p["geometry"]["coordinates"]) for p in paths]
    recall, precision = route_share(wuhan_central.graph, track.truth, lines)
    assert recall > 0.9 and precision > 0.9


def test_the_replay_range_includes_its_start_and_leaves_out_its_end(client, city, driven):
    unit, _, sent = driven
    reply = client.get(f"/units/{unit}/track", headers=city.headers("dispatcher"),
                       params={"from": sent[10]["timestamp"], "to": sent[20]["timestamp"]})
    times = [f["properties"]["time"] for f in reply.json()["features"]
             if f["properties"]["kind"] == "fix"]
    assert [datetime.fromisoformat(t) for t in times] == [
        datetime.fromisoformat(f["timestamp"]) for f in sent[10:20]]


@pytest.mark.parametrize("params, status, words", [
    ({"from": stamp(10), "to": stamp(0)}, 422, "must end after it starts"),
    ({"from": stamp(0), "to": stamp(0)}, 422, "must end after it starts"),
    ({"from": stamp(0), "to": stamp(25 * 3600)}, 422, "at most 24 hours; got 25.0 hours"),
    ({"from": "2001-01-01T00:00:00Z", "to": stamp(0)}, 422, "days"),
    ({"from": "2026-03-01T08:00:00", "to": stamp(0)}, 422, "no time zone"),
    ({"from": "0001-01-01T00:00:00+05:00", "to": stamp(0)}, 422, "years 1 to 9999"),
    ({"from": "2016-12-31T23:59:60Z", "to": stamp(0)}, 422, "is a leap second (second 60)"),
    ({"to": stamp(0)}, 422, "from"),
])
def test_a_bad_range_is_refused_with_a_sentence(client, city, params, status, words):
    reply = client.get(f"/units/{city.unit_ids[0]}/track", params=params,
                       headers=city.headers("dispatcher"))
    assert reply.status_code == status and words in reply.text, reply.text


def test_an_unknown_unit_has_no_track(client, city):
    params = {"from": stamp(0), "to": stamp(60)}
    reply = client.get("/units/999999/track", params=params, headers=city.headers("dispatcher"))
    assert reply.status_code == 404 and "no unit 999999" in reply.json()["detail"]
    reply = client.post("/units/999999/track", json={"fixes": fixes([(114.27, 30.6)], [0])},
                        headers=city.headers("dispatcher"))
    assert reply.status_code == 404 and "no unit 999999" in reply.json()["detail"]


def test_a_bd09_fix_at_the_antimeridian_is_stored_in_range(client, city):
    """Baidu's offset takes BD-09 (-180, 0) to 0.0065 degrees west of -180 in WGS-84: the
    same place as 179.9935, which is what is stored (a track and a position batch alike)."""
    unit = city.unit_ids[9]
    track = {"crs": "bd09", "fixes": fixes([(-180.0, 0.0)], [0])}
    reply = client.post(f"/units/{unit}/track", json=track, headers=city.headers("dispatcher"))
    assert statuses(reply) == ["ok"]
    batch = [{"unit_id": unit, "lon": -180.0, "lat": 0.0, "crs": "bd09", "timestamp": stamp(3600)}]
    reply = client.put("/units/positions", json={"fixes": batch},
                       headers=city.headers("dispatcher"))
    assert reply.status_code == 200 and reply.json()["rejected"] == [], reply.text
    rows = stored(city, unit)
    assert len(rows) == 2 and all(179.99 < r["lon"] <= 180 and abs(r["lat"]) < 0.01
                                  for r in rows)


def test_a_track_of_year_1_is_replayed_to_the_millisecond(client, city):
    unit = city.unit_ids[10]
    times = ["0001-01-01T08:00:00.5Z", "0001-01-01T08:00:05.25Z", "0001-01-01T08:00:10.75Z"]
    sent = [{"lon": lon, "lat": lat, "timestamp": t} for (lon, lat), t in zip(
        [(114.2700, 30.6000), (114.2704, 30.6001), (114.2708, 30.6002)], times)]
    reply = client.post(f"/units/{unit}/track", json={"fixes": sent},
                        headers=city.headers("dispatcher"))
    assert statuses(reply) == ["ok"] * 3
    reply = client.get(f"/units/{unit}/track", headers=city.headers("dispatcher"), params={
        "from": "0001-01-01T08:00:00Z", "to": "0001-01-01T09:00:00Z"})
    assert reply.status_code == 200, reply.text
    paths = [f for f in reply.json()["features"] if f["properties"]["kind"] == "path"]
    assert paths and paths[0]["properties"]["times"][0] == "0001-01-01T08:00:00.500Z"
