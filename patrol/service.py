"""The dispatch service: rules from ``patrol``, drive times from ``routing``, SQL from ``zones``.
The HTTP layer only calls these. Here: the dispatcher's actions (override, arrive, close, unit
status) and reading incidents and units, each one database transaction; the alarm itself is
:mod:`patrol.alarms`, GPS fixes :mod:`patrol.positions`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from patrol import deadlines
from patrol.dispatch import DispatchPolicy, ring_of
from patrol.errors import Conflict, Invalid, NotFound
from patrol.fleet_cache import DISPATCHABLE, FleetCache
from routing import RoadGraph, snap_point, snap_points
from routing.search import rank
from zones import audit, incident_store, unit_store
from zones.audit import Actor
from zones.models import INCIDENT_STATUSES, UNIT_KINDS, UNIT_STATUSES


@dataclass(frozen=True)
class DispatchConfig:
    """Everything the service needs besides the database."""

    graph: RoadGraph
    policy: DispatchPolicy = DispatchPolicy()
    stale_after_s: float = 120.0
    snap_limit_m: float = 500.0
    deadlines_s: dict[int, int] = field(default_factory=lambda:
                                        dict(deadlines.DEFAULT_ARRIVAL_DEADLINE_S))
    fleet: FleetCache = field(default_factory=FleetCache)
    baseline: object | None = None  # a routing.baseline.NetworkxRanker: benchmark baseline only


def now() -> datetime:
    return datetime.now(timezone.utc)


def assign_unit(engine: sa.Engine, config: DispatchConfig, incident_id: int, unit_id: int, *,
                actor: Actor) -> dict:
    """A dispatcher's override: give ``unit_id`` to the incident (releasing any unit it had),
    audited as ``actor``'s. Locks the incident, then its current unit and the new one in the
    order of their ids, as every path does."""
    with _transaction(engine) as conn:
        status = _locked_incident(conn, incident_id)
        if status not in ("open", "dispatched"):
            raise Conflict(f"incident {incident_id} is {status}; only open or dispatched "
                           f"incidents can be assigned a unit")
        current = incident_store.unit_of_incident(conn, incident_id)
        statuses = unit_store.lock_units(conn, [unit_id] + ([current] if current else []))
        if unit_id not in statuses:
            raise NotFound(f"no unit {unit_id}")
        if current == unit_id:
            raise Conflict(f"unit {unit_id} is already assigned to incident {incident_id}")
        if statuses[unit_id] not in DISPATCHABLE:
            busy = unit_store.unit(conn, unit_id)["incident_id"]
            where = f" to incident {busy}" if busy else ""
            raise Conflict(f"unit {unit_id} is {statuses[unit_id]}{where}, not available")
        incident_store.release(conn, incident_id)
        eta = _eta(conn, config, incident_id, unit_id)
        incident_store.assign(conn, incident_id, unit_id=unit_id, eta_seconds=eta)
        incident_store.record_decision(conn, incident_id=incident_id,
                                       requested_by=actor.label, mode="override",
                                       chosen_unit_id=unit_id,
                                       reason="assigned by a dispatcher", candidates=[])
        audit.record(conn, actor, "override", incident_id=incident_id, unit_id=unit_id,
                     details={"released_unit_id": current, "eta_seconds": eta})
        return _incident_view(conn, config, incident_id)


def mark_arrived(engine: sa.Engine, config: DispatchConfig, incident_id: int, *,
                 actor: Actor) -> dict:
    """The assigned unit is on scene (audited as ``actor``'s)."""
    with _transaction(engine) as conn:
        status = _locked_incident(conn, incident_id)
        if status != "dispatched":
            raise Conflict(f"incident {incident_id} is {status}; only a dispatched incident can "
                           f"be marked arrived")
        incident_store.set_incident_status(conn, incident_id, status="arrived")
        unit_id = incident_store.unit_of_incident(conn, incident_id)
        if unit_id is not None:
            unit_store.set_unit_status(conn, unit_id, status="on_scene")
        audit.record(conn, actor, "arrive", incident_id=incident_id, unit_id=unit_id)
        return _incident_view(conn, config, incident_id)


@contextmanager
def _transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction in which a write the database refuses by one of the dispatch rules
    (``zones.incident_store.RULE_NAMES``: one active unit per incident and per unit, legal
    status changes, assignments to open incidents only) is a :class:`Conflict` saying why: the
    rules are checked here first, and the database catches what races past the checks."""
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.IntegrityError as error:
        diag = getattr(error.orig, "diag", None)
        if diag is None or diag.constraint_name not in incident_store.RULE_NAMES:
            raise
        raise Conflict(_refusal(diag.constraint_name, diag.message_primary)) from error


def _refusal(rule: str, message: str) -> str:
    """One sentence for a write the database refused by ``rule``."""
    if rule == "uq_assignments_active_unit":
        return "the unit was assigned to another incident at the same moment; try another unit"
    if rule == "uq_assignments_active_incident":
        return "the incident was given another unit at the same moment; reload it"
    return f"{message}; reload and try again"


def get_incident(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    with engine.connect() as conn:
        view = _incident_view(conn, config, incident_id)
        view["decisions"] = incident_store.decisions(conn, incident_id)
        return view


def list_incidents(engine: sa.Engine, config: DispatchConfig, *, status: str | None,
                   zone_id: int | None, since: datetime | None, until: datetime | None,
                   limit: int) -> list[dict]:
    if status is not None:
        check_choice("status", status, INCIDENT_STATUSES)
    with engine.connect() as conn:
        rows = incident_store.list_incidents(conn, status=status, zone_id=zone_id, since=since,
                                      until=until, limit=limit)
    moment = now()
    return [with_warning(row, config, moment) for row in rows]


def set_unit_status(engine: sa.Engine, unit_id: int, status: str, *, actor: Actor) -> dict:
    """Change a unit's status by hand (audited as ``actor``'s, unless it is unchanged).
    Dispatch owns "dispatched"; an assigned unit can only be en route or on scene until its
    incident is closed or reassigned."""
    check_choice("status", status, UNIT_STATUSES)
    with _transaction(engine) as conn:
        current = unit_store.lock_units(conn, [unit_id]).get(unit_id)
        if current is None:
            raise NotFound(f"no unit {unit_id}")
        incident_id = unit_store.unit(conn, unit_id)["incident_id"]
        if status == "dispatched":
            raise Conflict("units are dispatched by assigning them to an incident")
        if status == "relocating":
            raise Conflict("units relocate by accepting a recommended move (POST "
                           "/moves/{id}/accept)")
        if incident_id is not None and status in ("available", "off_duty"):
            raise Conflict(f"unit {unit_id} is assigned to incident {incident_id}; close or "
                           f"reassign the incident first")
        if incident_id is None and status in ("en_route", "on_scene"):
            raise Conflict(f"unit {unit_id} has no incident to be {status.replace('_', ' ')} to")
        unit_store.set_unit_status(conn, unit_id, status=status)
        if status != current:
            audit.record(conn, actor, "unit_status", incident_id=incident_id, unit_id=unit_id,
                         details={"from": current, "to": status})
        return unit_store.unit(conn, unit_id)


def read_audit(engine: sa.Engine, *, incident_id: int | None, unit_id: int | None,
               since: datetime | None, limit: int) -> list[dict]:
    """Audited changes and alarm decisions, newest first (see :func:`zones.audit.events`)."""
    with engine.connect() as conn:
        return audit.events(conn, incident_id=incident_id, unit_id=unit_id, since=since,
                            limit=limit)


def get_unit(engine: sa.Engine, unit_id: int) -> dict:
    with engine.connect() as conn:
        found = unit_store.unit(conn, unit_id)
    if found is None:
        raise NotFound(f"no unit {unit_id}")
    return found


def list_units(engine: sa.Engine, *, status: str | None, kind: str | None,
               near: tuple[float, float, float] | None, limit: int) -> list[dict]:
    if status is not None:
        check_choice("status", status, UNIT_STATUSES)
    if kind is not None:
        check_choice("unit kind", kind, UNIT_KINDS)
    with engine.connect() as conn:
        return unit_store.list_units(conn, status=status, kind=kind, near=near, limit=limit)


def _incident_view(conn: sa.Connection, config: DispatchConfig, incident_id: int) -> dict:
    row = incident_store.incident(conn, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return with_warning(row, config, now())


def with_warning(row: dict, config: DispatchConfig, moment: datetime) -> dict:
    """An incident's row with its arrival deadline (seconds), its blue/yellow/red warning at
    ``moment`` and the ring of its unit's ETA."""
    row = dict(row)
    row["deadline_seconds"] = deadlines.deadline_seconds(row["priority"], config.deadlines_s)
    row["warning"] = deadlines.warning(row["priority"], row["received_at"], moment, row["status"],
                                       config.deadlines_s)
    if row.get("eta_seconds") is not None:
        row["eta_ring"] = ring_of(row["eta_seconds"])
    return row


def _locked_incident(conn: sa.Connection, incident_id: int) -> str:
    status = incident_store.lock_incident(conn, incident_id)
    if status is None:
        raise NotFound(f"no incident {incident_id}")
    return status


def _eta(conn: sa.Connection, config: DispatchConfig, incident_id: int, unit_id: int
         ) -> float | None:
    """Drive time (seconds) of one unit to an incident, None when it cannot be placed."""
    row = incident_store.incident(conn, incident_id)
    unit = unit_store.unit(conn, unit_id)
    if unit["lon"] is None:
        return None
    target = snap_point(config.graph, row["road_lon"], row["road_lat"],
                        limit_m=config.snap_limit_m)
    (start,), _ = snap_points(config.graph, unit["lon"], unit["lat"], limit_m=config.snap_limit_m)
    if start is None:
        return None
    top = rank(config.graph, target, [start], k=1).top
    return top[0].seconds if top else None


def check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    """:class:`Invalid` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise Invalid(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
