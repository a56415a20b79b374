"""GPS tracks: every fix a unit reports (migration 0013)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, func, text
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import SRID, Base, lonlat


class TrackFix(Base):
    """One stored GPS fix of a unit (WGS-84): when it was taken (``at``), when it arrived, and
    whether it was a ``jump`` (reached from the last good fix only faster than the plausible
    speed: replayed, not matched). Duplicates and fixes going back in time are never stored.
    Keyed by (unit_id, at): a unit's track over a time range is one index range; a BRIN index
    on ``at`` serves the whole fleet over a time range."""

    __tablename__ = "track_fixes"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=False)
    jump: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    __table_args__ = (Index("ix_track_fixes_at", "at", postgresql_using="brin"),
                      CheckConstraint(lonlat("geom"), name="geom_lonlat"))
