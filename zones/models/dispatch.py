"""Dispatch: units and their last fixes, legal status changes, incidents, assignments, API keys and
the audit of dispatch decisions."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, Float,
                        ForeignKey, Index, Integer, SmallInteger, String, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import (Base, DECISION_MODES, INCIDENT_STATUSES, ROLES, SRID, UNIT_KINDS,
                                UNIT_STATUSES, lonlat, one_of)


class Unit(Base):
    """A patrol car, motorcycle or foot patrol, its home station and status. Its last GPS fix
    is a row of its own (:class:`UnitPosition`): writing fixes never locks the unit's row, which
    is what a claim for an alarm locks."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callsign: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    home_station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'available'"))
    simulated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The change feed API workers read (migration 0004): stamped by a trigger on every write.
    revision: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('units_revision_seq')"))
    changed_xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint"), index=True)
    __table_args__ = (
        CheckConstraint(one_of("kind", UNIT_KINDS), name="kind"),
        CheckConstraint(one_of("status", UNIT_STATUSES), name="status"),
    )


class UnitPosition(Base):
    """A unit's last GPS fix (WGS-84) and when it was taken; stamped for the change feed as
    units are (``revision`` from the same sequence, ``changed_xid``)."""

    __tablename__ = "unit_positions"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    position = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    position_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Plain copies of the position, kept by PostgreSQL: read for every incident.
    lon: Mapped[float | None] = mapped_column(Float, Computed("ST_X(position)", persisted=True))
    lat: Mapped[float | None] = mapped_column(Float, Computed("ST_Y(position)", persisted=True))
    revision: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('units_revision_seq')"))
    changed_xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint"), index=True)
    __table_args__ = (CheckConstraint(lonlat("position"), name="position_lonlat"),)


class StatusTransition(Base):
    """A status change the database allows (``entity``: incident or unit); triggers refuse
    every other (migration 0005)."""

    __tablename__ = "status_transitions"
    entity: Mapped[str] = mapped_column(String(16), primary_key=True)
    from_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    to_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    __table_args__ = (CheckConstraint("entity IN ('incident', 'unit')", name="entity"),)


class FleetEpoch(Base):
    """One row whose ``epoch`` changes (to a random value) whenever units are deleted or stations
    change: API workers holding the fleet in memory then read it whole again."""

    __tablename__ = "fleet_epoch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(random() * 9.2e18)::bigint"))
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class Incident(Base):
    """An incident (警情): where, what, and every timestamp of its life."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"), index=True)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    road_geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    input_crs: Mapped[str] = mapped_column(String(8), server_default=text("'wgs84'"))
    unit_kind: Mapped[str] = mapped_column(String(16), server_default=text("'patrol_car'"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_zones.id", ondelete="SET NULL"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now(), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its first decision was recorded (None: stored, not yet decided; the reconciler
    # decides incidents left so).
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who reported it, and the client's Idempotency-Key with a digest of what it sent: a
    # retry with the same key gets this incident back instead of a second one.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id",
                                                              ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    # The change feed the dispatch consoles read (migration 0012): stamped on every write.
    changed_xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint"), index=True)
    __table_args__ = (
        Index("uq_incidents_idempotency_key", "api_key_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
        Index("ix_incidents_undecided", "received_at",
              postgresql_where=text("decided_at IS NULL")),
        CheckConstraint(one_of("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        CheckConstraint(lonlat("geom"), name="geom_lonlat"),
    )


class Assignment(Base):
    """A unit sent to an incident. A unit has at most one active (unreleased) assignment, and
    so has an incident; a trigger refuses one for an incident that is not open or dispatched."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        Index("uq_assignments_active_unit", "unit_id", unique=True,
              postgresql_where=text("released_at IS NULL")),
        Index("uq_assignments_active_incident", "incident_id", unique=True,
              postgresql_where=text("released_at IS NULL")),
    )


class ApiKey(Base):
    """An API key (stored as its SHA-256 hash), the role it grants, and for a ``unit`` key (an
    in-car terminal's) the unit it reports for."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),
                      CheckConstraint("(role = 'unit') = (unit_id IS NOT NULL)",
                                      name="unit_key"))


class DispatchDecision(Base):
    """The audit of one dispatch decision: who asked, the candidates, what was chosen and why."""

    __tablename__ = "dispatch_decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # no cascade: an incident with decisions cannot be deleted, its audit stays
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    requested_by: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    chosen_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    candidates = mapped_column(JSONB, nullable=False)
    __table_args__ = (CheckConstraint(one_of("mode", DECISION_MODES), name="mode"),)
