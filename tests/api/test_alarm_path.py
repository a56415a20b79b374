"""The alarm path under the writes that run beside it: a position batch being written, a close
or an override racing the decision, an incident stored but never decided, a bad fix in a batch."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import psycopg
import pytest
import sqlalchemy as sa

from tests_api_support import store_without_decision
from zones import alarm_store

BEIHU = {"lon": 114.26897, "lat": 30.60743, "category": "theft"}


def alarm(client, city, priority: int = 1, **fields):
    return client.post("/incidents", json={**BEIHU, "priority": priority, **fields},
                       headers=city.headers("dispatcher"))


def close(client, city, *incident_ids: int) -> None:
    for incident_id in incident_ids:
        client.post(f"/incidents/{incident_id}/close", headers=city.headers("dispatcher"))


def plain_url(url: str) -> str:
    return url.replace("+psycopg", "")


def test_a_priority_one_alarm_gets_its_unit_while_a_position_batch_is_written(client, city):
    """A batch of every unit's fix is written and not yet committed when a priority-1 alarm
    arrives: the alarm still gets the fastest unit, without waiting for the batch."""
    probe = alarm(client, city, priority=4).json()
    close(client, city, probe["id"])
    fastest = probe["candidates"][0]["unit_id"]
    with city.engine.connect() as conn:
        fleet = conn.execute(sa.text("SELECT id FROM units WHERE status = 'available'")
                             ).scalars().all()
    now = datetime.now(timezone.utc)
    fixes = [{"id": unit_id, "lon": 114.2701, "lat": 30.6001, "at": now} for unit_id in fleet]

    async def alarm_during_the_batch():
        async with await psycopg.AsyncConnection.connect(plain_url(city.url)) as batch:
            # in an open transaction: rows held
            await alarm_store.move_units(batch, fixes, max_speed_kph=150)
            started = time.monotonic()
            reply = await asyncio.to_thread(alarm, client, city)
            waited = time.monotonic() - started
            await batch.rollback()
        return reply, waited

    reply, waited = asyncio.run(alarm_during_the_batch())
    assert reply.status_code == 201, reply.text
    incident = reply.json()
    assert incident["unit_id"] == fastest and incident["status"] == "dispatched", incident
    assert waited < 2.0
    close(client, city, incident["id"])


def test_an_alarm_whose_ranked_units_are_all_being_claimed_gets_a_further_free_one(
        client, city, monkeypatch):
    """Near the end of the free fleet, concurrent alarms claim the units nearest to them all at
    once: every unit this alarm ranked is being claimed by another transaction, while farther
    units are free. It still gets one (the nearest of those), rather than an answer without a
    unit while one is free."""
    from patrol import alarms
    monkeypatch.setattr(alarms, "CLAIM_DEPTH", 1)  # ranks the 5 candidates an answer lists
    probe = alarm(client, city, priority=4).json()
    close(client, city, probe["id"])
    nearest = [c["unit_id"] for c in probe["candidates"]]
    assert len(nearest) == 5 and len(city.unit_ids) > 6
    with city.engine.connect() as claims:  # other alarms' claims, not yet committed
        claims.execute(sa.text("SELECT id FROM units WHERE id = ANY(:ids) FOR NO KEY UPDATE"),
                       {"ids": nearest})
        reply = alarm(client, city)
        claims.rollback()
    incident = reply.json()
    assert reply.status_code == 201, reply.text
    assert incident["unit_id"] is not None and incident["unit_id"] not in nearest, incident
    assert incident["candidates"] == probe["candidates"]
    with city.engine.connect() as conn:
        first = conn.execute(sa.text(
            "SELECT min(candidates -> 5 ->> 'unit_id')::int FROM dispatch_decisions "
            "WHERE incident_id = :id"), {"id": incident["id"]}).scalar()
    assert incident["unit_id"] == first  # the fastest of the units not being claimed
    close(client, city, incident["id"])


def test_an_incident_closed_before_its_decision_gets_no_unit(client, city, monkeypatch):
    """A dispatcher closes the incident between its storing and its decision: no unit is
    claimed for it, and it stays closed."""
    from patrol import alarms
    real = alarms._available_units

    async def close_it_meanwhile(conn, *args):
        answer = await real(conn, *args)
        with city.engine.begin() as other:
            other.execute(sa.text(
                "UPDATE incidents SET status = 'closed', closed_at = now() "
                "WHERE id = (SELECT max(id) FROM incidents)"))
        return answer

    monkeypatch.setattr(alarms, "_available_units", close_it_meanwhile)
    reply = alarm(client, city)
    monkeypatch.undo()
    assert reply.status_code in (201, 409), reply.text
    incident_id = reply.json().get("id") or int(reply.json()["incident_id"])
    with city.engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM incidents WHERE id = :id"),
                              {"id": incident_id}).scalar()
        active = conn.execute(sa.text(
            "SELECT count(*) FROM assignments WHERE incident_id = :id AND released_at IS NULL"),
            {"id": incident_id}).scalar()
        busy = conn.execute(sa.text("SELECT count(*) FROM units WHERE status <> 'available'")
                            ).scalar()
    assert status == "closed" and active == 0 and busy == 0


def test_a_transition_the_database_refuses_is_a_409(client, city, monkeypatch):
    """Even when the service's own check is bypassed, the database refuses a closed incident
    marked arrived, and the answer is a 409 that says why, never a 500."""
    from zones import incident_store
    incident = alarm(client, city).json()
    close(client, city, incident["id"])
    monkeypatch.setattr(incident_store, "lock_incident", lambda conn, incident_id: "dispatched")
    reply = client.post(f"/incidents/{incident['id']}/arrive",
                        headers=city.headers("dispatcher"))
    assert reply.status_code == 409, reply.text
    assert "closed" in reply.text and "arrived" in reply.text


def test_overrides_closes_and_alarms_at_once_never_deadlock(client, city):
    """Overrides, closes and priority-1 alarms on the same incidents and units, from many
    threads at once: every answer is a 2xx or a 409, never a 500 (a deadlock), and no incident
    ends with two active units."""
    headers = city.headers("dispatcher")
    units = city.unit_ids[:6]

    def round_of_work(i: int) -> list[int]:
        codes = []
        incident = alarm(client, city, priority=4)
        codes.append(incident.status_code)
        if incident.status_code != 201:
            return codes
        incident_id = incident.json()["id"]
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = [pool.submit(client.post, f"/incidents/{incident_id}/assign",
                                json={"unit_id": units[(i + k) % len(units)]}, headers=headers)
                    for k in range(2)]
            jobs.append(pool.submit(alarm, client, city))
            jobs.append(pool.submit(client.post, f"/incidents/{incident_id}/close",
                                    headers=headers))
            codes += [job.result().status_code for job in jobs]
            created = jobs[2].result()
            if created.status_code == 201:
                close(client, city, created.json()["id"])
        close(client, city, incident_id)
        return codes

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = [c for batch in pool.map(round_of_work, range(24)) for c in batch]
    assert set(codes) <= {200, 201, 409}, codes
    with city.engine.connect() as conn:
        doubled = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT incident_id FROM assignments WHERE released_at IS NULL "
            "GROUP BY incident_id HAVING count(*) > 1) AS d")).scalar()
    assert doubled == 0


def test_an_incident_stored_without_its_decision_is_dispatched_by_the_reconciler(client, city):
    """The process died after storing the incident (simulated: the row is written as the
    alarm's first round trip writes it, and nothing more): within a few seconds it is
    dispatched, audited as a reconciliation."""
    incident_id = store_without_decision(city.url, lon=BEIHU["lon"], lat=BEIHU["lat"])
    headers = city.headers("dispatcher")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = client.get(f"/incidents/{incident_id}", headers=headers).json()
        if stored["decisions"]:
            break
        time.sleep(0.25)
    assert stored["status"] == "dispatched" and stored["unit_id"] is not None, stored
    (audit,) = stored["decisions"]
    assert audit["mode"] == "reconcile" and audit["chosen_unit_id"] == stored["unit_id"]
    assert "dispatched the fastest available unit" in audit["reason"]
    close(client, city, incident_id)


def test_one_unknown_unit_in_a_batch_leaves_the_others_stored(client, city):
    """A batch with an unknown unit and a fix from the future: the good fixes are stored, each
    bad one is reported with its place in the batch and why."""
    headers = city.headers("dispatcher")
    now = datetime.now(timezone.utc).isoformat()
    good = city.unit_ids[7:9]
    fixes = [{"unit_id": good[0], "lon": 114.2801, "lat": 30.6011, "timestamp": now},
             {"unit_id": 987654, "lon": 114.28, "lat": 30.60, "timestamp": now},
             {"unit_id": good[1], "lon": 114.2802, "lat": 30.6012, "timestamp": now},
             {"unit_id": good[1], "lon": 114.28, "lat": 30.60,
              "timestamp": "2099-01-01T00:00:00Z"}]
    reply = client.put("/units/positions", headers=headers, json={"fixes": fixes})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["received"] == 4 and answer["stored"] == 2
    rejected = {r["index"]: r for r in answer["rejected"]}
    assert sorted(rejected) == [1, 3]
    assert rejected[1]["unit_id"] == 987654 and "no unit 987654" in rejected[1]["reason"]
    assert "in the future" in rejected[3]["reason"]
    for unit_id, lon in zip(good, (114.2801, 114.2802)):
        unit = client.get(f"/units/{unit_id}", headers=headers).json()
        assert unit["lon"] == pytest.approx(lon)


def test_any_failure_after_storing_is_a_503_with_the_incident_id(client, city, monkeypatch):
    """Not only a lost connection: whatever fails after the incident is stored is a 503 whose
    body gives the stored incident's id as a field; the reconciler decides it later."""
    from patrol import alarms

    async def broken(*args):
        raise RuntimeError("a bug in ranking")

    monkeypatch.setattr(alarms, "_available_units", broken)
    reply = alarm(client, city)
    monkeypatch.undo()
    assert reply.status_code == 503, reply.text
    incident_id = reply.json()["incident_id"]
    assert f"incident {incident_id} was stored" in reply.text
    stored = client.get(f"/incidents/{incident_id}", headers=city.headers("dispatcher")).json()
    assert stored["status"] in ("open", "dispatched")  # the reconciler may have decided it
    close(client, city, incident_id)


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(client, city,
                                                                         monkeypatch):
    """The first attempt fails after storing (503); the client retries with the same
    Idempotency-Key: it gets that incident, decided now, and no second incident is stored.
    Another retry gets the same answer; the same key with another body is refused."""
    from patrol import alarms
    headers = {**city.headers("dispatcher"), "Idempotency-Key": "console-7/call-0001"}
    body = {**BEIHU, "priority": 1, "description": "retry me"}

    async def broken(*args):
        raise RuntimeError("a bug in ranking")

    monkeypatch.setattr(alarms, "_available_units", broken)
    first = client.post("/incidents", json=body, headers=headers)
    monkeypatch.undo()
    assert first.status_code == 503, first.text
    incident_id = first.json()["incident_id"]
    replies = [client.post("/incidents", json=body, headers=headers) for _ in range(2)]
    for reply in replies:
        assert reply.status_code == 201, reply.text
        assert reply.json()["id"] == incident_id and reply.json()["replayed"] is True
        assert reply.headers["Idempotent-Replayed"] == "true"
    assert replies[0].json()["status"] == "dispatched"
    assert replies[0].json()["unit_id"] == replies[1].json()["unit_id"] is not None
    assert replies[0].json()["decision"] == replies[1].json()["decision"]
    with city.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM incidents WHERE description = "
                                     "'retry me'")).scalar()
        decisions = conn.execute(sa.text("SELECT count(*) FROM dispatch_decisions WHERE "
                                         "incident_id = :id"), {"id": incident_id}).scalar()
    assert count == 1 and decisions == 1
    other = client.post("/incidents", json={**body, "priority": 2}, headers=headers)
    assert other.status_code == 409 and "different incident" in other.text
    fresh = client.post("/incidents", json=body,
                        headers={**headers, "Idempotency-Key": "console-7/call-0002"})
    assert fresh.status_code == 201 and fresh.json()["id"] != incident_id
    assert fresh.json()["replayed"] is False
    close(client, city, incident_id, fresh.json()["id"])


def test_simultaneous_retries_store_and_decide_once(client, city):
    """The same request sent four times at once with one Idempotency-Key: one incident, one
    decision, one unit, and every answer names them."""
    headers = {**city.headers("dispatcher"), "Idempotency-Key": "console-7/call-0003"}
    body = {**BEIHU, "priority": 1, "description": "sent four times"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda _: client.post("/incidents", json=body,
                                                      headers=headers), range(4)))
    assert [r.status_code for r in replies] == [201] * 4, [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    assert len({r.json()["unit_id"] for r in replies}) == 1
    assert sorted(r.json()["replayed"] for r in replies) == [False, True, True, True]
    incident_id = replies[0].json()["id"]
    with city.engine.connect() as conn:
        decisions = conn.execute(sa.text("SELECT count(*) FROM dispatch_decisions WHERE "
                                         "incident_id = :id"), {"id": incident_id}).scalar()
    assert decisions == 1
    close(client, city, incident_id)
