"""The audit: who changed what, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Dispatcher, EngineDep
from api.errors import errors
from api.inputs import INT32_MAX, Moment
from api.schemas.audit import AuditEvent
from patrol import service

router = APIRouter(prefix="/audit", tags=["audit"], responses=errors(401, 403, 422, 503))


@router.get("", response_model=list[AuditEvent])
def read_audit(engine: EngineDep, caller: Dispatcher,
               incident_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
               unit_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
               since: Moment | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Audited changes (arrive, close, unit_status, override, reconcile, retry...) and the
    alarms' decisions, newest first; by incident, unit and time (at or after ``since``)."""
    return service.read_audit(engine, incident_id=incident_id, unit_id=unit_id, since=since,
                              limit=limit)
