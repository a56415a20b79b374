"""The city: grid areas, stations, patrol zones, hotspots and cached circles (EPSG:4326)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, Float,
                        ForeignKey, Integer, SmallInteger, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import (AREA_LEVELS, Base, HOTSPOT_CATEGORIES, SRID, STATION_KINDS, lonlat,
                                one_of, valid)


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
        CheckConstraint(one_of("level", AREA_LEVELS), name="level"),
        CheckConstraint(valid("geom"), name="geom_valid"),
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
        CheckConstraint(one_of("kind", STATION_KINDS), name="kind"),
        CheckConstraint("tier_minutes IN (1, 3, 5)", name="tier"),
        CheckConstraint(lonlat("geom"), name="geom_lonlat"),
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
    __table_args__ = (CheckConstraint(valid("geom"), name="geom_valid"),)


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
        CheckConstraint(one_of("category", HOTSPOT_CATEGORIES), name="category"),
        CheckConstraint(lonlat("geom"), name="geom_lonlat"),
        CheckConstraint(valid("patrol_area"), name="patrol_area_valid"),
        CheckConstraint(valid("patrol_line"), name="patrol_line_valid"),
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
