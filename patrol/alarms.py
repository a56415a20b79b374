"""The alarm: store an incident, rank the fleet by drive time to it, and decide (dispatch the
fastest claimable unit, or recommend one), on the event loop in two database round trips; and
the same decision for incidents stored without one (a retry with the same Idempotency-Key, the
reconciler)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime

import numpy as np
import psycopg

from patrol.dispatch import Candidate, Decision, decide
from patrol.errors import Conflict, NotFound, StoredButNotDispatched
from patrol.fleet import UnitPositions
from patrol.service import DispatchConfig, check_choice, now, with_warning
from routing import Snap, Snapped, parse_coord_system, snap_point, to_wgs84
from routing.search import Ranking, rank
from zones import alarm_store, audit
from zones.audit import RECONCILER
from zones.database import LoopPool
from zones.models import UNIT_KINDS

#: How many ranked units a claim may walk through when nearer ones are being claimed at once.
CLAIM_DEPTH = 25

log = logging.getLogger(__name__)


async def receive_incident(pool: LoopPool, config: DispatchConfig, *, lon: float,
                           lat: float, crs: str, category: str, priority: int,
                           description: str | None, unit_kind: str,
                           requested_by: str | None, api_key_id: int | None = None,
                           idempotency_key: str | None = None) -> dict:
    """Store an incident, rank the available units by drive time to it, and dispatch the fastest
    (or recommend it, below the auto-dispatch level). Returns the incident as the API shows it,
    with ``replayed``: whether it was stored by an earlier request with the same
    ``idempotency_key`` from the same ``api_key_id`` (then nothing new is stored, and an
    incident still undecided is decided now).

    Runs on the event loop, in two round trips: the incident is stored (and from then on kept,
    whatever happens next) with the fleet's changes read; after the ranking, the decision is
    recorded, for a dispatch together with the claim and the assignment of the unit. Any
    failure after the incident is stored is :class:`StoredButNotDispatched`; the reconciler
    decides the incident a few seconds later."""
    check_choice("unit kind", unit_kind, UNIT_KINDS)
    lon_w, lat_w = (float(v) for v in to_wgs84(lon, lat, crs))
    snap = snap_point(config.graph, lon_w, lat_w, limit_m=config.snap_limit_m)
    road_lon, road_lat = snap.lonlat(config.graph)
    request = dict(category=category, priority=priority, description=description, lon=lon_w,
                   lat=lat_w, road_lon=road_lon, road_lat=road_lat,
                   input_crs=parse_coord_system(crs).value, unit_kind=unit_kind)
    digest = _digest(request) if idempotency_key is not None else None
    since = config.fleet.since
    async with pool.connection() as conn:
        row, changes = await alarm_store.receive(
            conn, since=since, api_key_id=api_key_id, idempotency_key=idempotency_key,
            request_digest=digest, **request)
        if row is None:
            return await _retried(conn, config, api_key_id=api_key_id,
                                  idempotency_key=idempotency_key, digest=digest,
                                  requested_by=requested_by)
        try:
            outcome = await _decide_stored(conn, config, row, since=since, changes=changes,
                                           at=row["received_at"], requested_by=requested_by,
                                           target=snap)
            if outcome is None:  # decided meanwhile by a retry or the reconciler
                return {**await _stored_view(conn, config, row["id"]), "replayed": False}
        except Exception as error:
            if not isinstance(error, psycopg.OperationalError):
                log.exception("incident %s was stored but not decided", row["id"])
            raise StoredButNotDispatched(row["id"]) from error
    decision, ranking, ranked = outcome
    view = with_warning(row, config, now())
    view["candidates"] = [c.as_dict() for c in ranked[:config.policy.candidates]]
    view["decision"] = {"mode": decision.mode, "reason": decision.reason,
                        "unit_id": decision.chosen.unit_id if decision.chosen else None}
    chosen = decision.chosen if decision.mode == "auto" else None
    if chosen is not None and ranking is not None:
        index = next(r.index for r, c in zip(ranking.top, ranked) if c.unit_id == chosen.unit_id)
        view["route"] = _route_feature(ranking.route(index), chosen)
    view["replayed"] = False
    return view


async def decide_undecided(pool: LoopPool, config: DispatchConfig, *, older_than_s: float,
                           requested_by: str = "reconciler") -> list[int]:
    """Decide the open incidents stored more than ``older_than_s`` seconds ago without a
    decision (their alarm failed after storing them, or its process died), as their alarm
    would have, audited with mode ``reconcile`` and by an audit row in the same transaction.
    Returns the ids decided here."""
    decided = []
    async with pool.connection() as conn:
        for incident in await alarm_store.undecided_incidents(conn, older_than_s=older_than_s):
            async with conn.transaction():
                if await _decide_later(conn, config, incident, requested_by=requested_by,
                                       audit_mode="reconcile"):
                    await audit.record_async(conn, RECONCILER, "reconcile",
                                             incident_id=incident["id"],
                                             unit_id=incident.get("unit_id"))
                    decided.append(incident["id"])
    return decided


async def _decide_later(conn: psycopg.AsyncConnection, config: DispatchConfig, incident: dict,
                        *, requested_by: str | None, audit_mode: str | None = None) -> bool:
    """Decide an incident stored earlier, with the fleet as it is now; False: it was decided
    elsewhere meanwhile, or is no longer open."""
    since = config.fleet.since
    changes = await alarm_store.fleet_changes(conn, since=since)
    outcome = await _decide_stored(conn, config, incident, since=since, changes=changes,
                                   at=now(), requested_by=requested_by, audit_mode=audit_mode)
    return outcome is not None


async def rank_stored(conn: psycopg.AsyncConnection, config: DispatchConfig, incident: dict,
                      *, since: int, changes: dict, at: datetime, depth: int
                      ) -> list[Candidate]:
    """The ``depth`` available units of a stored incident's kind ({unit_kind, road_lon,
    road_lat}) nearest to it by drive time, placed as at ``at``, from the worker's copy of the
    fleet brought up to date with ``changes`` (read from the horizon ``since``); no ranking
    when none is available."""
    positions, unit_snaps = await _available_units(conn, config, since, changes,
                                                   incident["unit_kind"], at)
    if not len(positions.unit_id):
        return []
    target = snap_point(config.graph, incident["road_lon"], incident["road_lat"],
                        limit_m=config.snap_limit_m)
    return _ranked(config, target, positions, unit_snaps, depth)[1]


async def _retried(conn: psycopg.AsyncConnection, config: DispatchConfig, *,
                   api_key_id: int | None, idempotency_key: str, digest: str,
                   requested_by: str | None) -> dict:
    """The answer to a retry: the incident stored by the first request with this key, decided
    now if it has not been (the first request failed, or is still deciding: one of them
    decides)."""
    found = await alarm_store.incident_by_idempotency_key(
        conn, api_key_id=api_key_id, idempotency_key=idempotency_key)
    if found is None:  # the first request's incident was deleted
        raise Conflict(f"Idempotency-Key {idempotency_key!r} was used before, for an incident "
                       f"that no longer exists; send a new key")
    incident_id, first_digest, decided = found
    if first_digest != digest:
        raise Conflict(f"Idempotency-Key {idempotency_key!r} was used for a different incident "
                       f"(incident {incident_id}); send a new key for a new incident")
    if not decided:
        incident = await alarm_store.incident_to_decide(conn, incident_id)
        if incident is not None:
            await _decide_later(conn, config, incident, requested_by=requested_by)
    return {**await _stored_view(conn, config, incident_id), "replayed": True}


async def _stored_view(conn: psycopg.AsyncConnection, config: DispatchConfig,
                       incident_id: int) -> dict:
    """An incident as stored, with its first decision as the alarm's answer showed it."""
    row, first = await alarm_store.incident_with_decision(conn, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    view = with_warning(row, config, now())
    view["candidates"] = (first["candidates"] if first else [])[:config.policy.candidates]
    view["decision"] = ({"mode": first["mode"], "reason": first["reason"],
                         "unit_id": first["chosen_unit_id"]} if first else None)
    return view


async def _decide_stored(conn: psycopg.AsyncConnection, config: DispatchConfig, incident: dict,
                         *, since: int, changes: dict, at: datetime, requested_by: str | None,
                         audit_mode: str | None = None, target: Snap | None = None
                         ) -> tuple[Decision, Ranking | None, list[Candidate]] | None:
    """Rank the units of the incident's kind for a stored incident ({id, priority, unit_kind,
    road_lon, road_lat}; placed as at ``at``) and record the decision (audited as
    ``audit_mode``, else as the decision's own mode; ``target``: its road position, when
    known). None: it was decided elsewhere, or is no longer open. ``incident`` is updated with
    the assignment."""
    auto = incident["priority"] <= config.policy.auto_dispatch_level
    if target is None:
        target = snap_point(config.graph, incident["road_lon"], incident["road_lat"],
                            limit_m=config.snap_limit_m)
    positions, unit_snaps = await _available_units(conn, config, since, changes,
                                                   incident["unit_kind"], at)
    # A recommendation shows the top few; a dispatch ranks deeper, for failed claims.
    depth = max(config.policy.candidates, CLAIM_DEPTH) if auto else config.policy.candidates
    ranking, ranked = _ranked(config, target, positions, unit_snaps, depth)
    # Farther units may be free when every ranked one is being claimed by other alarms (near
    # the end of the free fleet): then nothing is recorded, and all of them are ranked.
    last = not auto or len(ranked) < depth or len(positions.unit_id) <= depth
    decision = await _decide_and_record(conn, config, incident, ranked, requested_by,
                                        audit_mode, last=last)
    if decision is _NONE_CLAIMED:
        ranking, ranked = _ranked(config, target, positions, unit_snaps, len(positions.unit_id))
        decision = await _decide_and_record(conn, config, incident, ranked, requested_by,
                                            audit_mode)
    return None if decision is None else (decision, ranking, ranked)


#: :func:`_decide_and_record`'s answer when no ranked unit could be claimed and nothing was
#: recorded (it was not the ``last`` try).
_NONE_CLAIMED = Decision("auto", None, "none of the ranked units could be claimed")


async def _decide_and_record(conn: psycopg.AsyncConnection, config: DispatchConfig, row: dict,
                             ranked: list[Candidate], requested_by: str | None,
                             audit_mode: str | None, *, last: bool = True
                             ) -> Decision | None:
    """Decide and audit; a dispatch claims and assigns its unit in the same statement, which
    picks, by the claim's outcome, among the decisions worked out beforehand for each unit
    that could be claimed. ``row`` (the incident's view) is updated with the assignment. None:
    the incident was decided elsewhere or is no longer open; nothing was recorded. Unless this
    is the ``last`` try, a dispatch that can claim none of ``ranked`` records nothing and
    returns :data:`_NONE_CLAIMED`."""
    policy, ids, priority = config.policy, [c.unit_id for c in ranked], row["priority"]
    candidates = [c.as_dict() for c in ranked]
    if priority > policy.auto_dispatch_level or not ranked:
        decision = decide(priority, ranked, set(ids), policy)
        recorded = await alarm_store.record_recommendation(
            conn, incident_id=row["id"], requested_by=requested_by,
            mode=audit_mode or decision.mode,
            chosen_unit_id=decision.chosen.unit_id if decision.chosen else None,
            reason=decision.reason, candidates=candidates)
        return decision if recorded else None
    # With only c claimable, decide over ranked chooses c, as over [c] (linear, not quadratic).
    if_claimed = [decide(priority, [c], {c.unit_id}, policy) for c in ranked]
    if_none = decide(priority, ranked, set(), policy)
    decided, unit_id, dispatched_at = await alarm_store.dispatch_first_claimable(
        conn, incident_id=row["id"], unit_ids=ids, etas=[c.seconds for c in ranked],
        reasons=[d.reason for d in if_claimed], reason_if_none=if_none.reason,
        requested_by=requested_by, candidates=candidates, mode=audit_mode or "auto",
        record_none=last)
    if not decided:
        return None
    if unit_id is None:
        return if_none if last else _NONE_CLAIMED
    decision = if_claimed[ids.index(unit_id)]
    row.update(status="dispatched", dispatched_at=dispatched_at, unit_id=unit_id,
               unit_callsign=decision.chosen.callsign, eta_seconds=decision.chosen.seconds)
    return decision


def _digest(request: dict) -> str:
    """SHA-256 (hex) of what an alarm asks, to tell a retry from a new incident under a reused
    Idempotency-Key."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


async def _available_units(conn: psycopg.AsyncConnection, config: DispatchConfig, since: int,
                           changes: dict, kind: str, at: datetime
                           ) -> tuple[UnitPositions, Snapped]:
    """The available units of ``kind`` at ``at``, placed and snapped, from the worker's copy of
    the fleet brought up to date with ``changes`` (read from the horizon ``since``)."""
    fleet = config.fleet
    if not fleet.update(since, changes, config.graph, config.snap_limit_m):
        whole = await alarm_store.fleet_changes(conn)
        fleet.update(0, whole, config.graph, config.snap_limit_m)
    return fleet.available(kind, at.timestamp(), config.stale_after_s)


def _ranked(config: DispatchConfig, target: Snap, positions: UnitPositions, snaps: Snapped,
            depth: int) -> tuple[Ranking | None, list[Candidate]]:
    """The ``depth`` units nearest to ``target`` by drive time, as candidates; the ranking too
    (None with the networkx baseline), for the route of the one chosen."""
    on_road = np.flatnonzero(snaps.on_road)
    snaps_on_road = snaps.take(on_road)
    if config.baseline is not None:
        ranking, top = None, config.baseline.rank_to(target, snaps_on_road.snaps(), k=depth)
    else:
        ranking = rank(config.graph, target, snaps_on_road, k=depth)
        top = ranking.top
    return ranking, [_candidate(positions, on_road[r.index], r) for r in top]


def _candidate(positions, i: int, ranked) -> Candidate:
    return Candidate(int(positions.unit_id[i]), str(positions.callsign[i]), ranked.seconds,
                     ranked.metres, bool(positions.at_home_station[i]))



def _route_feature(lonlat: np.ndarray, chosen: Candidate) -> dict:
    return {"type": "Feature",
            "geometry": {"type": "LineString",
                         "coordinates": np.round(lonlat, 7).tolist()},
            "properties": {"unit_id": chosen.unit_id, "eta_seconds": round(chosen.seconds, 1),
                           "distance_m": round(chosen.metres, 1)}}
