"""The consoles' push channel: who may open it, and that it sends a snapshot and then only what
changed in the database, whichever process wrote it."""

from __future__ import annotations

import asyncio
import json
import time

import sqlalchemy as sa

from patrol.console_feed import ConsoleHub, LiveState
from settings import Settings
from zones.database import loop_pool

DEADLINES = {1: 300, 2: 300, 3: 600, 4: 900, 5: 1800}


def test_the_page_needs_no_key_and_inlines_leaflet(client):
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "L.map(" in page.text and "cdn" not in page.text.lower()
    assert '"coords": "gcj02"' in client.get("/console?coords=gcj02").text
    refused = client.get("/console?coords=bd09")
    assert refused.status_code == 422 and "coords" in refused.json()["detail"]


def test_the_stream_needs_a_dispatcher_key(client, city):
    missing = client.get("/console/events")
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    planner = client.get("/console/events", headers=city.headers("planner"))
    assert planner.status_code == 403 and "dispatcher role" in planner.json()["detail"]


def test_live_state_sends_only_what_changed():
    state = LiveState()
    feed = {"id": [1, 2], "callsign": ["A", "B"], "status": ["available"] * 2,
            "lon": [114.1, None], "lat": [30.1, None], "fix_at": [100.0, None],
            "home_lon": [114.0, 114.2], "home_lat": [30.0, 30.2]}
    changed, gone = state.apply_fleet(feed, whole=True)
    assert changed == [[1, "A", "available", 114.1, 30.1, 100.0],
                       [2, "B", "available", 114.2, 30.2, None]] and gone == []
    assert state.apply_fleet(feed, whole=False) == ([], [])  # read again: nothing new
    moved = {**feed, "id": [1], "callsign": ["A"], "status": ["dispatched"], "lon": [114.1],
             "lat": [30.1], "fix_at": [100.0], "home_lon": [114.0], "home_lat": [30.0]}
    assert state.apply_fleet(moved, whole=True) == ([[1, "A", "dispatched", 114.1, 30.1,
                                                      100.0]], [2])
    incident = {"id": 7, "status": "open", "priority": 1}
    assert state.apply_incidents([incident]) == ([incident], [])
    assert state.apply_incidents([dict(incident)]) == ([], [])
    assert state.apply_incidents([{**incident, "status": "closed"}]) == ([], [7])
    assert state.apply_incidents([{"id": 8, "status": "closed"}]) == ([], [])  # never shown


def test_the_hub_sends_a_snapshot_then_changes_written_elsewhere(city):
    """Writes made by another connection (as another API worker's would be) reach the
    console: a fix, an incident, its dispatch and its closing, each once."""

    async def run() -> list[tuple[str, dict]]:
        hub = ConsoleHub(loop_pool(Settings(**{"DATABASE_URL": city.url}), size=1),
                         stale_after_s=120, deadlines_s=DEADLINES, poll_s=0.05)
        received: list[tuple[str, dict]] = []
        events = hub.events()
        try:
            name, data = await anext(events)
            received.append((name, json.loads(data)))
            for write, shows in zip(_writes(city), ("units", "incidents", "incidents",
                                                    "incidents")):
                await asyncio.to_thread(write)
                name = None
                while name != shows:  # a dispatch changes a unit too: two messages
                    name, data = await asyncio.wait_for(anext(events), 5)
                    received.append((name, json.loads(data)))
        finally:
            await events.aclose()
            await hub.close()
        return received

    received = asyncio.run(run())
    name, snapshot = received[0]
    assert name == "snapshot" and len(snapshot["units"]) == len(city.unit_ids)
    assert snapshot["deadlines_s"] == {str(k): v for k, v in DEADLINES.items()}
    units = [data for name, data in received[1:] if name == "units"]
    incidents = [data for name, data in received[1:] if name == "incidents"]
    assert units[0] == {"changed": [[city.unit_ids[0], "TEST-000", "available", 114.28, 30.6,
                                     units[0]["changed"][0][5]]], "gone": []}  # that unit only
    assert [row[:3] for data in units[1:] for row in data["changed"]] == [
        [city.unit_ids[1], "TEST-001", "dispatched"], [city.unit_ids[1], "TEST-001", "available"]]
    opened, dispatched, closed = incidents
    incident = opened["changed"][0]
    assert incident["status"] == "open" and incident["unit_id"] is None
    assert dispatched["changed"] == [{**incident, "status": "dispatched",
                                      "unit_id": city.unit_ids[1], "unit_callsign": "TEST-001",
                                      "dispatched_at": dispatched["changed"][0]["dispatched_at"]}]
    assert closed == {"changed": [], "gone": [incident["id"]]}


