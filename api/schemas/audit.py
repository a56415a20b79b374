"""The audit as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class AuditEvent(BaseModel):
    """One audited change (``source`` audit) or alarm decision (``source`` decision: actions
    dispatch and recommend): who (the API key's label and id, or reconciler/system), when,
    what, and the incident and unit concerned."""

    source: Literal["audit", "decision"]
    id: int
    at: datetime
    actor: str
    api_key_id: int | None
    action: str
    incident_id: int | None
    unit_id: int | None
    details: dict[str, Any]
