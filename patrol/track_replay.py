"""Track replay (轨迹回放): a unit's stored fixes over a time range and their matched road path,
as GeoJSON (RFC 7946, WGS-84).

The FeatureCollection holds one LineString per continuous matched piece with the time of every
vertex (``times``, ISO 8601 UTC), then one Point per stored fix, exactly as stored: its
position (``lon``/``lat`` and the geometry, unrounded), its ``time`` (to the microsecond) and
whether it was a ``jump`` (not matched). Top-level members: ``unit_id``, ``callsign``,
``from``, ``to``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from patrol.errors import Invalid
from patrol.service import get_unit
from patrol.tracks import path_feature
from routing import RoadGraph, match_track
from zones import track_store

#: The longest time range replayed at once (a day of fixes every second is 86,400 fixes).
MAX_RANGE = timedelta(hours=24)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def track_replay(engine: sa.Engine, graph: RoadGraph, unit_id: int, *, start: datetime,
                 end: datetime) -> dict:
    """The unit's fixes taken at or after ``start`` and before ``end`` (time zone aware, at
    most :data:`MAX_RANGE` apart) and their matched path (see the module). An unknown unit
    is :class:`NotFound`, a bad range :class:`Invalid`."""
    start, end = check_range(start, end)
    unit = get_unit(engine, unit_id)
    with engine.connect() as conn:
        fixes = track_store.fixes_between(conn, unit_id, start, end)
    features = _path_features(graph, [f for f in fixes if not f["jump"]])
    features += [_fix_feature(f) for f in fixes]
    return {"type": "FeatureCollection", "unit_id": unit_id, "callsign": unit["callsign"],
            "from": iso(start), "to": iso(end), "features": features}


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``start`` and ``end`` in UTC; :class:`Invalid` unless both carry a time zone and
    ``start`` comes before ``end`` by at most :data:`MAX_RANGE`."""
    try:
        start, end = (_utc(moment) for moment in (start, end))
    except OverflowError:
        raise Invalid("the time range lies beyond the years 1 to 9999") from None
    if end <= start:
        raise Invalid(f"the range must end after it starts; got from {iso(start)} "
                      f"to {iso(end)}")
    if end - start > MAX_RANGE:
        raise Invalid(f"a replay covers at most {MAX_RANGE.total_seconds() / 3600:g} hours; "
                      f"got {_span(end - start)}")
    return start, end


def _span(length: timedelta) -> str:
    """A time span as a person reads it: hours up to two days, days beyond."""
    hours = length.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:,.0f} days"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise Invalid(f"{moment.isoformat()} has no time zone; send e.g. "
                      f"2026-11-21T08:00:00+08:00")
    return moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    """A UTC moment as ISO 8601 with microseconds and Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def _path_features(graph: RoadGraph, good: list[dict]) -> list[dict]:
    """The matched pieces of the good fixes (two or more vertices each)."""
    if len(good) < 2:
        return []
    seconds = np.array([(f["at"] - _EPOCH).total_seconds() for f in good])
    match = match_track(graph, [f["lon"] for f in good], [f["lat"] for f in good], seconds)
    return [path_feature(p, piece) for p, piece in enumerate(match.pieces)
            if len(piece.lonlat) >= 2]


def _fix_feature(fix: dict) -> dict:
    return {"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [fix["lon"], fix["lat"]]},
            "properties": {"kind": "fix", "time": iso(fix["at"]), "lon": fix["lon"],
                           "lat": fix["lat"], "jump": fix["jump"]}}