def test_the_hub_pushes_deleted_incidents_and_the_open_moves(city):
    """A deletion leaves no row to stamp: the shown incident still leaves every console. A move
    proposed or decided anywhere is pushed as the whole list of open moves."""
    unit = city.unit_ids[2]

    async def run() -> list[tuple[str, dict]]:
        hub = ConsoleHub(loop_pool(Settings(**{"DATABASE_URL": city.url}), size=1),
                         stale_after_s=120, deadlines_s=DEADLINES, poll_s=0.05)
        received = []
        events = hub.events(idle_s=0.2)
        try:
            received.append(await anext(events))
            for write in (_insert_incident, _delete_incidents, _propose_move, _decline_moves):
                await asyncio.to_thread(write, city, unit)
                deadline = time.monotonic() + 5
                while (message := await anext(events))[0] == "idle":
                    assert time.monotonic() < deadline, f"nothing pushed after {write.__name__}"
                received.append(message)
        finally:
            await events.aclose()
            await hub.close()
        return [(name, json.loads(data)) for name, data in received]

    (_, snapshot), (_, opened), (_, deleted), (_, proposed), (_, declined) = asyncio.run(run())
    assert snapshot["moves"] == []
    incident = opened["changed"][0]["id"]
    assert deleted == {"changed": [], "gone": [incident]}
    move = proposed["moves"][0]
    assert len(proposed["moves"]) == 1 and move["unit_id"] == unit
    assert move["status"] == "proposed" and move["gain"] == 0.01
    assert move["expected_before"] == 0.5 and move["expected_after"] == 0.51
    assert declined == {"moves": []}


def _insert_incident(city, unit: int) -> None:
    _run(city.engine, "INSERT INTO incidents (category, priority, geom) VALUES ('theft', 4, "
         "ST_SetSRID(ST_MakePoint(114.27, 30.6), 4326))", {})


def _delete_incidents(city, unit: int) -> None:
    _run(city.engine, "DELETE FROM incidents WHERE id NOT IN "
         "(SELECT incident_id FROM dispatch_decisions WHERE incident_id IS NOT NULL)", {})


def _propose_move(city, unit: int) -> None:
    _run(city.engine, "INSERT INTO moves (unit_id, site_kind, site_name, lon, lat, "
         "drive_seconds, gain, coverage_before, coverage_after, reason) VALUES (:u, 'station', "
         "'a post', 114.27, 30.6, 95, 0.01, '{\"expected\": 0.5}', '{\"expected\": 0.51}', "
         "'rebalance')", {"u": unit})


def _decline_moves(city, unit: int) -> None:
    _run(city.engine, "UPDATE moves SET status = 'declined', decided_at = now() "
         "WHERE status = 'proposed'", {})


def _writes(city):
    """A fix; an incident; its unit assigned; the incident closed (the unit released)."""
    def sql(statement: str, **values):
        return lambda: _run(city.engine, statement, values)

    unit, other = city.unit_ids[0], city.unit_ids[1]
    return [
        sql("UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(114.28, 30.6), 4326),"
            " position_at = now() WHERE unit_id = :u", u=unit),
        sql("INSERT INTO incidents (category, priority, geom) VALUES ('theft', 3, "
            "ST_SetSRID(ST_MakePoint(114.27, 30.6), 4326))"),
        sql("WITH i AS (SELECT max(id) AS id FROM incidents), "
            "a AS (INSERT INTO assignments (incident_id, unit_id) SELECT id, :u FROM i), "
            "u AS (UPDATE units SET status = 'dispatched' WHERE id = :u) "
            "UPDATE incidents SET status = 'dispatched', dispatched_at = now() "
            "WHERE id = (SELECT id FROM i)", u=other),
        sql("WITH i AS (SELECT max(id) AS id FROM incidents), "
            "r AS (UPDATE assignments SET released_at = now() WHERE incident_id = "
            "(SELECT id FROM i)), u AS (UPDATE units SET status = 'available' WHERE id = :u) "
            "UPDATE incidents SET status = 'closed', closed_at = now() "
            "WHERE id = (SELECT id FROM i)", u=other),
    ]


def _run(engine: sa.Engine, statement: str, values: dict) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement), values)
