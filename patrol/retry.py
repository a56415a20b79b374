"""Alarms left without a unit get one as soon as a unit is free.

A priority-1 alarm (any at or above the auto-dispatch level) that arrives while every unit of
its kind is busy is decided with no unit and stays open. Every API worker's reconciler loop
(``patrol.reconciler``) looks for such incidents every second and, when the worker's copy of the
fleet shows an available unit of their kind, decides each as its alarm would have, with the
fleet as it is now: the same plain decision (``patrol.dispatch.decide``) over the units ranked
by drive time, the same claim (``FOR NO KEY UPDATE SKIP LOCKED``, only while available), audited
as mode ``retry`` by the reconciler. The most urgent incident is served first, then the oldest;
nothing is recorded for an incident that still gets no unit. A round ranks the fleet only while
units of the incident's kind can be had (at most as often as units are claimed, plus once), so
waiting alarms cost the event loop nothing while every unit is busy.
"""

from __future__ import annotations

import psycopg

from patrol import alarms
from patrol.dispatch import decide
from patrol.service import DispatchConfig, now
from zones import alarm_store, retry_store
from zones.audit import RECONCILER
from zones.database import LoopPool

#: Incidents looked at per round.
WAITING_PER_ROUND = 20


async def dispatch_waiting(pool: LoopPool, config: DispatchConfig) -> list[tuple[int, int]]:
    """Give available units to the incidents waiting for one; returns (incident, unit) pairs
    dispatched here."""
    async with pool.connection() as conn:
        waiting = await retry_store.waiting_incidents(
            conn, level=config.policy.auto_dispatch_level, limit=WAITING_PER_ROUND)
        if not waiting:
            return []
        since = config.fleet.since
        changes = await alarm_store.fleet_changes(conn, since=since)
        dispatched, exhausted = [], set()
        for incident in waiting:
            if incident["unit_kind"] in exhausted:
                continue
            unit_id = await _retry(conn, config, incident, since=since, changes=changes)
            if unit_id is None:  # no unit of its kind to be had: none for the next either
                exhausted.add(incident["unit_kind"])
            else:
                dispatched.append((incident["id"], unit_id))
    return dispatched


async def _retry(conn: psycopg.AsyncConnection, config: DispatchConfig, incident: dict, *, since: int,
                 changes: dict) -> int | None:
    """Claim the fastest available unit for one waiting incident; None: none was claimed."""
    ranked = await alarms.rank_stored(conn, config, incident, since=since, changes=changes,
                                      at=now(), depth=alarms.CLAIM_DEPTH)
    if not ranked:
        return None
    ids = [c.unit_id for c in ranked]
    reasons = [decide(incident["priority"], [c], {c.unit_id}, config.policy).reason
               for c in ranked]  # with only c claimable, decide chooses c, as over [c]
    unit_id, _ = await retry_store.claim_for_waiting(
        conn, incident_id=incident["id"], unit_ids=ids, etas=[c.seconds for c in ranked],
        reasons=reasons, candidates=[c.as_dict() for c in ranked], actor=RECONCILER)
    return unit_id
