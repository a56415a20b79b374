"""A priority-1 alarm that arrives while every unit is busy is decided with no unit and stays
open; as soon as a unit is free (an incident closed), it gets that unit within seconds, by the
same decision and claim as an alarm, audited as a retry by the reconciler. The most urgent
waiting incident is served first."""

from __future__ import annotations

import time

import sqlalchemy as sa

BEIHU = {"lon": 114.26897, "lat": 30.60743, "category": "theft"}
#: Seconds within which a waiting alarm gets a freed unit (the reconciler looks every second).
RETRY_WITHIN_S = 5.0


def alarm(client, city, priority: int) -> dict:
    reply = client.post("/incidents", json={**BEIHU, "priority": priority},
                        headers=city.headers("dispatcher"))
    assert reply.status_code == 201, reply.text
    return reply.json()


def incident(client, city, incident_id: int) -> dict:
    return client.get(f"/incidents/{incident_id}", headers=city.headers("dispatcher")).json()


def set_status(client, city, unit_ids, status: str) -> None:
    for unit_id in unit_ids:
        reply = client.put(f"/units/{unit_id}/status", json={"status": status},
                           headers=city.headers("dispatcher"))
        assert reply.status_code == 200, reply.text


def close(client, city, incident_id: int) -> None:
    reply = client.post(f"/incidents/{incident_id}/close", headers=city.headers("dispatcher"))
    assert reply.status_code == 200, reply.text


def wait_for_unit(client, city, incident_id: int) -> dict:
    deadline = time.monotonic() + RETRY_WITHIN_S
    while (found := incident(client, city, incident_id))["unit_id"] is None \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_an_alarm_left_without_a_unit_gets_the_first_unit_freed(client, city):
    set_status(client, city, city.unit_ids[2:], "off_duty")
    busy = [alarm(client, city, priority=1) for _ in range(2)]
    assert all(b["unit_id"] is not None for b in busy)
    waiting = alarm(client, city, priority=1)
    assert waiting["status"] == "open" and waiting["unit_id"] is None
    assert "stays open" in waiting["decision"]["reason"]
    time.sleep(1.5)  # a round of the reconciler with every unit busy changes nothing
    assert incident(client, city, waiting["id"])["decisions"][1:] == []
    close(client, city, busy[0]["id"])
    freed = busy[0]["unit_id"]
    found = wait_for_unit(client, city, waiting["id"])
    assert found["status"] == "dispatched" and found["unit_id"] == freed, found
    assert [d["mode"] for d in found["decisions"]] == ["auto", "retry"]
    assert found["decisions"][1]["chosen_unit_id"] == freed
    with city.engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT actor, action, unit_id FROM audit_events "
                                     "WHERE incident_id = :id"), {"id": waiting["id"]}).all()
        active = conn.execute(sa.text("SELECT count(*) FROM assignments WHERE unit_id = :u "
                                      "AND released_at IS NULL"), {"u": freed}).scalar()
    assert audit == [("reconciler", "retry", freed)] and active == 1
    close(client, city, busy[1]["id"])
    close(client, city, waiting["id"])
    set_status(client, city, city.unit_ids[2:], "available")


def test_the_most_urgent_waiting_alarm_is_served_first(client, city):
    set_status(client, city, city.unit_ids[1:], "off_duty")
    busy = alarm(client, city, priority=1)
    older = alarm(client, city, priority=2)
    urgent = alarm(client, city, priority=1)
    assert older["unit_id"] is None and urgent["unit_id"] is None
    close(client, city, busy["id"])
    assert wait_for_unit(client, city, urgent["id"])["unit_id"] == busy["unit_id"]
    assert incident(client, city, older["id"])["unit_id"] is None
    close(client, city, urgent["id"])
    assert wait_for_unit(client, city, older["id"])["unit_id"] == busy["unit_id"]
    close(client, city, older["id"])
    set_status(client, city, city.unit_ids[1:], "available")
