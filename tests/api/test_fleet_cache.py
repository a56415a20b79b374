"""A worker's copy of the fleet (``patrol.fleet_cache``) follows the database exactly.

After moves, status changes, a stale fix, a new unit, a deleted unit and a moved station, the
copy gives the same available units, positions and road snaps as a full read of the database
placed by ``routing_positions`` and snapped afresh; the change feed carries only what changed;
reads applied out of order keep the newest; and a copy that cannot apply changes says so.
"""

from __future__ import annotations

import asyncio

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa

from patrol.fleet import routing_positions
from patrol.fleet_cache import FleetCache
from routing import snap_many
from zones.alarm_store import fleet_changes
from zones.unit_store import available_units

STALE_S = 120.0
LIMIT_M = 500.0


def feed(url: str, since: int) -> dict:
    """The change feed read as the alarm path reads it (async, psycopg's own connection)."""
    async def read() -> dict:
        async with await psycopg.AsyncConnection.connect(url.replace("+psycopg", "")) as conn:
            return await fleet_changes(conn, since=since)
    return asyncio.run(read())


def database_now(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        return float(conn.execute(sa.text("SELECT extract(epoch FROM now())")).scalar())


def assert_follows(cache: FleetCache, engine: sa.Engine, graph) -> None:
    """The copy's answer equals a full read's, unit by unit."""
    positions, snaps = cache.available("patrol_car", database_now(engine), STALE_S)
    with engine.connect() as conn:
        want = routing_positions(available_units(conn, kind="patrol_car"),
                                 stale_after_s=STALE_S)
    want_snaps = snap_many(graph, want.lon, want.lat, limit_m=LIMIT_M)
    got_order, want_order = np.argsort(positions.unit_id), np.argsort(want.unit_id)
    assert positions.unit_id[got_order].tolist() == want.unit_id[want_order].tolist()
    assert positions.callsign[got_order].tolist() == want.callsign[want_order].tolist()
    np.testing.assert_array_equal(positions.lon[got_order], want.lon[want_order])
    np.testing.assert_array_equal(positions.lat[got_order], want.lat[want_order])
    np.testing.assert_array_equal(positions.at_home_station[got_order],
                                  want.at_home_station[want_order])
    np.testing.assert_array_equal(snaps.edge[got_order], want_snaps.edge[want_order])
    np.testing.assert_array_equal(snaps.fraction[got_order], want_snaps.fraction[want_order])
    assert snaps.take(got_order).snaps() == want_snaps.take(want_order).snaps()  # every road


def catch_up(cache: FleetCache, url: str, graph) -> dict:
    since = cache.since
    changes = feed(url, since)
    assert cache.update(since, changes, graph, LIMIT_M)
    return changes


def run(engine: sa.Engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


@pytest.fixture()
def unit_ids(city) -> list[int]:
    return city.unit_ids


def test_the_copy_follows_every_kind_of_change(city, wuhan_central, unit_ids):
    graph, engine, url = wuhan_central.graph, city.engine, city.url
    run(engine, "UPDATE unit_positions SET position_at = now()")  # every fix fresh to start with
    cache = FleetCache()
    assert cache.update(0, feed(url, 0), graph, LIMIT_M)
    assert_follows(cache, engine, graph)

    moved, off_duty, stale = unit_ids[:3]
    run(engine, "UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(114.2712, 30.6012),"
                " 4326), position_at = now() WHERE unit_id = :id", id=moved)
    run(engine, "UPDATE units SET status = 'off_duty' WHERE id = :id", id=off_duty)
    run(engine, "UPDATE unit_positions SET position_at = now() - interval '1 hour' "
                "WHERE unit_id = :id", id=stale)
    with engine.begin() as conn:
        (new_unit,) = conn.execute(sa.text(
            "INSERT INTO units (callsign, kind, home_station_id) "
            "SELECT 'NEW-1', 'patrol_car', home_station_id FROM units "
            "WHERE id = :id RETURNING id"), {"id": moved}).one()
        conn.execute(sa.text(
            "INSERT INTO unit_positions (unit_id, position, position_at) "
            "SELECT :new, position, now() FROM unit_positions WHERE unit_id = :id"),
            {"new": new_unit, "id": moved})
    changes = catch_up(cache, url, graph)
    assert sorted(changes["id"]) == sorted([moved, off_duty, stale, new_unit])  # only those
    assert_follows(cache, engine, graph)

    # A status change keeps the unit's road positions; a new home station moves the unit placed
    # there (its fix is stale).
    run(engine, "UPDATE units SET status = 'available' WHERE id = :id", id=off_duty)
    run(engine, "UPDATE units SET home_station_id = (SELECT s.id FROM stations s, units u "
                "WHERE u.id = :id AND s.id <> u.home_station_id AND s.kind = 'police_station' "
                "ORDER BY s.id LIMIT 1) WHERE id = :id", id=stale)
    catch_up(cache, url, graph)
    assert_follows(cache, engine, graph)

    # A unit on a junction is on every road that meets there, in the copy too.
    roads = graph.road_edges
    junction = int(np.argmax(np.bincount(np.concatenate([graph.edge_tail[roads],
                                                         graph.edge_head[roads]]))))
    lon, lat = (float(v) for v in graph.node_lonlat[junction])
    run(engine, "UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
                " WHERE unit_id = :id", id=moved, lon=lon, lat=lat)
    catch_up(cache, url, graph)
    assert_follows(cache, engine, graph)
    positions, snaps = cache.available("patrol_car", database_now(engine), STALE_S)
    assert len(snaps.snap(int(np.flatnonzero(positions.unit_id == moved)[0])).also) >= 2

    # Two reads from the same point, applied newest first: the older must not win.
    since = cache.since
    run(engine, "UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(114.2801, 30.5950),"
                " 4326) WHERE unit_id = :id", id=moved)
    older, older_whole = feed(url, since), feed(url, 0)
    run(engine, "UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(114.2655, 30.6050),"
                " 4326) WHERE unit_id = :id", id=moved)
    newer = feed(url, since)
    assert cache.update(since, newer, graph, LIMIT_M)
    assert cache.update(since, older, graph, LIMIT_M)
    assert_follows(cache, engine, graph)
    assert cache.update(0, older_whole, graph, LIMIT_M)  # an older whole read changes nothing
    assert_follows(cache, engine, graph)

    # A fix and a status change are written apart (a fix never locks its unit): a fix that took
    # its revision before a status change but committed after it is still applied.
    since = cache.since
    with engine.connect() as fix_writer:
        fix_writer.execute(sa.text(
            "UPDATE unit_positions SET position = ST_SetSRID(ST_MakePoint(114.2744, 30.6031), "
            "4326) WHERE unit_id = :id"), {"id": moved})
        run(engine, "UPDATE units SET callsign = callsign || '-B' WHERE id = :id", id=moved)
        assert cache.update(since, feed(url, since), graph, LIMIT_M)
        fix_writer.commit()
    assert cache.update(since, feed(url, since), graph, LIMIT_M)
    assert_follows(cache, engine, graph)

    # A deleted unit leaves no row to read: the feed's epoch moves and the copy is read whole.
    run(engine, "DELETE FROM units WHERE id = :id", id=new_unit)
    since = cache.since
    assert not cache.update(since, feed(url, since), graph, LIMIT_M)
    assert cache.update(0, feed(url, 0), graph, LIMIT_M)
    assert_follows(cache, engine, graph)
    assert new_unit not in cache.available("patrol_car", database_now(engine), STALE_S)[0].unit_id

    # A moved station moves the units placed at it (stale fixes): read whole again.
    run(engine, "UPDATE stations SET geom = ST_SetSRID(ST_MakePoint(114.2733, 30.5991), 4326) "
                "WHERE id = (SELECT home_station_id FROM units WHERE id = :id)", id=stale)
    since = cache.since
    assert not cache.update(since, feed(url, since), graph, LIMIT_M)
    assert cache.update(0, feed(url, 0), graph, LIMIT_M)
    assert_follows(cache, engine, graph)
