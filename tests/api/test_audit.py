"""Every state change through the API is audited in its own transaction: who (the API key's
label and id, or the reconciler), when, what, the incident and the unit; a refused change
writes no audit row, and an audit row that cannot be written undoes the change."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests_api_support import store_without_decision

BEIHU = {"lon": 114.26897, "lat": 30.60743, "category": "theft"}


def alarm(client, city, priority: int = 1):
    reply = client.post("/incidents", json={**BEIHU, "priority": priority},
                        headers=city.headers("dispatcher"))
    assert reply.status_code == 201, reply.text
    return reply.json()


def audit_rows(city, **where) -> list[dict]:
    """The audit rows for ``where`` (column = value), oldest first."""
    condition = " AND ".join(f"{column} = :{column}" for column in where)
    with city.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT actor, api_key_id, action, incident_id, unit_id, "
                                    f"details FROM audit_events WHERE {condition} ORDER BY id"),
                            where).mappings()
        return [dict(r) for r in rows]


def dispatcher_key_id(city) -> int:
    with city.engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM api_keys WHERE name = 'test dispatcher'")
                            ).scalar()


def test_arrive_and_close_write_one_audit_row_each_and_a_refused_one_none(client, city):
    headers = city.headers("dispatcher")
    incident = alarm(client, city)
    incident_id, unit_id = incident["id"], incident["unit_id"]
    assert client.post(f"/incidents/{incident_id}/arrive", headers=headers).status_code == 200
    assert client.post(f"/incidents/{incident_id}/arrive", headers=headers).status_code == 409
    assert client.post(f"/incidents/{incident_id}/close", headers=headers).status_code == 200
    assert client.post(f"/incidents/{incident_id}/close", headers=headers).status_code == 409
    rows = audit_rows(city, incident_id=incident_id)
    assert [r["action"] for r in rows] == ["arrive", "close"]
    key_id = dispatcher_key_id(city)
    for row in rows:
        assert row["actor"] == f"key {key_id} (dispatcher, test dispatcher)"
        assert row["api_key_id"] == key_id and row["unit_id"] == unit_id
    assert rows[1]["details"] == {"from": "arrived"}


def test_a_unit_status_change_writes_one_audit_row_and_a_refused_one_none(client, city):
    headers = city.headers("dispatcher")
    unit_id = city.unit_ids[-1]
    path = f"/units/{unit_id}/status"
    assert client.put(path, json={"status": "off_duty"}, headers=headers).status_code == 200
    assert client.put(path, json={"status": "en_route"}, headers=headers).status_code == 409
    assert client.put(path, json={"status": "available"}, headers=headers).status_code == 200
    rows = audit_rows(city, unit_id=unit_id, action="unit_status")
    assert [r["details"] for r in rows] == [{"from": "available", "to": "off_duty"},
                                            {"from": "off_duty", "to": "available"}]
    assert all(r["api_key_id"] == dispatcher_key_id(city) for r in rows)


def test_an_override_writes_one_audit_row(client, city):
    headers = city.headers("dispatcher")
    incident = alarm(client, city, priority=4)  # a recommendation: no unit yet
    unit_id = incident["candidates"][1]["unit_id"]
    reply = client.post(f"/incidents/{incident['id']}/assign", json={"unit_id": unit_id},
                        headers=headers)
    assert reply.status_code == 200, reply.text
    (row,) = audit_rows(city, incident_id=incident["id"])
    assert row["action"] == "override" and row["unit_id"] == unit_id
    assert row["details"]["released_unit_id"] is None and row["details"]["eta_seconds"] > 0
    client.post(f"/incidents/{incident['id']}/close", headers=headers)


def test_a_reconciled_incident_is_audited_as_the_reconciler(client, city):
    incident_id = store_without_decision(city.url, lon=BEIHU["lon"], lat=BEIHU["lat"])
    deadline = time.monotonic() + 10
    while not (rows := audit_rows(city, incident_id=incident_id)) \
            and time.monotonic() < deadline:
        time.sleep(0.25)
    (row,) = rows
    stored = client.get(f"/incidents/{incident_id}", headers=city.headers("dispatcher")).json()
    assert row["action"] == "reconcile" and row["actor"] == "reconciler"
    assert row["api_key_id"] is None and row["unit_id"] == stored["unit_id"] is not None
    client.post(f"/incidents/{incident_id}/close", headers=city.headers("dispatcher"))


def test_a_change_whose_audit_row_fails_is_undone(client, city, monkeypatch):
    from patrol import service
    incident = alarm(client, city)

    def broken(conn, actor, action, **fields):
        conn.execute(sa.text("SELECT 1 / 0"))

    monkeypatch.setattr(service.audit, "record", broken)
    with pytest.raises(sa.exc.DataError):
        client.post(f"/incidents/{incident['id']}/arrive", headers=city.headers("dispatcher"))
    monkeypatch.undo()
    stored = client.get(f"/incidents/{incident['id']}", headers=city.headers("dispatcher"))
    assert stored.json()["status"] == "dispatched"
    assert stored.json()["unit_id"] == incident["unit_id"]
    client.post(f"/incidents/{incident['id']}/close", headers=city.headers("dispatcher"))


def test_the_audit_lists_an_incident_s_decision_and_changes(client, city):
    headers = city.headers("dispatcher")
    incident = alarm(client, city)
    client.post(f"/incidents/{incident['id']}/close", headers=headers)
    reply = client.get("/audit", params={"incident_id": incident["id"]}, headers=headers)
    assert reply.status_code == 200, reply.text
    events = reply.json()
    assert [(e["source"], e["action"]) for e in events] == [("audit", "close"),
                                                            ("decision", "dispatch")]
    assert {e["unit_id"] for e in events} == {incident["unit_id"]}
    assert events[1]["api_key_id"] == events[0]["api_key_id"] == dispatcher_key_id(city)
    by_unit = client.get("/audit", params={"unit_id": incident["unit_id"],
                                           "since": events[1]["at"]}, headers=headers).json()
    assert [e["id"] for e in by_unit][:2] == [e["id"] for e in events]
    assert client.get("/audit", headers=city.headers("planner")).status_code == 403
