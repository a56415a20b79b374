"""GPS fixes of the fleet: the good ones stored in one statement on the event loop (fleets
report all the time), each the domain refuses reported with why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from patrol.errors import Invalid, NotFound
from patrol.service import now
from patrol.track_cleaning import MAX_SPEED_KPH
from routing import parse_coord_system, to_wgs84
from zones import alarm_store
from zones.database import LoopPool


async def move_units(pool: LoopPool, fixes: list[dict], *,
                     max_speed_kph: float = MAX_SPEED_KPH) -> dict:
    """Store GPS fixes [{unit_id, lon, lat, crs, timestamp}], each also in its unit's track
    (reached faster than ``max_speed_kph`` km/h from its last good fix: a jump). A fix of an
    unknown unit, or with a timestamp without time zone, out of range or in the future, is left
    out and reported; the others are stored. A coordinate out of range is bad input for the whole
    batch (``RoutingError``), as the document says. Returns {received, stored (units moved),
    rejected: [{index, unit_id, reason}]}."""
    lon, lat = _fixes_in_wgs84(fixes)
    moment = now()
    reasons = [time_problem(fix, moment) for fix in fixes]
    good = [i for i, reason in enumerate(reasons) if reason is None]
    rows = [{"id": fixes[i]["unit_id"], "lon": float(lon[i]), "lat": float(lat[i]),
             "at": fixes[i]["timestamp"].astimezone(timezone.utc)} for i in good]
    unknown, moved = [], 0
    if rows:
        async with pool.connection() as conn:
            unknown, moved = await alarm_store.move_units(conn, rows,
                                                            max_speed_kph=max_speed_kph)
    for i in good:
        if fixes[i]["unit_id"] in unknown:
            reasons[i] = f"no unit {fixes[i]['unit_id']}"
    rejected = [{"index": i, "unit_id": fix["unit_id"], "reason": reason}
                for i, (fix, reason) in enumerate(zip(fixes, reasons)) if reason is not None]
    return {"received": len(fixes), "stored": moved, "rejected": rejected}


async def move_unit(pool: LoopPool, fix: dict, *, max_speed_kph: float = MAX_SPEED_KPH) -> bool:
    """Store one unit's GPS fix {unit_id, lon, lat, crs, timestamp}; False when a newer fix is
    stored already. An unknown unit is :class:`NotFound`, a bad fix :class:`Invalid`."""
    report = await move_units(pool, [fix], max_speed_kph=max_speed_kph)
    for problem in report["rejected"]:
        error = NotFound if problem["reason"].startswith("no unit") else Invalid
        raise error(problem["reason"])
    return bool(report["stored"])


def time_problem(fix: dict, moment: datetime) -> str | None:
    """What is wrong with a fix's timestamp (None: nothing)."""
    at = fix["timestamp"]
    which = f"timestamp {at.isoformat()} of unit {fix['unit_id']}"
    if at.tzinfo is None:
        return f"{which} has no time zone; send e.g. 2026-11-21T08:00:00+08:00"
    try:
        at.astimezone(timezone.utc)  # the database keeps UTC; its offsets end at 15:59
    except OverflowError:
        return f"{which} is out of range"
    if at > moment + timedelta(seconds=60):
        return f"{which} is in the future"
    return None


def _fixes_in_wgs84(fixes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The fixes' coordinates in WGS-84 (arrays, one entry per fix), converted per CRS after
    their range is checked (``RoutingError`` names a value out of range)."""
    lon = np.array([f["lon"] for f in fixes], dtype=np.float64)
    lat = np.array([f["lat"] for f in fixes], dtype=np.float64)
    crs = np.array([parse_coord_system(f["crs"]).value for f in fixes])
    for system in np.unique(crs):
        same = crs == system
        lon[same], lat[same] = to_wgs84(lon[same], lat[same], str(system))
    return lon, lat
