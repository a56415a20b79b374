"""Offline track matching: read fixes from CSV, clean them, match the good ones, write GeoJSON.

The CSV has a header with the columns ``time`` (ISO 8601; without a zone it is taken as UTC),
``lon`` and ``lat`` (degrees in the given coordinate system); other columns are ignored.
The GeoJSON (RFC 7946, WGS-84) holds one LineString per continuous matched piece, with the time
of every vertex in ``times`` (ISO 8601, UTC), and one feature per fix: its matched road
position as a Point (no geometry when it was not matched) with its time, its cleaning status,
the raw position, the distance to the road (m), the directed edge (tail and head OSM node ids)
and the piece it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from patrol.errors import Invalid
from patrol.track_cleaning import MAX_SPEED_KPH, CleanTrack, clean_track
from routing import Match, RoadGraph, match_track
from routing.coords import CoordSystem

COLUMNS = ("time", "lon", "lat")


@dataclass(frozen=True)
class MatchedTrack:
    """A cleaned track and the match of its good fixes (``matched_fixes`` index the track)."""

    track: CleanTrack
    match: Match
    matched_fixes: np.ndarray


def read_fixes_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (seconds since 1970, UTC), lon and lat from a fixes CSV (see the module)."""
    if not Path(path).is_file():
        raise Invalid(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # each value as written
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: not a readable CSV file ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the surplus values as an index
        raise Invalid(f"{path}: row 2 has more values than the header has columns")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise Invalid(f"{path}: the CSV lacks the column(s) {', '.join(missing)}; it needs "
                      f"time (ISO 8601), lon and lat")
    times = pd.to_datetime(frame["time"], utc=True, errors="coerce", format="ISO8601")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    bad = times.isna() | lon.isna() | lat.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise Invalid(f"{path}: row {row + 2} needs an ISO 8601 time and numeric lon and lat, "
                      f"got {frame.iloc[row][list(COLUMNS)].tolist()}")
    if frame.empty:
        raise Invalid(f"{path}: the CSV holds no fix")
    epoch = pd.Timestamp(0, tz="UTC").as_unit("us")  # years 1 to 9999 fit in microseconds
    seconds = (times.dt.as_unit("us") - epoch).dt.total_seconds().to_numpy()
    return seconds, lon.to_numpy(np.float64), lat.to_numpy(np.float64)


def match_fixes(graph: RoadGraph, times, lon, lat, *, crs: CoordSystem | str = "wgs84",
                max_speed_kph: float = MAX_SPEED_KPH) -> MatchedTrack:
    """Clean the fixes, then match the good ones to ``graph``."""
    track = clean_track(times, lon, lat, crs=crs, max_speed_kph=max_speed_kph)
    good = np.flatnonzero(track.for_matching)
    match = match_track(graph, track.lon[good], track.lat[good], track.times[good])
    return MatchedTrack(track, match, good)


def track_geojson(graph: RoadGraph, matched: MatchedTrack) -> dict:
    """The matched path and every fix as a GeoJSON FeatureCollection (see the module)."""
    match, track = matched.match, matched.track
    features = [path_feature(p, piece) for p, piece in enumerate(match.pieces)
                if len(piece.lonlat) >= 2]
    position = {int(i): j for j, i in enumerate(matched.matched_fixes)}
    for i in range(len(track.times)):
        features.append(_fix_feature(graph, matched, i, position.get(i)))
    return {"type": "FeatureCollection", "features": features}


def iso_times(seconds) -> list[str]:
    """Times (seconds since 1970, years 1 to 9999) as ISO 8601 UTC strings, to the
    millisecond."""
    millis = np.round(np.asarray(seconds, dtype=np.float64) * 1e3).astype(np.int64)
    stamps = np.datetime_as_string(millis.astype("datetime64[ms]"))
    return [f"{stamp}Z" for stamp in stamps]


def path_feature(number: int, piece) -> dict:
    """A matched piece as a LineString Feature with the time of every vertex (``times``)."""
    return {"type": "Feature",
            "geometry": {"type": "LineString", "coordinates": np.round(piece.lonlat, 7).tolist()},
            "properties": {"kind": "path", "piece": number, "length_m": round(piece.length_m, 1),
                           "times": iso_times(piece.times)}}


def _fix_feature(graph: RoadGraph, matched: MatchedTrack, i: int, j: int | None) -> dict:
    track, match = matched.track, matched.match
    props = {"kind": "fix", "fix": i, "time": iso_times([track.times[i]])[0],
             "status": track.status[i].value, "lon": round(float(track.lon[i]), 7),
             "lat": round(float(track.lat[i]), 7), "matched": False}
    geometry = None
    if j is not None and match.matched[j]:
        edge = int(match.edge[j])
        props.update(matched=True, piece=int(match.piece[j]),
                     distance_m=round(float(match.distance_m[j]), 1),
                     edge_from=int(graph.node_osmid[graph.edge_tail[edge]]),
                     edge_to=int(graph.node_osmid[graph.edge_head[edge]]),
                     offset_m=round(float(match.offset_m[j]), 1))
        geometry = {"type": "Point", "coordinates": np.round(match.lonlat[j], 7).tolist()}
    return {"type": "Feature", "geometry": geometry, "properties": props}
