"""Compliance end to end on central Wuhan: a zone's plan is driven by the simulated fleet (each
car its loop, stopping its dwell at every target) for an hour, one car skips one target in one
window, the fixes are stored as the cars' tracks; then exactly that target and window is
unvisited and every other target is visited in every window."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from patrol.compliance import SLACK_S
from patrol.compliance_run import run_compliance
from patrol.loop_drive import LoopDrive, Skip
from patrol.planning import plan_zone
from zones.compliance_inputs import loop_timetables
from zones.targets import targets_from_hotspots

START = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 08:00 in Wuhan
HOUR = 3600.0
EVERY_S = 5.0
NOISE_M = 5.0


@pytest.fixture(scope="module")
def patrolled(city, wuhan_central):
    """The zone with the most targets, planned with 15-minute loops; its cars' drives start
    10 minutes before START, and the car of loop 1 skips its second stop in the second window."""
    targets_from_hotspots(city.engine)
    with city.engine.connect() as conn:
        zone = conn.execute(sa.text("SELECT zone_id FROM patrol_targets GROUP BY zone_id "
                                    "ORDER BY count(*) DESC, zone_id LIMIT 1")).scalar_one()
    plan = plan_zone(city.engine, wuhan_central.graph, zone, loop_seconds=900, time_s=2.0)
    with city.engine.connect() as conn:
        loops = loop_timetables(conn, zone_id=zone)
    assert loops, "the zone's loops were given to units"
    t0 = START.timestamp()
    first_unit = min(loops, key=lambda u: (loops[u]["stops"] == [], u))
    skipped = loops[first_unit]["stops"][min(1, len(loops[first_unit]["stops"]) - 1)]
    skip_window = (t0 + 900, t0 + 1800)
    # a stop's visit counts where its dwell (less the slack) ends: skip the arrivals whose
    # dwell ends in the window
    dwell = loops[first_unit]["dwell_s"][skipped["target_id"]] - SLACK_S
    skip = Skip(skipped["target_id"], skip_window[0] - dwell, skip_window[1] - dwell)
    drives = {unit: LoopDrive(wuhan_central.graph, spec["path"], spec["stops"],
                              spec["dwell_s"], spec["duration_s"], start_s=t0 - 600,
                              skip=(skip,) if unit == first_unit else ())
              for unit, spec in loops.items()}
    return zone, plan, drives, skipped["target_id"]


def fleet_fixes(drives: dict[int, LoopDrive], start: float, end: float, *, seed: int = 0
                ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """GPS fixes every EVERY_S seconds of each car, with NOISE_M of noise per axis."""
    rng = np.random.default_rng(seed)
    times = np.arange(start, end, EVERY_S)
    out = {}
    for unit, drive in drives.items():
        x, y = drive.metric_positions(times)
        x, y = x + rng.normal(0, NOISE_M, len(x)), y + rng.normal(0, NOISE_M, len(y))
        lon, lat = drive.graph.to_lonlat.transform(x, y)
        out[unit] = (times, np.asarray(lon), np.asarray(lat))
    return out


def store_fixes(engine: sa.Engine, fixes: dict) -> None:
    """The fixes as the cars' stored tracks."""
    rows = [{"unit": unit, "at": datetime.fromtimestamp(t, timezone.utc), "lon": x, "lat": y}
            for unit, (times, lon, lat) in fixes.items()
            for t, x, y in zip(times.tolist(), lon.tolist(), lat.tolist())]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO track_fixes (unit_id, at, geom) VALUES "
                             "(:unit, :at, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"), rows)


@pytest.fixture(scope="module")
def stored(patrolled, city):
    zone, plan, drives, skipped = patrolled
    t0 = START.timestamp()
    # until 15 minutes after the hour: the stays at its end are complete
    store_fixes(city.engine, fleet_fixes(drives, t0 - 900, t0 + HOUR + 900))
    driven = {s["target_id"] for f in plan["features"] if f["properties"]["unit_id"]
              for s in f["properties"]["stops"]}
    return zone, driven, skipped


def test_the_skipped_target_is_unvisited_in_its_window_only(stored, city, wuhan_central):
    zone, driven, skipped = stored
    run = run_compliance(city.engine, wuhan_central.graph, zone_id=zone, start=START,
                         end=datetime.fromtimestamp(START.timestamp() + HOUR, timezone.utc))
    result = run.result
    assert len(result.window_start) == 4 and result.window_start[0] == START.timestamp()
    ids = result.targets.id.tolist()
    unvisited = {(ids[i], w) for i, w in zip(*np.nonzero(~result.visited))}
    expected = {(skipped, 1)} | {(t, w) for t in ids if t not in driven for w in range(4)}
    assert unvisited == expected
    row = ids.index(skipped)
    assert np.isnan(result.first_s[row, 1]) and result.unit[row, 1] == -1
    assert (result.unit[row, [0, 2, 3]] >= 0).all()
    assert run.units >= 1



