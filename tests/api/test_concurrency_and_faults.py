"""Correctness under concurrency (two worker processes) and recovery from a database outage."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import create_app
from settings import Settings
from zones.cluster import temporary_cluster

from tests_api_support import running_server


def test_fifty_simultaneous_incidents_never_share_a_unit(city, wuhan_central_compiled, tmp_path):
    """Two uvicorn worker processes, 50 incidents at once, 20 units: 20 get a unit, each a
    different one, 30 stay open, and all 50 are stored."""
    with running_server(city.url, wuhan_central_compiled, tmp_path / "server.log",
                        workers=2) as base:
        with city.engine.connect() as conn:
            available = conn.execute(sa.text(
                "SELECT count(*) FROM units WHERE status = 'available'")).scalar()
            before = conn.execute(sa.text("SELECT count(*) FROM incidents")).scalar()
        assert available == 20
        rng = np.random.default_rng(9)
        bodies = [{"lon": float(rng.uniform(114.26, 114.29)),
                   "lat": float(rng.uniform(30.59, 30.61)), "category": "fight", "priority": 1}
                  for _ in range(50)]

        def send(body):
            return httpx.post(f"{base}/incidents", json=body, timeout=60,
                              headers=city.headers("dispatcher"))

        with ThreadPoolExecutor(max_workers=50) as pool:
            replies = list(pool.map(send, bodies))
        assert [r.status_code for r in replies] == [201] * 50, [r.text for r in replies][:3]
        units = [r.json()["unit_id"] for r in replies if r.json()["unit_id"] is not None]
        assert len(units) == 20 and len(set(units)) == 20
        with city.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM incidents")).scalar() == before + 50
            assert conn.execute(sa.text(
                "SELECT count(*) FROM assignments WHERE released_at IS NULL")).scalar() == 20
            assert conn.execute(sa.text(
                "SELECT count(*) FROM units WHERE status = 'available'")).scalar() == 0
        for reply in replies:
            httpx.post(f"{base}/incidents/{reply.json()['id']}/close",
                       headers=city.headers("dispatcher"), timeout=30)


def test_database_outage_gives_503_then_recovers(wuhan_central):
    """Stop the database under a running app: 503 with a message; start it: requests work
    again without restarting the app."""
    from tests_api_support import make_city
    with temporary_cluster("patrol-outage-") as cluster:
        city = make_city(cluster.up(), wuhan_central.graph, fleet=3)
        settings = Settings(**{"DATABASE_URL": city.url})
        with TestClient(create_app(settings, graph=wuhan_central.graph)) as client:
            headers = city.headers("dispatcher")
            body = {"lon": 114.26897, "lat": 30.60743, "category": "theft", "priority": 1}
            assert client.post("/incidents", json=body, headers=headers).status_code == 201
            cluster.down()
            reply = client.post("/incidents", json=body, headers=headers)
            assert reply.status_code == 503 and "database is unavailable" in reply.text
            assert client.get("/incidents", headers=headers).status_code == 503
            assert client.get("/health").status_code == 503
            cluster.up()
            reply = client.get("/incidents", headers=headers)
            assert reply.status_code == 200 and len(reply.json()) == 1
            assert client.post("/incidents", json=body, headers=headers).status_code == 201
            # A restart between two requests costs no failed request: pooled connections
            # that the server closed are replaced before they are lent out.
            cluster.down()
            cluster.up()
            assert client.get("/incidents", headers=headers).status_code == 200
            assert client.post("/incidents", json=body, headers=headers).status_code == 201
            assert client.put("/units/positions", json={"fixes": []},
                              headers=headers).status_code == 200
            # A long outage: each alarm is told at once (not after the pool's 3 s wait), and
            # the first alarm after the database returns is served (psycopg's pool alone would
            # wait out its reconnection back-off, by then 8 s).
            cluster.down()
            outage_ends = time.monotonic() + 9
            while time.monotonic() < outage_ends:
                started = time.monotonic()
                reply = client.post("/incidents", json=body, headers=headers)
                assert reply.status_code == 503 and time.monotonic() - started < 2
                time.sleep(0.5)
            cluster.up()
            assert client.post("/incidents", json=body, headers=headers).status_code == 201
        city.engine.dispose()


BEIHU = {"lon": 114.26897, "lat": 30.60743, "category": "theft"}


def test_a_unit_being_claimed_elsewhere_is_skipped_and_the_audit_says_who_went(client, city):
    """The fastest unit locked by another transaction (an alarm claiming it at this moment):
    the dispatch takes the next one, without waiting, and the audit records that one."""
    headers = city.headers("dispatcher")
    probe = client.post("/incidents", json={**BEIHU, "priority": 4}, headers=headers).json()
    client.post(f"/incidents/{probe['id']}/close", headers=headers)
    fastest, second = (c["unit_id"] for c in probe["candidates"][:2])
    with city.engine.begin() as other:
        other.execute(sa.text("SELECT id FROM units WHERE id = :id FOR UPDATE"), {"id": fastest})
        reply = client.post("/incidents", json={**BEIHU, "priority": 1}, headers=headers)
        assert reply.status_code == 201, reply.text
    incident = reply.json()
    assert incident["unit_id"] == second and incident["status"] == "dispatched"
    stored = client.get(f"/incidents/{incident['id']}", headers=headers).json()
    for field in ("status", "unit_id", "unit_callsign", "dispatched_at", "grid_code",
                  "station_name", "received_at"):
        assert incident[field] == stored[field], field
    assert incident["eta_seconds"] == pytest.approx(stored["eta_seconds"])
    (audit,) = stored["decisions"]
    assert audit["chosen_unit_id"] == second and audit["reason"] == incident["decision"]["reason"]
    assert f"({incident['eta_seconds']:.0f} s away)" in audit["reason"]
    client.post(f"/incidents/{incident['id']}/close", headers=headers)


def test_losing_the_database_after_the_incident_is_stored(client, city, monkeypatch):
    """The connection dies between storing the incident and recording its decision: 503 that
    says the incident was stored, the incident is there (open), and the next alarm works."""
    from patrol import alarms
    headers = city.headers("dispatcher")
    real = alarms._available_units

    async def then_lose_the_connection(conn, *args):
        answer = await real(conn, *args)
        with city.engine.begin() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                          {"pid": conn.info.backend_pid})
        return answer

    monkeypatch.setattr(alarms, "_available_units", then_lose_the_connection)
    reply = client.post("/incidents", json={**BEIHU, "priority": 1}, headers=headers)
    assert reply.status_code == 503, reply.text
    detail = reply.json()["detail"]
    assert "was stored" in detail and "stays open" in detail
    incident_id = int(detail.split("incident ")[1].split()[0])
    stored = client.get(f"/incidents/{incident_id}", headers=headers).json()
    assert stored["status"] == "open" and stored["unit_id"] is None and stored["decisions"] == []
    monkeypatch.undo()
    reply = client.post("/incidents", json={**BEIHU, "priority": 1}, headers=headers)
    assert reply.status_code == 201, reply.text
    for done in (incident_id, reply.json()["id"]):
        client.post(f"/incidents/{done}/close", headers=headers)
