"""Ingesting GPS tracks: a unit's timestamped fixes, in any coordinate system, cleaned against
what its track already holds, stored, and reported fix by fix (never all-or-nothing).

Each fix gets a status (:class:`patrol.track_cleaning.FixStatus`, or ``refused``) and, unless it
is ok, a reason:

- ``refused``: its time is in the future (beyond a minute of clock skew) or out of range;
- ``duplicate``: the same time and position as a stored fix or an earlier one of the request;
- ``backwards``: a time at or before the unit's newest stored fix, or the last kept one of the
  request;
- ``jump``: reached from the last good fix (stored or sent) only faster than the plausible speed:
  stored and replayed, left out of matching;
- ``ok``: stored and matched.

Units are handled one by one within one transaction: a batch's unknown unit, or a second track
of one unit, is refused by itself and the others are stored. A coordinate out of range is bad
input for the whole request (``RoutingError``), as the document says. Each unit's newest ok
fix becomes its last position (a jump does not move it).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from patrol.errors import NotFound
from patrol.positions import time_problem
from patrol.service import now
from patrol.track_cleaning import MAX_SPEED_KPH, CleanTrack, FixStatus, clean_track
from routing import to_wgs84
from zones import track_store
from zones.database import LoopPool

REFUSED = "refused"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


async def ingest_track(pool: LoopPool, track: dict, *,
                       max_speed_kph: float = MAX_SPEED_KPH) -> dict:
    """Store one unit's track {unit_id, crs, fixes: [{lon, lat, timestamp}]} (see the module).
    An unknown unit is :class:`NotFound`."""
    (report,) = await ingest_tracks(pool, [track], max_speed_kph=max_speed_kph)
    if report["refused"]:
        raise NotFound(report["refused"])
    return report


async def ingest_tracks(pool: LoopPool, tracks: list[dict], *,
                        max_speed_kph: float = MAX_SPEED_KPH) -> list[dict]:
    """Store several units' tracks (as :func:`ingest_track` takes them); one report per track:
    {unit_id, refused (why the whole track was, else None), received, stored, counts (per
    status), fixes: [{index, status, speed_kph (from the last good fix; None: not measured),
    reason (None when ok)}]}."""
    moment = now()
    prepared = [_prepare(track, moment) for track in tracks]
    seen = set()
    for p in prepared:  # a unit's fixes are judged one after the other, in one track
        if p["unit_id"] in seen and not p["refused"]:
            p["refused"] = (f"unit {p['unit_id']} has a track earlier in this batch; send its "
                            f"fixes as one track")
        seen.add(p["unit_id"])
    usable = [p for p in prepared if not p["refused"]]
    ids = [p["unit_id"] for p in usable for _ in [None, *p["ats"]]]
    ats = [at for p in usable for at in [None, *p["ats"]]]
    if usable:
        async with pool.connection() as conn, conn.transaction():
            state = await track_store.track_state(conn, ids, ats)
            rows = []
            for p in usable:
                if p["unit_id"] not in state:
                    p["refused"] = f"no unit {p['unit_id']}"
                    continue
                rows += _judge(p, state[p["unit_id"]], max_speed_kph)
            if rows:
                await track_store.store_track(conn, rows)
    return [_report(p) for p in prepared]


def _prepare(track: dict, moment: datetime) -> dict:
    """The track in WGS-84 and UTC, its fixes in the future marked refused."""
    fixes = track["fixes"]
    prepared = {"unit_id": track["unit_id"], "received": len(fixes), "refused": None,
                "status": [None] * len(fixes), "reason": [None] * len(fixes),
                "speed": [None] * len(fixes), "ats": []}
    lon, lat = to_wgs84(np.array([f["lon"] for f in fixes], dtype=np.float64),
                        np.array([f["lat"] for f in fixes], dtype=np.float64),
                        track.get("crs", "wgs84"))
    prepared["lon"], prepared["lat"] = np.atleast_1d(lon), np.atleast_1d(lat)
    for i, fix in enumerate(fixes):
        problem = time_problem({**fix, "unit_id": track["unit_id"]}, moment)
        if problem:
            prepared["status"][i], prepared["reason"][i] = REFUSED, problem
        prepared["ats"].append(None if problem else fix["timestamp"].astimezone(timezone.utc))
    return prepared


def _judge(p: dict, state: dict, max_speed_kph: float) -> list[dict]:
    """Give every fix of a prepared track its status against the unit's stored track (``state``
    from :func:`zones.track_store.track_state`); returns the rows to store."""
    stored = {(at, round(x, 7), round(y, 7)) for at, x, y in zip(
        state["same_at"] or [], state["same_lon"] or [], state["same_lat"] or [])}
    newest = state["newest_at"]
    fresh = []
    for i, at in enumerate(p["ats"]):
        if p["status"][i] is not None:
            continue
        if (at, round(p["lon"][i], 7), round(p["lat"][i], 7)) in stored:
            p["status"][i], p["reason"][i] = FixStatus.DUPLICATE, "already stored"
        elif newest is not None and at <= newest:
            p["status"][i] = FixStatus.BACKWARDS
            p["reason"][i] = f"not after the unit's newest stored fix ({newest.isoformat()})"
        else:
            fresh.append(i)
    if not fresh:
        p["stored"] = 0
        return []
    last = None if state["good_at"] is None else (
        _seconds(state["good_at"]), state["good_lon"], state["good_lat"])
    clean = clean_track([_seconds(p["ats"][i]) for i in fresh], p["lon"][fresh],
                        p["lat"][fresh], max_speed_kph=max_speed_kph, last=last)
    rows = []
    for j, i in enumerate(fresh):
        p["status"][i], p["reason"][i] = clean.status[j], _why(clean, j, max_speed_kph)
        p["speed"][i] = None if math.isnan(clean.speed_kph[j]) else float(clean.speed_kph[j])
        if clean.kept[j]:
            rows.append({"id": p["unit_id"], "lon": float(p["lon"][i]),
                         "lat": float(p["lat"][i]), "at": p["ats"][i],
                         "jump": clean.status[j] is FixStatus.JUMP})
    p["stored"] = len(rows)
    return rows


def _why(clean: CleanTrack, j: int, max_speed_kph: float) -> str | None:
    status = clean.status[j]
    if status is FixStatus.DUPLICATE:
        return "a repeat of an earlier fix of this request"
    if status is FixStatus.BACKWARDS:
        return "not after the fix before it"
    if status is FixStatus.JUMP:
        return (f"reached from the last good fix at {clean.speed_kph[j]:.0f} km/h, faster "
                f"than {max_speed_kph:g} km/h: kept, left out of matching")
    return None


def _report(p: dict) -> dict:
    status = [s.value if isinstance(s, FixStatus) else s for s in p["status"]]
    if p["refused"]:
        status = [REFUSED] * p["received"]
    counts = {s: status.count(s) for s in [*(f.value for f in FixStatus), REFUSED]}
    return {"unit_id": p["unit_id"], "refused": p["refused"], "received": p["received"],
            "stored": p.get("stored", 0), "counts": counts,
            "fixes": [{"index": i, "status": s, "reason": p["refused"] or p["reason"][i],
                       "speed_kph": None if p["speed"][i] is None else round(p["speed"][i], 1)}
                      for i, s in enumerate(status)]}


def _seconds(at: datetime) -> float:
    return (at - _EPOCH).total_seconds()
