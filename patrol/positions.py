"""GPS fixes of the fleet: checked one by one, the good ones stored in one statement on the
event loop (fleets report all the time), each bad one reported with why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from patrol.errors import Invalid, NotFound
from patrol.service import now
from routing import RoutingError, parse_coord_system, to_wgs84
from routing.coords import check_lonlat
from zones import alarm_store
from zones.database import LoopPool


async def move_units(pool: LoopPool, fixes: list[dict]) -> dict:
    """Store GPS fixes [{unit_id, lon, lat, crs, timestamp}]. A bad fix (unknown unit, a
    coordinate out of range or in an unknown system, a timestamp without time zone or in the
    future) is left out and reported; the others are stored. Returns {received, stored (units
    moved), rejected: [{index, unit_id, reason}]}. Runs on the event loop: fleets report all
    the time."""
    reasons = _fix_problems(fixes, now())
    good = [i for i, reason in enumerate(reasons) if reason is None]
    rows = []
    if good:
        lon, lat = _fixes_in_wgs84([fixes[i] for i in good])
        rows = [{"id": fixes[i]["unit_id"], "lon": x, "lat": y,
                 "at": fixes[i]["timestamp"].astimezone(timezone.utc)}
                for i, x, y in zip(good, lon.tolist(), lat.tolist())]
    unknown, moved = [], 0
    if rows:
        async with pool.connection() as conn:
            unknown, moved = await alarm_store.move_units(conn, rows)
    for i in good:
        if fixes[i]["unit_id"] in unknown:
            reasons[i] = f"no unit {fixes[i]['unit_id']}"
    rejected = [{"index": i, "unit_id": fix["unit_id"], "reason": reason}
                for i, (fix, reason) in enumerate(zip(fixes, reasons)) if reason is not None]
    return {"received": len(fixes), "stored": moved, "rejected": rejected}


async def move_unit(pool: LoopPool, fix: dict) -> bool:
    """Store one unit's GPS fix {unit_id, lon, lat, crs, timestamp}; False when a newer fix is
    stored already. An unknown unit is :class:`NotFound`, a bad fix :class:`Invalid`."""
    report = await move_units(pool, [fix])
    for problem in report["rejected"]:
        error = NotFound if problem["reason"].startswith("no unit") else Invalid
        raise error(problem["reason"])
    return bool(report["stored"])


def _fix_problems(fixes: list[dict], moment: datetime) -> list[str | None]:
    """What is wrong with each fix (None: nothing), checked as arrays where it can be."""
    reasons: list[str | None] = [None] * len(fixes)
    lon = np.array([f["lon"] for f in fixes], dtype=np.float64)
    lat = np.array([f["lat"] for f in fixes], dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    for i in np.flatnonzero(bad).tolist():
        try:
            check_lonlat(lon[i], lat[i])
        except RoutingError as error:
            reasons[i] = str(error)
    for system in {f["crs"] for f in fixes}:
        try:
            parse_coord_system(system)
        except RoutingError as error:
            for i, fix in enumerate(fixes):
                if fix["crs"] == system:
                    reasons[i] = reasons[i] or str(error)
    for i, fix in enumerate(fixes):
        reasons[i] = reasons[i] or _time_problem(fix, moment)
    return reasons


def _time_problem(fix: dict, moment: datetime) -> str | None:
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
    """The fixes' coordinates in WGS-84 (arrays, one entry per fix), converted per CRS."""
    lon = np.array([f["lon"] for f in fixes], dtype=np.float64)
    lat = np.array([f["lat"] for f in fixes], dtype=np.float64)
    crs = np.array([parse_coord_system(f["crs"]).value for f in fixes])
    for system in np.unique(crs):
        same = crs == system
        lon[same], lat[same] = to_wgs84(lon[same], lat[same], str(system))
    return lon, lat
