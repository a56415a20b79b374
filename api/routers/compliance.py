"""Patrol compliance (见警率) of a zone: were its must-patrol targets visited in every
15-minute window of a time range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConfigDep, EngineDep, Reader
from api.errors import errors
from api.inputs import IdPath, Moment
from api.schemas.compliance import CompliancePublic
from patrol.compliance_run import run_compliance

router = APIRouter(tags=["patrol plans"], responses=errors(401, 403, 422, 503))

#: The longest range one request may ask for (hours); longer reports: ``patrol compliance``.
MAX_HOURS = 24.0


@router.get("/zones/{zone_id}/compliance", response_model=CompliancePublic,
            response_model_by_alias=True, responses=errors(404))
def read_compliance(zone_id: IdPath, engine: EngineDep, config: ConfigDep, caller: Reader,
                    start: Annotated[Moment, Query(alias="from", description=(
                        "start, RFC 3339 with its zone, e.g. 2026-12-01T08:00:00+08:00; "
                        "widened to a whole 15-minute window"))],
                    end: Annotated[Moment, Query(alias="to", description=(
                        f"end, RFC 3339 with its zone; at most {MAX_HOURS:g} hours after "
                        f"from"))]) -> dict:
    """For every must-patrol target of the zone and every 15-minute window from ``from`` to
    ``to``: visited or not (a unit's matched track stayed within the visit distance of a point,
    drove along a line or entered an area, for at least the target's dwell), the first visit
    and its unit, the longest stay; and the visit rates (见警率) per target, for the zone and
    per shift. Planners and dispatchers."""
    run = run_compliance(engine, config.graph, zone_id=zone_id, start=start, end=end,
                         max_hours=MAX_HOURS, snap_limit_m=config.snap_limit_m)
    return run.zone_json(zone_id)
