"""Incidents: the alarm, their list and lifecycle, and a dispatcher's override."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from api.deps import ConfigDep, Dispatcher, EngineDep, LoopPoolDep, MoveUpDep, Reader
from api.encoding import encoded
from api.errors import errors
from api.inputs import INT32_MAX, IdPath, Moment
from api.schemas.incidents import (AssignUnit, IncidentCreate, IncidentCreated, IncidentDetail,
                                   IncidentPublic, IncidentStatusChoice)
from patrol import alarms, closing, service

router = APIRouter(prefix="/incidents", tags=["incidents"],
                   responses=errors(401, 403, 422, 503))
BODY_ERRORS = errors(400, 413)
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="a unique string per incident (e.g. a UUID): a retry with the same key and "
                "body gets the incident the first request stored, not a second one")]


@router.post("", status_code=201, response_model=IncidentCreated,
             responses={**BODY_ERRORS, **errors(409)})
async def create_incident(body: IncidentCreate, pool: LoopPoolDep, config: ConfigDep,
                          moveup: MoveUpDep, caller: Dispatcher,
                          idempotency_key: IdempotencyKey = None) -> Response:
    """Receive an incident: locate its grid, zone and station, rank units by drive time, and
    dispatch the fastest (priority at or above the auto-dispatch level) or recommend it.
    A 503 after the incident was stored says so and gives its ``incident_id``: it stays open and
    is decided within seconds. A retry with the same Idempotency-Key gets that incident
    (``replayed``, header Idempotent-Replayed), decided then if it was not; the same key with
    another body is a 409."""
    view = await alarms.receive_incident(pool, config, requested_by=caller.label,
                                         api_key_id=caller.key_id,
                                         idempotency_key=idempotency_key, **body.model_dump())
    view["move_hint"] = moveup.hint(view.get("unit_id"))  # a look-up: worked out beforehand
    reply = encoded(view, 201)  # pre-encoded: the alarm path skips validating its own reply
    if view["replayed"]:
        reply.headers["Idempotent-Replayed"] = "true"
    return reply


@router.get("", response_model=list[IncidentPublic])
def read_incidents(engine: EngineDep, config: ConfigDep, caller: Reader,
                   status: IncidentStatusChoice | None = None,
                   zone_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
                   since: Moment | None = None, until: Moment | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Incidents, newest first; by status, patrol zone and receipt time [since, until)."""
    return service.list_incidents(engine, config, status=status, zone_id=zone_id, since=since,
                                  until=until, limit=limit)


@router.get("/{incident_id}", response_model=IncidentDetail, responses=errors(404))
def read_incident(incident_id: IdPath, engine: EngineDep, config: ConfigDep,
                  caller: Reader) -> dict:
    """One incident with its audited decisions."""
    return service.get_incident(engine, config, incident_id)


@router.post("/{incident_id}/assign", response_model=IncidentPublic,
             responses={**errors(404, 409), **BODY_ERRORS})
def assign_incident(incident_id: IdPath, body: AssignUnit, engine: EngineDep,
                    config: ConfigDep, caller: Dispatcher) -> dict:
    """Give an available unit to an open or dispatched incident (releasing any it had)."""
    return service.assign_unit(engine, config, incident_id, body.unit_id,
                               actor=caller.actor)


@router.post("/{incident_id}/arrive", response_model=IncidentPublic, responses=errors(404, 409))
def arrive_incident(incident_id: IdPath, engine: EngineDep, config: ConfigDep,
                    caller: Dispatcher) -> dict:
    """The assigned unit is on scene."""
    return service.mark_arrived(engine, config, incident_id, actor=caller.actor)


@router.post("/{incident_id}/close", response_model=IncidentPublic, responses=errors(404, 409))
async def close_incident(incident_id: IdPath, pool: LoopPoolDep, config: ConfigDep,
                         caller: Dispatcher) -> dict:
    """Close an incident; its unit becomes available again."""
    return await closing.close_incident(pool, config, incident_id, actor=caller.actor)
