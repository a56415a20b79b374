"""The API's connections give up on a lock or a statement that takes too long, and say so."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import create_app
from settings import Settings
from zones.database import LoopPool


@pytest.mark.parametrize("limits, said, retry_after", [
    ({"lock_timeout_s": 0.3, "statement_timeout_s": 30}, "lock timeout", "1"),
    ({"lock_timeout_s": 30, "statement_timeout_s": 0.3}, "statement timeout", None),
])
def test_a_request_held_up_by_a_lock_is_told_it_timed_out(city, wuhan_central, limits, said,
                                                          retry_after):
    """A unit row held by another transaction: changing its status waits at most the limit,
    then answers 503 naming the timeout (not "database unavailable"); the row is unchanged."""
    unit_id = city.unit_ids[0]
    settings = Settings(**{"DATABASE_URL": city.url, **limits})
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as client:
        with city.engine.begin() as holder:
            holder.execute(sa.text("SELECT 1 FROM units WHERE id = :u FOR UPDATE"),
                           {"u": unit_id})
            reply = client.put(f"/units/{unit_id}/status", json={"status": "off_duty"},
                               headers=city.headers("dispatcher"))
        assert reply.status_code == 503, reply.text
        assert said in reply.json()["detail"] and "unavailable" not in reply.text
        assert reply.headers.get("Retry-After") == retry_after
        assert client.get(f"/units/{unit_id}",
                          headers=city.headers("dispatcher")).json()["status"] == "available"


BEIHU = {"lon": 114.26897, "lat": 30.60743, "category": "theft"}


def lock_timeout_client(city, wuhan_central) -> TestClient:
    settings = Settings(**{"DATABASE_URL": city.url, "lock_timeout_s": 0.3})
    return TestClient(create_app(settings, graph=wuhan_central.graph))


def incident_count(city) -> int:
    with city.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM incidents")).scalar()


def test_an_alarm_held_up_by_a_lock_before_it_is_stored_is_told_so(city, wuhan_central):
    """The caller's API key row locked FOR UPDATE (storing an incident checks it with a key
    share lock): the alarm waits for the lock timeout, then 503 naming it, with Retry-After;
    nothing is stored. Once the lock is gone the same alarm is served."""
    with lock_timeout_client(city, wuhan_central) as client:
        before = incident_count(city)
        with city.engine.begin() as holder:
            holder.execute(sa.text("SELECT 1 FROM api_keys FOR UPDATE"))
            reply = client.post("/incidents", json={**BEIHU, "priority": 3},
                                headers=city.headers("dispatcher"))
        assert reply.status_code == 503, reply.text
        assert "timed out waiting for a lock" in reply.json()["detail"]
        assert "unavailable" not in reply.text and reply.headers["Retry-After"] == "1"
        assert incident_count(city) == before
        assert client.post("/incidents", json={**BEIHU, "priority": 3},
                           headers=city.headers("dispatcher")).status_code == 201


def test_an_alarm_held_up_by_a_lock_after_it_is_stored_names_the_incident_and_the_lock(
        city, wuhan_central):
    """The decisions table locked against writes (a real table lock) while a priority-1 alarm
    decides: 503 with the stored incident's id and the lock timeout as the cause; the incident
    is kept, open, without a unit."""
    with lock_timeout_client(city, wuhan_central) as client:
        with city.engine.begin() as holder:
            holder.execute(sa.text("LOCK TABLE dispatch_decisions IN SHARE MODE"))
            reply = client.post("/incidents", json={**BEIHU, "priority": 1},
                                headers=city.headers("dispatcher"))
        assert reply.status_code == 503, reply.text
        body = reply.json()
        assert body["incident_id"] and "timed out waiting for a lock" in body["detail"]
        assert "unavailable" not in reply.text and reply.headers["Retry-After"] == "1"
        with city.engine.connect() as conn:
            status, units = conn.execute(sa.text(
                "SELECT status, (SELECT count(*) FROM assignments WHERE incident_id = i.id) "
                "FROM incidents i WHERE id = :i"), {"i": body["incident_id"]}).one()
        assert (status, units) == ("open", 0)
        client.post(f"/incidents/{body['incident_id']}/close",
                    headers=city.headers("dispatcher"))


def test_no_free_connection_is_answered_overloaded(city, wuhan_central):
    """Every connection of a pool in use: the alarm (the event loop's pool) and a request on
    the thread pool (the service's pool) are each answered 503 "overloaded" with Retry-After
    after the pool's wait, not "database unavailable"; served again once one is free. The pools
    are the real ones, made small."""
    with TestClient(create_app(Settings(**{"DATABASE_URL": city.url}),
                               graph=wuhan_central.graph)) as client:
        state = client.app.state
        alarms, engine = state.loop_pool, state.engine
        small = LoopPool(city.url.replace("+psycopg", ""), size=1, timeout_s=0.3,
                         options={"autocommit": True})
        client.portal.call(small.open)
        small_engine = sa.create_engine(city.url, pool_size=1, max_overflow=0, pool_timeout=0.3)
        state.loop_pool, state.engine = small, small_engine
        try:
            held = small.connection()
            client.portal.call(held.__aenter__)
            with small_engine.connect():
                replies = [client.post("/incidents", json={**BEIHU, "priority": 3},
                                       headers=city.headers("dispatcher")),
                           client.get("/incidents", headers=city.headers("dispatcher"))]
            client.portal.call(held.__aexit__, None, None, None)
            for reply in replies:
                assert reply.status_code == 503, reply.text
                assert "overloaded" in reply.json()["detail"], reply.text
                assert "unavailable" not in reply.text and reply.headers["Retry-After"] == "1"
            assert client.post("/incidents", json={**BEIHU, "priority": 3},
                               headers=city.headers("dispatcher")).status_code == 201
            assert client.get("/incidents",
                              headers=city.headers("dispatcher")).status_code == 200
        finally:
            state.loop_pool, state.engine = alarms, engine
            client.portal.call(small.close)
            small_engine.dispose()
