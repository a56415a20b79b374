"""The city model in PostGIS: areas, patrol zones, stations, units, hotspots, incidents, and the
must-patrol targets and patrol plans of the zones.

Geometries are stored in WGS-84 (EPSG:4326); distances and areas are computed in a metric CRS by
the queries. Every geometry column has a GiST index and a CHECK that the geometry is valid; kinds
and statuses are checked against fixed lists. Tables are created only by the alembic migrations
in ``zones/migrations``; a test checks that they and these models agree.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, Float,
                        ForeignKey, Index, Integer, MetaData, SmallInteger, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326

AREA_LEVELS = ("city", "district", "street", "community", "grid")
STATION_KINDS = ("police_station", "police_post", "sub_bureau", "city_unit",
                 "armed_patrol_point")
#: The response tier (minutes) each kind of station answers for by default.
DEFAULT_TIER_MINUTES = {"police_station": 1, "police_post": 1, "armed_patrol_point": 1,
                        "sub_bureau": 3, "city_unit": 5}
UNIT_KINDS = ("patrol_car", "motorcycle", "foot_patrol")
UNIT_STATUSES = ("available", "dispatched", "en_route", "on_scene", "off_duty")
HOTSPOT_CATEGORIES = ("school", "hospital", "mall", "metro_station", "transport_hub")
INCIDENT_STATUSES = ("open", "dispatched", "arrived", "closed")
ROLES = ("dispatcher", "planner", "admin", "unit")
#: How a decision was made: on arrival (auto-dispatch or recommendation), by a dispatcher, or
#: by the reconciler for an incident stored without its decision.
DECISION_MODES = ("auto", "override", "recommendation", "reconcile")
TARGET_KINDS = ("point", "line", "area")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _valid(column: str) -> str:
    return f"{column} IS NULL OR ST_IsValid({column})"


def _lonlat(column: str) -> str:
    return (f"{column} IS NULL OR (ST_X({column}) BETWEEN -180 AND 180 "
            f"AND ST_Y({column}) BETWEEN -90 AND 90)")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class Area(Base):
    """A polygon of the grid-management hierarchy: city → district → street → community → grid."""

    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    official: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        UniqueConstraint("level", "code"),
        CheckConstraint(_one_of("level", AREA_LEVELS), name="level"),
        CheckConstraint(_valid("geom"), name="geom_valid"),
    )


class Station(Base):
    """A police station, post, sub-bureau, city unit or armed patrol point."""

    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(Text)
    tier_minutes: Mapped[int] = mapped_column(SmallInteger)
    address: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    # Plain copies of the coordinates, kept by PostgreSQL: read for every incident.
    lon: Mapped[float | None] = mapped_column(Float, Computed("ST_X(geom)", persisted=True))
    lat: Mapped[float | None] = mapped_column(Float, Computed("ST_Y(geom)", persisted=True))
    __table_args__ = (
        CheckConstraint(_one_of("kind", STATION_KINDS), name="kind"),
        CheckConstraint("tier_minutes IN (1, 3, 5)", name="tier"),
        CheckConstraint(_lonlat("geom"), name="geom_lonlat"),
    )


class PatrolZone(Base):
    """A patrol zone (责任区) and the station responsible for it."""

    __tablename__ = "patrol_zones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"),
                                                   index=True)
    official: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (CheckConstraint(_valid("geom"), name="geom_valid"),)


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
        CheckConstraint(_one_of("kind", UNIT_KINDS), name="kind"),
        CheckConstraint(_one_of("status", UNIT_STATUSES), name="status"),
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
    __table_args__ = (CheckConstraint(_lonlat("position"), name="position_lonlat"),)


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


class Hotspot(Base):
    """A 三圈 hotspot (school, hospital, mall) or another guarded place, with optional
    must-patrol area or line."""

    __tablename__ = "hotspots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    merged_rows: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    patrol_area = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))
    patrol_line = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True))
    __table_args__ = (
        CheckConstraint(_one_of("category", HOTSPOT_CATEGORIES), name="category"),
        CheckConstraint(_lonlat("geom"), name="geom_lonlat"),
        CheckConstraint(_valid("patrol_area"), name="patrol_area_valid"),
        CheckConstraint(_valid("patrol_line"), name="patrol_line_valid"),
    )


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
    __table_args__ = (
        Index("uq_incidents_idempotency_key", "api_key_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
        Index("ix_incidents_undecided", "received_at",
              postgresql_where=text("decided_at IS NULL")),
        CheckConstraint(_one_of("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        CheckConstraint(_lonlat("geom"), name="geom_lonlat"),
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


class CachedCircle(Base):
    """A response circle polygon of a station or unit, valid for one compiled graph version."""

    __tablename__ = "cached_circles"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))
    seconds: Mapped[int] = mapped_column(Integer)
    graph_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "direction", "seconds", "graph_version"),
        CheckConstraint("owner_kind IN ('station', 'unit')", name="owner_kind"),
        CheckConstraint("direction IN ('depart', 'arrive')", name="direction"),
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
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),
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
    __table_args__ = (CheckConstraint(_one_of("mode", DECISION_MODES), name="mode"),)


_TARGET_SHAPE = ("(kind = 'point' AND GeometryType(geom) = 'POINT') OR "
                 "(kind = 'line' AND GeometryType(geom) = 'LINESTRING') OR "
                 "(kind = 'area' AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON'))")


class PatrolTarget(Base):
    """A must-patrol point, line or area (必巡点/线/区) of a patrol zone: a place to stop at, a
    street to drive along (both ways unless ``two_way`` is false, then in the line's drawing
    order) or an area to drive through; ``dwell_s`` seconds spent there, ``weight`` its worth
    when not every target can be patrolled."""

    __tablename__ = "patrol_targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("patrol_zones.id", ondelete="CASCADE"),
                                         index=True)
    source_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    dwell_s: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    weight: Mapped[float] = mapped_column(Float, server_default=text("1"))
    two_way: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    hotspot_id: Mapped[int | None] = mapped_column(ForeignKey("hotspots.id", ondelete="SET NULL"))
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        UniqueConstraint("zone_id", "source_key"),
        CheckConstraint(_one_of("kind", TARGET_KINDS), name="kind"),
        CheckConstraint("dwell_s >= 0", name="dwell"),
        CheckConstraint("weight > 0", name="weight"),
        CheckConstraint(_TARGET_SHAPE, name="geom_kind"),
        CheckConstraint("ST_IsValid(geom) AND ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 "
                        "AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90", name="geom_valid"),
    )


class PatrolPlan(Base):
    """The stored patrol plan of a zone: loops of at most ``loop_seconds``, computed on one
    compiled graph version; targets no loop could include are kept with the reason."""

    __tablename__ = "patrol_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("patrol_zones.id", ondelete="CASCADE"),
                                         unique=True)
    loop_seconds: Mapped[int] = mapped_column(Integer)
    units_limit: Mapped[int | None] = mapped_column(Integer)
    graph_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    unreachable = mapped_column(JSONB, nullable=False)
    left_out = mapped_column(JSONB, nullable=False)
    __table_args__ = (CheckConstraint("loop_seconds > 0", name="loop_seconds"),)


class PatrolLoop(Base):
    """One closed loop of a plan, from the zone's station and back, and the unit that drives it
    (a unit drives at most one loop)."""

    __tablename__ = "patrol_loops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plans.id", ondelete="CASCADE"))
    loop: Mapped[int] = mapped_column(SmallInteger)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    duration_s: Mapped[float] = mapped_column(Float)
    stops = mapped_column(JSONB, nullable=False)
    geom = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        UniqueConstraint("plan_id", "loop"),
        Index("uq_patrol_loops_unit", "unit_id", unique=True,
              postgresql_where=text("unit_id IS NOT NULL")),
        CheckConstraint("loop >= 1", name="loop"),
    )
