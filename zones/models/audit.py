"""The audit of state changes (migration 0009): who changed what, and when. The service's
database role may only read and add rows (no UPDATE, DELETE or TRUNCATE)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zones.models.base import Base


class AuditEvent(Base):
    """One state change: ``actor`` (an API key's label, ``reconciler`` or ``system``), its key,
    ``action`` (arrive, close, unit_status, override, reconcile, retry...), the incident and
    unit concerned (neither can be deleted while audited: no cascade) and ``details``."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                         index=True)
    actor: Mapped[str] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    action: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    details = mapped_column(JSONB, server_default=text("'{}'::jsonb"), nullable=False)
