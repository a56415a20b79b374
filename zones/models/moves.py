"""Recommended moves (move-up): which available unit should drive to which waiting point to keep
the 1/3/5-minute circles closed, and what the dispatchers made of the advice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index,
                        Integer, String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import MOVE_STATUSES, Base, one_of


class Move(Base):
    """One recommended move: the unit, the waiting point (a station or post, or the road node
    at a hotspot; WGS-84), the drive there (seconds), the gain in expected coverage and the
    coverage before and after (shares) as last worked out (``computed_at``), why it was made (``event``: after a change of the
    fleet, ``rebalance``: the periodic optimum) and what became of it. At most one accepted
    move per unit."""

    __tablename__ = "moves"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    site_kind: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(Integer)
    site_name: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    drive_seconds: Mapped[float] = mapped_column(Float)
    gain: Mapped[float] = mapped_column(Float)
    coverage_before: Mapped[dict] = mapped_column(JSONB)
    coverage_after: Mapped[dict] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'proposed'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(one_of("status", MOVE_STATUSES), name="status"),
        CheckConstraint("site_kind IN ('station', 'road_node')", name="site_kind"),
        CheckConstraint("reason IN ('event', 'rebalance')", name="reason"),
        Index("uq_moves_accepted_unit", "unit_id", unique=True,
              postgresql_where=text("status = 'accepted'")),
        Index("ix_moves_open", "status", postgresql_where=text(
            "status IN ('proposed', 'accepted')")),
    )
