"""Closing an incident on the event loop (``zones.close_store``: one statement): its unit
becomes available again, and the close is audited as the caller's."""

from __future__ import annotations

from patrol.errors import Conflict, NotFound
from patrol.service import DispatchConfig, now, with_warning
from zones import close_store
from zones.audit import Actor
from zones.database import LoopPool


async def close_incident(pool: LoopPool, config: DispatchConfig, incident_id: int, *,
                         actor: Actor) -> dict:
    """Close an incident (audited as ``actor``'s); returns it as the API shows it. An unknown
    incident is :class:`NotFound`, one closed already a :class:`Conflict`."""
    async with pool.connection() as conn:
        incident, closed = await close_store.close(conn, incident_id, actor=actor)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if not closed:
        raise Conflict(f"incident {incident_id} is already closed")
    return with_warning(incident, config, now())
