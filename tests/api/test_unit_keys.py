"""Key roles and lifetimes: a unit key reports its own unit only; keys expire and are revoked."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from cli import main
from zones.api_keys import create_api_key

FIX = {"lon": 114.27, "lat": 30.60, "timestamp": "2026-01-01T08:00:00+08:00"}


def unit_key(city, unit_id: int, **options) -> dict[str, str]:
    with city.engine.begin() as conn:
        key = create_api_key(conn, "unit", name="terminal", unit_id=unit_id, **options)
    return {"X-API-Key": key}


def test_a_unit_key_reports_its_own_unit_only(client, city):
    own, other = city.unit_ids[:2]
    headers = unit_key(city, own)
    assert client.put(f"/units/{own}/position", json=FIX, headers=headers).status_code == 200
    assert client.put("/units/positions", headers=headers,
                      json={"fixes": [{**FIX, "unit_id": own}]}).status_code == 200
    reply = client.put(f"/units/{own}/status", json={"status": "off_duty"}, headers=headers)
    assert reply.status_code == 200 and reply.json()["status"] == "off_duty"
    assert client.put(f"/units/{own}/status", json={"status": "available"},
                      headers=headers).status_code == 200
    for method, path, body in [
            ("PUT", f"/units/{other}/position", FIX),
            ("PUT", "/units/positions", {"fixes": [{**FIX, "unit_id": own},
                                                   {**FIX, "unit_id": other}]}),
            ("PUT", f"/units/{other}/status", {"status": "off_duty"})]:
        reply = client.request(method, path, json=body, headers=headers)
        assert reply.status_code == 403, reply.text
        assert f"reports for unit {own} only, not for unit {other}" in reply.json()["detail"]
    incident = {"lon": 114.27, "lat": 30.60, "category": "theft", "priority": 1}
    for method, path, body in [("POST", "/incidents", incident), ("GET", "/incidents", None),
                               ("GET", "/units", None)]:
        reply = client.request(method, path, json=body, headers=headers)
        assert reply.status_code == 403 and "unit key" in reply.json()["detail"], reply.text
    with city.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM units WHERE id = :u"),
                            {"u": other}).scalar() == "available"


def test_an_expired_key_is_refused_even_when_remembered(client, city):
    soon = datetime.now(timezone.utc) + timedelta(seconds=2)
    headers = unit_key(city, city.unit_ids[2], expires_at=soon)
    path = f"/units/{city.unit_ids[2]}/position"
    assert client.put(path, json=FIX, headers=headers).status_code == 200
    time.sleep(max(0.0, (soon - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    reply = client.put(path, json=FIX, headers=headers)
    assert reply.status_code == 401 and "unknown or revoked" in reply.json()["detail"]
    past = unit_key(city, city.unit_ids[2], expires_at=soon - timedelta(days=1))
    assert client.put(path, json=FIX, headers=past).status_code == 401


def test_keys_are_listed_and_revoked_from_the_command_line(client, city, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", city.url)
    unit_id = city.unit_ids[3]
    assert main(["keys", "create", "--role", "unit", "--unit", str(unit_id), "--name", "car 3",
                 "--expires-in-days", "30"]) == 0
    key = capsys.readouterr().out.strip()
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert key not in listed
    row = next(line.split("\t") for line in listed.splitlines() if "car 3" in line)
    assert row[1:4] == ["unit", "car 3", str(unit_id)] and row[5] != "-" and row[6] == "-"
    assert main(["keys", "revoke", row[0]]) == 0
    assert "revoked" in capsys.readouterr().out
    reply = client.put(f"/units/{unit_id}/position", json=FIX, headers={"X-API-Key": key})
    assert reply.status_code == 401
    assert main(["keys", "revoke", "999999"]) == 2
    assert "no API key 999999" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "unit"]) == 2
    assert main(["keys", "create", "--role", "unit", "--unit", "999999"]) == 2
    assert "no unit 999999" in capsys.readouterr().err