def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def test_the_api_answers_the_zones_compliance(stored, client, city):
    zone, driven, skipped = stored
    t0 = START.timestamp()
    reply = client.get(f"/zones/{zone}/compliance",
                       params={"from": "2026-12-01T08:00:00+08:00", "to": iso(t0 + HOUR)},
                       headers=city.headers("planner"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["from"], body["to"]) == ("2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z")
    by_target = {t["target_id"]: t for t in body["targets"]}
    assert [w["visited"] for w in by_target[skipped]["by_window"]] == [True, False, True, True]
    assert by_target[skipped]["rate"] == 0.75
    others = [t for t in body["targets"] if t["target_id"] != skipped and
              t["target_id"] in driven]
    assert others and all(t["rate"] == 1.0 for t in others)
    windows = 4 * len(body["targets"])
    assert body["zone"]["target_windows"] == windows
    assert body["zone"]["visited"] == sum(t["visited"] for t in body["targets"])
    (shift,) = body["shifts"]  # 08:00-09:00 in Wuhan: the 08:00-16:00 shift
    assert shift["local_start_h"] == 8 and shift["visited"] == body["zone"]["visited"]
    dispatcher = client.get(f"/zones/{zone}/compliance",
                            params={"from": iso(t0), "to": iso(t0 + 900)},
                            headers=city.headers("dispatcher"))
    assert dispatcher.status_code == 200


@pytest.mark.parametrize("params, status, message", [
    ({"from": "2026-12-01T01:00:00Z", "to": "2026-12-01T00:00:00Z"}, 422, "must end after"),
    ({"from": "2026-12-01T00:00:00Z", "to": "2026-12-03T00:00:00Z"}, 422, "at most 24 hours"),
    ({"from": "2026-12-01T00:00:00", "to": "2026-12-01T01:00:00Z"}, 422, "no time zone"),
    ({"from": "yesterday", "to": "2026-12-01T01:00:00Z"}, 422, "date and time"),
    ({"to": "2026-12-01T01:00:00Z"}, 422, "from"),
])
def test_bad_ranges_are_refused(stored, client, city, params, status, message):
    zone = stored[0]
    reply = client.get(f"/zones/{zone}/compliance", params=params,
                       headers=city.headers("planner"))
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert message in reply.text


def test_an_unknown_zone_is_404(client, city):
    reply = client.get("/zones/999999/compliance", headers=city.headers("planner"),
                       params={"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z"})
    assert reply.status_code == 404 and "no patrol zone 999999" in reply.text


def test_the_cli_writes_csv_map_and_summary(stored, city, wuhan_central_compiled, monkeypatch,
                                            capsys, tmp_path):
    from cli import main

    zone, driven, skipped = stored
    with city.engine.begin() as conn:  # a name that must not become markup
        conn.execute(sa.text("UPDATE patrol_targets SET name = :n WHERE id = :i"),
                     {"n": "<img src=x onerror=alert(1)>医院", "i": skipped})
    monkeypatch.setenv("DATABASE_URL", city.url)
    code = main(["compliance", "--zone", str(zone), "--from", "2026-12-01T08:00+08:00",
                 "--to", "2026-12-01T09:00+08:00", "--tiles", "none", "-o", str(tmp_path),
                 "--graph", str(wuhan_central_compiled)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "of" in out and "target-windows visited" in out
    rows = (tmp_path / "compliance.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    assert header[:5] == ["target_id", "zone_id", "kind", "name", "window_start"]
    unvisited = [r for r in rows[1:] if ",False," in r]
    assert len(unvisited) == 1 + 4 * (len(rows[1:]) // 4 - len(driven))
    assert any(r.startswith(f"{skipped},") and "2026-12-01T00:15:00Z" in r for r in unvisited)
    for page in ("summary.html", "compliance_map.html"):  # the name is shown as text
        text = (tmp_path / page).read_text(encoding="utf-8")
        assert "<img src=x" not in text and "img src=x onerror=alert(1)" in text
    assert "&lt;img src=x onerror=alert(1)&gt;医院" in (tmp_path / "summary.html").read_text(
        encoding="utf-8")
    code = main(["compliance", "--zone", str(zone), "--from", "2026-12-01T09:00+08:00",
                 "--to", "2026-12-01T08:00+08:00", "-o", str(tmp_path)])
    assert code == 2 and "must end after it starts" in capsys.readouterr().err
