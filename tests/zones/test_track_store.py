"""The track table: fixes stored and read back exactly, position batches appended to the tracks
with backwards fixes left out and jumps marked, and the state the track endpoints clean with."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy as sa

from zones import alarm_store, track_store

T0 = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.fixture
def units(two_units):
    engine = sa.create_engine(two_units)
    yield engine, two_units.replace("+psycopg", "")
    engine.dispose()


async def _on(url: str, work):
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await work(conn)


def fix(unit: int, seconds: float, lon: float, lat: float, jump: bool = False) -> dict:
    return {"id": unit, "lon": lon, "lat": lat, "at": T0 + timedelta(seconds=seconds),
            "jump": jump}


def test_stored_fixes_are_read_back_exactly_within_a_half_open_range(units):
    engine, url = units
    fixes = [fix(1, 0, 114.2712345678901, 30.6012345678901), fix(1, 5.000001, 114.272, 30.601),
             fix(1, 10, 114.3, 30.7, jump=True), fix(2, 5, 114.28, 30.61)]

    async def store(conn):
        async with conn.transaction():
            return await track_store.store_track(conn, fixes)

    assert asyncio.run(_on(url, store)) == 4
    assert asyncio.run(_on(url, store)) == 0  # the same instants again: nothing stored
    with engine.connect() as conn:
        got = track_store.fixes_between(conn, 1, T0, T0 + timedelta(seconds=10))
        position = conn.execute(sa.text(
            "SELECT lon, lat, position_at FROM unit_positions WHERE unit_id = 1")).one()
    assert got == [{"at": f["at"], "lon": f["lon"], "lat": f["lat"], "jump": f["jump"]}
                   for f in fixes[:2]]  # the end is left out
    assert tuple(position) == (114.272, 30.601, fixes[1]["at"])  # the newest fix, not the jump


def test_position_batches_append_to_the_tracks(units):
    engine, url = units

    def batch(*fixes):
        return asyncio.run(_on(url, lambda conn: alarm_store.move_units(
            conn, list(fixes), max_speed_kph=150)))

    assert batch(fix(1, 0, 114.27, 30.60), fix(3, 0, 114.27, 30.60)) == ([3], 1)
    batch(fix(1, 10, 114.2702, 30.60))          # 19 m in 10 s
    batch(fix(1, 5, 114.2701, 30.60))           # back in time: not in the track
    batch(fix(1, 15, 114.30, 30.60))            # 2.9 km in 5 s: a jump
    batch(fix(1, 20, 114.2703, 30.60))          # from the last good fix, not from the jump
    batch(fix(1, 25, 114.2704, 30.60), fix(1, 30, 114.2705, 30.60))
    with engine.connect() as conn:
        got = track_store.fixes_between(conn, 1, T0, T0 + timedelta(hours=1))
        assert conn.execute(sa.text("SELECT count(*) FROM track_fixes")).scalar() == 6
    assert [(round((g["at"] - T0).total_seconds()), g["jump"]) for g in got] == [
        (0, False), (10, False), (15, True), (20, False), (25, False), (30, False)]


def test_the_state_for_cleaning_is_the_last_good_fix_the_newest_and_the_same_instants(units):
    _, url = units
    stored = [fix(1, 0, 114.27, 30.60), fix(1, 5, 114.40, 30.60, jump=True)]

    async def work(conn):
        async with conn.transaction():
            await track_store.store_track(conn, stored)
        async with conn.transaction():
            return await track_store.track_state(
                conn, [1, 1, 2, 9], [T0, T0 + timedelta(seconds=9), T0, T0])

    state = asyncio.run(_on(url, work))
    assert set(state) == {1, 2}
    assert state[1] == {"good_at": T0, "good_lon": 114.27, "good_lat": 30.60,
                        "newest_at": stored[1]["at"], "same_at": [T0], "same_lon": [114.27],
                        "same_lat": [30.60]}
    assert state[2] == dict.fromkeys(state[2])  # no fix yet: all None
