"""Patrol plans: the zones' must-patrol targets (points, lines, areas) and their stored loops."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (Boolean, CheckConstraint, DateTime, Float,
                        ForeignKey, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import Base, SRID, TARGET_KINDS, one_of


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
        CheckConstraint(one_of("kind", TARGET_KINDS), name="kind"),
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
