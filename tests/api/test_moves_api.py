"""Move-up over HTTP on central Wuhan: live coverage and the moves after a dispatch against
coverage recomputed with networkx, busy units never moved, accept / decline / arrival, a
relocating unit still dispatched, and bad input."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

import patrol.moveup_loop
from api import create_app
from conftest import named_database
from patrol.moveup import RINGS, Cover, expected_coverage
from patrol.moveup_live import demand_of
from reference import times_between_snapped
from routing import snap_many
from routing.search import Weights
from settings import Settings
from tests_api_support import add_hotspot, available_lonlat, fresh_fixes, make_city
from zones import move_store

FLEET = 12


@pytest.fixture(scope="module")
def city(server_url, wuhan_central):
    with named_database(server_url, "test_api_moves") as url:
        built = make_city(url, wuhan_central.graph, fleet=FLEET)
        yield built
        built.engine.dispose()


@pytest.fixture(scope="module")
def client(city, wuhan_central):
    settings = Settings(**{"DATABASE_URL": city.url}, moveup_interval_s=0.2)
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as test_client:
        yield test_client


def nx_counts(graph, city, lonlat: list[tuple[float, float]]) -> tuple:
    """Per ring, how many of the units at ``lonlat`` reach each demand point, by networkx."""
    with city.engine.connect() as conn:
        rows = move_store.demand_rows(conn)
    demand, points = demand_of(graph, rows, snap_limit_m=500.0)
    rows_, cols, secs = [], [], []
    for i, (lon, lat) in enumerate(lonlat):
        origin = snap_many(graph, [lon], [lat], limit_m=500.0)
        t = times_between_snapped(graph, origin, points,
                                  weights=Weights.free_flow(graph).forward, cutoff=max(RINGS))
        hit = np.flatnonzero(np.isfinite(t))
        rows_.append(np.full(len(hit), i)), cols.append(hit), secs.append(t[hit])
    cover = Cover.of(np.concatenate(rows_), np.concatenate(cols), np.concatenate(secs),
                     n_rows=len(lonlat), n_demand=len(demand))
    return demand, {r: cover.counts(r) for r in RINGS}


def wait_for(predicate, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def act_on_proposed(client, headers, verb: str, *, tries: int = 20) -> tuple[dict, object]:
    """Accept or decline (``verb``) a proposed move, as a dispatcher clicking the list would:
    the loop refreshes the proposals every 0.2 s here, so the move clicked may have been
    superseded meanwhile (409 saying so); then the fresh list is taken. Returns the move and
    the answer."""
    for _ in range(tries):
        move = wait_for(lambda: [m for m in client.get("/moves", headers=headers).json()
                                 if m["status"] == "proposed"])[0]
        answer = client.post(f"/moves/{move['id']}/{verb}", headers=headers)
        if not (answer.status_code == 409 and "superseded" in answer.json()["detail"]):
            return move, answer
    raise AssertionError(f"every proposed move was superseded before it could be {verb}ed")


def audited(city, unit_id: int, action: str) -> list[str]:
    """The move ids of ``unit_id``'s audit rows of ``action``, oldest first."""
    with city.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT details->>'move_id' FROM audit_events WHERE unit_id = :u AND action = :a "
            "ORDER BY id"), {"u": unit_id, "a": action}).scalars())


