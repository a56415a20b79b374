"""Recommended moves for dispatchers: the list, accepting one (its unit relocates to the waiting
point, and can still be dispatched on the way) and declining one, each audited; and what an API
worker stores after working moves out (``patrol.moveup_live``)."""

from __future__ import annotations

import sqlalchemy as sa

from patrol.errors import Conflict, NotFound
from zones import audit, move_store, unit_store
from zones.audit import Actor

#: A declined move is not proposed again for this long (seconds).
DECLINE_MEMORY_S = 900.0
#: A relocating unit whose fix is this close to its waiting point (metres) has arrived.
ARRIVAL_RADIUS_M = 60.0


def list_moves(engine: sa.Engine) -> list[dict]:
    """The proposed moves (best first) and the accepted ones under way."""
    with engine.connect() as conn:
        return move_store.open_moves(conn)


def accept_move(engine: sa.Engine, move_id: int, *, actor: Actor) -> dict:
    """Accept a proposed move: its unit, if still available, gets the status ``relocating``
    and the waiting point as its target. Locks the move, then its unit."""
    with engine.begin() as conn:
        status, unit_id = _proposed(conn, move_id, "accepted")
        current = unit_store.lock_units(conn, [unit_id]).get(unit_id)
        if current != "available":
            raise Conflict(f"unit {unit_id} of move {move_id} is {current}, not available: "
                           f"the move can no longer be accepted")
        unit_store.set_unit_status(conn, unit_id, status="relocating")
        move_store.decide(conn, move_id, status="accepted", by=actor.label)
        found = move_store.move(conn, move_id)
        audit.record(conn, actor, "move_accept", unit_id=unit_id, details=_details(found))
        return found


def decline_move(engine: sa.Engine, move_id: int, *, actor: Actor) -> dict:
    """Decline a proposed move: it is not proposed again for a while."""
    with engine.begin() as conn:
        _, unit_id = _proposed(conn, move_id, "declined")
        move_store.decide(conn, move_id, status="declined", by=actor.label)
        found = move_store.move(conn, move_id)
        audit.record(conn, actor, "move_decline", unit_id=unit_id, details=_details(found))
        return found


def store_advice(engine: sa.Engine, moves: list[dict], *, reason: str = "event"
                 ) -> tuple[dict[int, tuple[float, float]], list[tuple]]:
    """Settle relocations (arrivals by fix or by status, interruptions), audited, and make
    ``moves`` the proposed moves of ``reason``. Returns the accepted moves' targets (unit →
    lon, lat) and the recently declined moves (unit, lon, lat, when in Unix seconds)."""
    with engine.begin() as conn:
        for move_id, unit_id, status in move_store.settle_relocations(
                conn, radius_m=ARRIVAL_RADIUS_M):
            audit.record(conn, audit.SYSTEM, f"move_{status}", unit_id=unit_id,
                         details={"move_id": move_id})
        move_store.replace_proposed(conn, moves, reason=reason,
                                    decline_memory_s=DECLINE_MEMORY_S)
        return (move_store.accepted_targets(conn),
                move_store.declined_recently(conn, within_s=DECLINE_MEMORY_S))


def _proposed(conn: sa.Connection, move_id: int, verb: str) -> tuple[str, int]:
    found = move_store.lock_move(conn, move_id)
    if found is None:
        raise NotFound(f"no move {move_id}")
    status, unit_id = found
    if status != "proposed":
        raise Conflict(f"move {move_id} is {status}; only a proposed move can be {verb}")
    return status, unit_id


def _details(move: dict) -> dict:
    return {"move_id": move["id"], "site_kind": move["site_kind"], "site_id": move["site_id"],
            "lon": move["lon"], "lat": move["lat"], "drive_seconds": move["drive_seconds"],
            "gain": move["gain"]}