def test_live_coverage_equals_networkx(client, city, wuhan_central):
    fresh_fixes(client, city)
    answer = client.get("/coverage/live", headers=city.headers("planner"))
    assert answer.status_code == 200, answer.text
    live = answer.json()
    units = available_lonlat(client, city)
    assert live["units"] == len(units)
    demand, counts = nx_counts(wuhan_central.graph, city, list(units.values()))
    h = demand.hotspot
    for r in RINGS:
        share = demand.weight[h & (counts[r] >= 1)].sum() / demand.weight[h].sum()
        assert live["coverage"]["hotspots"][str(r // 60)] == pytest.approx(share, abs=1e-4)
    assert live["hotspots_double_3"] == int((h & (demand.weight > 0) & (counts[180] >= 2)).sum())
    expected = expected_coverage(demand.objective_weight(), counts[180], live["busy_fraction"])
    assert live["coverage"]["expected"] == pytest.approx(expected, abs=1e-5)
    assert client.get("/coverage/live").status_code == 401


def test_moves_after_a_dispatch_gain_what_they_say(client, city, wuhan_central):
    fresh_fixes(client, city)
    units = available_lonlat(client, city)
    target_id = sorted(units)[0]
    lon, lat = units[target_id]
    made = client.post("/incidents", json={"lon": lon, "lat": lat, "category": "theft",
                                           "priority": 1}, headers=city.headers("dispatcher"))
    assert made.status_code == 201, made.text
    sent = made.json()["unit_id"]
    assert sent is not None
    assert "move_hint" in made.json()

    def fresh_moves():
        """The moves once they are of the fleet without the unit sent: the first of them starts
        from the coverage the live state has now."""
        live = client.get("/coverage/live", headers=city.headers("planner")).json()
        if live["units"] != FLEET - 1:
            return None
        moves = client.get("/moves", headers=city.headers("dispatcher")).json()
        proposed = [m for m in moves if m["status"] == "proposed"]
        first = [m for m in proposed if abs(m["coverage_before"]["expected"]
                                            - live["coverage"]["expected"]) < 1e-6]
        return (first[0], proposed) if first else None

    best, moves = wait_for(fresh_moves)
    left = available_lonlat(client, city)
    assert sent not in left
    assert all(m["unit_id"] != sent and m["unit_id"] in left
               and m["unit_status"] == "available" for m in moves)
    demand, before = nx_counts(wuhan_central.graph, city, list(left.values()))
    moved = {**left, best["unit_id"]: (best["lon"], best["lat"])}
    _, after = nx_counts(wuhan_central.graph, city, list(moved.values()))
    w, q = demand.objective_weight(), 0.3
    gain = expected_coverage(w, after[180], q) - expected_coverage(w, before[180], q)
    assert best["coverage_before"]["expected"] == pytest.approx(
        expected_coverage(w, before[180], q), abs=1e-5)
    assert best["gain"] == pytest.approx(gain, abs=1e-5)
    assert best["coverage_after"]["expected"] == pytest.approx(
        expected_coverage(w, after[180], q), abs=1e-5)
    client.post(f"/incidents/{made.json()['id']}/close", headers=city.headers("dispatcher"))


def test_the_tables_are_built_before_the_first_request(city, wuhan_central):
    """Built at start (seconds of CPU for a city), not beside the first alarms: here the loop's
    first refresh is an hour away."""
    settings = Settings(**{"DATABASE_URL": city.url}, moveup_interval_s=3600)
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as started:
        assert started.app.state.moveup.tables is not None


def test_a_hotspot_loaded_later_reaches_the_tables(client, city, wuhan_central, monkeypatch):
    """A planner's new hotspot counts in move-up (and the live coverage) once the loop reads
    the city again, without a restart, and a removed one stops counting; an unchanged city is
    not rebuilt. (The module's shared app reads the city too: it is left as it was.)"""
    monkeypatch.setattr(patrol.moveup_loop, "CITY_EVERY_S", 0.2)
    settings = Settings(**{"DATABASE_URL": city.url}, moveup_interval_s=0.2)
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as started:
        moveup = started.app.state.moveup
        assert moveup.rebuild_if_changed() is False
        hotspots = int(moveup.tables.demand.hotspot.sum())
        added = add_hotspot(city.engine, "test-later", 114.2745, 30.6050)
        try:
            wait_for(lambda: int(moveup.tables.demand.hotspot.sum()) == hotspots + 1,
                     timeout_s=30)
            live = started.get("/coverage/live", headers=city.headers("dispatcher")).json()
            assert live["hotspots"] == hotspots + 1
        finally:
            with city.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM hotspots WHERE id = :id"), {"id": added})
        for app in (started.app, client.app):
            wait_for(lambda: int(app.state.moveup.tables.demand.hotspot.sum()) == hotspots,
                     timeout_s=30)


def test_accept_decline_arrive_and_dispatch_while_relocating(client, city):
    fresh_fixes(client, city)
    headers = city.headers("dispatcher")
    first, accepted = act_on_proposed(client, headers, "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["unit_status"] == "relocating"
    assert accepted.json()["decided_by"].startswith("key ")
    assert audited(city, first["unit_id"], "move_accept") == [str(first["id"])]
    again = client.post(f"/moves/{first['id']}/accept", headers=headers)
    assert again.status_code == 409 and "accepted" in again.json()["detail"]
    assert client.post(f"/moves/{first['id']}/decline", headers=headers).status_code == 409
    assert client.post("/moves/2147483000/accept", headers=headers).status_code == 404
    assert client.post(f"/moves/{first['id']}/accept",
                       headers=city.headers("planner")).status_code == 403
    unit = first["unit_id"]
    assert client.put(f"/units/{unit}/status", json={"status": "relocating"},
                      headers=headers).status_code == 409
    # Arriving: a fix at the waiting point makes the unit available there.
    now = datetime.now(timezone.utc).isoformat()
    client.put(f"/units/{unit}/position", json={"lon": first["lon"], "lat": first["lat"],
                                                "timestamp": now}, headers=headers)
    wait_for(lambda: client.get(f"/units/{unit}", headers=headers).json()["status"]
             == "available")
    with city.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM moves WHERE id = :id"),
                            {"id": first["id"]}).scalar() == "arrived"
    assert audited(city, unit, "move_arrived") == [str(first["id"])]
    # A relocating unit can still be dispatched; its move is then interrupted.
    second, accepted = act_on_proposed(client, headers, "accept")
    assert accepted.status_code == 200, accepted.text
    mover = client.get(f"/units/{second['unit_id']}", headers=headers).json()
    made = client.post("/incidents", json={"lon": mover["lon"], "lat": mover["lat"],
                                           "category": "theft", "priority": 1}, headers=headers)
    assert made.json()["unit_id"] == second["unit_id"]
    with city.engine.connect() as conn:
        wait_for(lambda: conn.execute(sa.text("SELECT status FROM moves WHERE id = :id"),
                                      {"id": second["id"]}).scalar() == "interrupted")
    client.post(f"/incidents/{made.json()['id']}/close", headers=headers)


def test_declined_move_is_not_proposed_again(client, city):
    headers = city.headers("dispatcher")
    fresh_fixes(client, city)
    move, declined = act_on_proposed(client, headers, "decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert str(move["id"]) in audited(city, move["unit_id"], "move_decline")
    assert client.post(f"/moves/{move['id']}/accept", headers=headers).status_code == 409
    time.sleep(1.5)  # several refreshes
    again = [m for m in client.get("/moves", headers=headers).json()
             if m["status"] == "proposed" and m["unit_id"] == move["unit_id"]
             and (m["lon"], m["lat"]) == (move["lon"], move["lat"])]
    assert again == []


def test_rebalance_moves_gain_what_they_say_and_are_listed(client, city, wuhan_central):
    """The periodic rebalance (HiGHS) run once on the worker's fleet: only available units
    move, its first move's gain equals networkx's, and GET /moves lists its moves."""
    from patrol.moveup_loop import rebalance

    fresh_fixes(client, city)
    state = client.app.state
    moves = client.portal.call(rebalance, state.loop_pool, state.moveup.engine, state.config,
                               state.moveup)
    assert moves, "the rebalance proposed no move on the central Wuhan fleet"
    left = available_lonlat(client, city)
    assert all(m["unit_id"] in left for m in moves)
    demand, before = nx_counts(wuhan_central.graph, city, list(left.values()))
    first = moves[0]
    moved = {**left, first["unit_id"]: (first["lon"], first["lat"])}
    _, after = nx_counts(wuhan_central.graph, city, list(moved.values()))
    w, q = demand.objective_weight(), 0.3
    assert first["gain"] == pytest.approx(
        expected_coverage(w, after[180], q) - expected_coverage(w, before[180], q), abs=1e-5)
    listed = client.get("/moves", headers=city.headers("dispatcher")).json()
    rebalanced = {(m["unit_id"], m["site_id"]) for m in listed
                  if m["reason"] == "rebalance" and m["status"] == "proposed"}
    assert {(m["unit_id"], m["site_id"]) for m in moves} <= rebalanced
