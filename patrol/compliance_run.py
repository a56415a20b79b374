"""The patrol compliance use-case shared by the API and the CLI: read a zone's (or every zone's)
targets and the units' GPS fixes near them (within ``READ_MARGIN_DEG``) over a time range, clean and match each unit's
track, and compute the visits per target and 15-minute window with the rates
(:mod:`patrol.compliance`).

A point target is checked at its road position (where its loop stops for it: the nearest road
within the snapping limit, else the point itself). A unit's fixes more than ``MAX_GAP_S`` apart
are matched as separate tracks: nothing is assumed about where a unit was while it did not
report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import shapely
import sqlalchemy as sa

from patrol.compliance import VISIT_M, WINDOW_S, Compliance, Shifts, TargetSet, compliance
from patrol.compliance_rates import iso, shift_rates, target_rates, zone_rates
from patrol.errors import Invalid, NotFound
from patrol.presence import Tracks
from patrol.track_cleaning import MAX_SPEED_KPH
from patrol.tracks import match_fixes
from routing.compiled import RoadGraph
from routing.errors import RoutingError
from routing.snapping import DEFAULT_SNAP_LIMIT_M, snap_many
from zones import compliance_inputs, plan_store, targets
from zones.targets import Target

#: Fixes of a unit further apart than this (seconds) are matched as separate tracks.
MAX_GAP_S = 120.0
#: Degrees around the targets within which units' fixes are read (about 1 km at Wuhan).
READ_MARGIN_DEG = 0.01


@dataclass(frozen=True)
class ComplianceRun:
    """A compliance result with what its reports need: the targets as stored (WGS-84) and the
    range asked for."""

    result: Compliance
    targets: list[Target]
    start: datetime
    end: datetime
    visit_m: float
    shifts: Shifts = field(default_factory=Shifts)
    units: int = 0

    @property
    def names(self) -> dict[int, str]:
        return {t.id: t.name for t in self.targets}

    def summary(self) -> dict:
        """Rates per zone, per zone and shift, and per target, with the range and settings."""
        return {"from": iso(self.result.window_start[0]) if len(self.result.window_start) else
                iso(self.start.timestamp()),
                "to": iso(self.result.window_start[-1] + self.result.window_s)
                if len(self.result.window_start) else iso(self.end.timestamp()),
                "window_s": self.result.window_s, "visit_m": self.visit_m,
                "units_tracked": self.units, "zones": zone_rates(self.result),
                "shifts": shift_rates(self.result, self.shifts),
                "targets": target_rates(self.result, names=self.names)}


    def zone_json(self, zone_id: int) -> dict:
        """The API's answer for one zone: its rates, shifts and every target's windows."""
        summary, r = self.summary(), self.result
        windows = [iso(s) for s in r.window_start]
        targets = []
        for i, row in enumerate(summary["targets"]):
            by_window = [{"start": windows[w], "visited": bool(r.visited[i, w]),
                          "first_visit": iso(r.first_s[i, w]) if r.unit[i, w] >= 0 else None,
                          "unit_id": int(r.unit[i, w]) if r.unit[i, w] >= 0 else None,
                          "longest_stay_s": round(float(r.longest_s[i, w]), 1)}
                         for w in range(len(windows))]
            targets.append({**row, "dwell_s": float(r.targets.dwell_s[i]),
                            "by_window": by_window})
        return {"zone_id": zone_id, "from": summary["from"], "to": summary["to"],
                "window_s": summary["window_s"], "visit_m": summary["visit_m"],
                "units_tracked": summary["units_tracked"],
                "zone": summary["zones"][0] if summary["zones"] else None,
                "shifts": summary["shifts"], "targets": targets}


def check_range(start: datetime, end: datetime, *, max_hours: float | None = None
                ) -> tuple[datetime, datetime]:
    """The range in UTC (a time without a zone is UTC); :class:`Invalid` when it is empty or
    longer than ``max_hours``."""
    try:
        start, end = (t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in (start, end))
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise Invalid("the range's times must lie between the years 1971 and 9998") from None
    if not (1971 <= start.year and end.year <= 9998):
        raise Invalid("the range's times must lie between the years 1971 and 9998")
    if not end > start:
        raise Invalid(f"the range must end after it starts ({start.isoformat()} to "
                      f"{end.isoformat()})")
    hours = (end - start).total_seconds() / 3600
    if max_hours is not None and hours > max_hours:
        raise Invalid(f"the range is {hours:g} hours long; at most {max_hours:g} hours at once")
    return start, end


def run_compliance(engine: sa.Engine, graph: RoadGraph, *, zone_id: int | None,
                   start: datetime, end: datetime, visit_m: float = VISIT_M,
                   shifts: Shifts | None = None, max_hours: float | None = None,
                   snap_limit_m: float = DEFAULT_SNAP_LIMIT_M) -> ComplianceRun:
    """Compliance of one zone's targets (``zone_id``) or every zone's (None) from ``start`` to
    ``end`` (widened to whole windows), by every unit that reported near them."""
    start, end = check_range(start, end, max_hours=max_hours)
    if not 0 < visit_m < math.inf:
        raise Invalid(f"the visit distance must be a positive number of metres, not {visit_m:g}")
    with engine.connect() as conn:
        if zone_id is not None and plan_store.zone_station(conn, zone_id) is None:
            raise NotFound(f"no patrol zone {zone_id}")
        chosen = (targets.zone_targets(conn, zone_id) if zone_id is not None
                  else targets.all_targets(conn))
        fixes = _read_fixes(conn, chosen, start, end, WINDOW_S) if chosen else {}
    tracks = Tracks.concat([_matched(graph, unit, *f) for unit, f in fixes.items()])
    result = compliance(tracks, target_set(graph, chosen, snap_limit_m=snap_limit_m),
                        start_s=start.timestamp(), end_s=end.timestamp(), visit_m=visit_m)
    return ComplianceRun(result, chosen, start, end, visit_m, shifts or Shifts(), len(fixes))


def _read_fixes(conn: sa.Connection, chosen: list[Target], start: datetime, end: datetime,
                lead_s: float) -> dict:
    """Fixes near the targets from a window before ``start`` (a stay may begin before it)."""
    lon0, lat0, lon1, lat1 = shapely.total_bounds([t.geometry for t in chosen])
    bbox = (lon0 - READ_MARGIN_DEG, lat0 - READ_MARGIN_DEG, lon1 + READ_MARGIN_DEG,
            lat1 + READ_MARGIN_DEG)
    since = datetime.fromtimestamp(start.timestamp() - lead_s, timezone.utc)
    return compliance_inputs.fixes_near(conn, start=since, end=end, bbox=bbox)


def target_set(graph: RoadGraph, chosen: list[Target], *,
               snap_limit_m: float = DEFAULT_SNAP_LIMIT_M) -> TargetSet:
    """The targets in the graph's metric CRS, points moved to their road position."""
    geometry = np.array([_metric(graph, t.geometry) for t in chosen] or [], dtype=object)
    kind = np.array([t.kind for t in chosen], dtype=str)
    points = np.flatnonzero(kind == "point")
    if len(points):
        lonlat = np.array([t.geometry.coords[0] for t in np.array(chosen, dtype=object)[points]])
        snapped = snap_many(graph, lonlat[:, 0], lonlat[:, 1], limit_m=snap_limit_m)
        on = snapped.on_road
        road = shapely.line_interpolate_point(graph.edge_lines[snapped.edge[on]],
                                              snapped.fraction[on], normalized=True)
        geometry[points[on]] = road
    return TargetSet(np.array([t.id for t in chosen], dtype=np.int64),
                     np.array([t.zone_id for t in chosen], dtype=np.int64), kind, geometry,
                     np.array([t.dwell_s for t in chosen], dtype=np.float64),
                     np.array([t.weight for t in chosen], dtype=np.float64))


def _metric(graph: RoadGraph, geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(
        graph.to_metric.transform(xy[:, 0], xy[:, 1])))


def _matched(graph: RoadGraph, unit: int, t: np.ndarray, lon: np.ndarray,
             lat: np.ndarray) -> Tracks:
    """A unit's fixes cleaned and matched, run by run (runs split at gaps over MAX_GAP_S), as
    one time-ordered path in the graph's metric CRS: the vertices of the matched pieces and
    every matched fix's road position (a stop's fixes, which the matcher places on its path
    after leaving them out of its model, keep the stop's time). The path is cut where two
    consecutive positions are more than MAX_GAP_S apart or faster than the plausible speed."""
    parts = []
    for run in np.split(np.arange(len(t)), np.flatnonzero(np.diff(t) > MAX_GAP_S) + 1):
        if len(run) < 2:
            continue
        try:
            match = match_fixes(graph, t[run], lon[run], lat[run])
        except (RoutingError, Invalid):  # nothing matchable in this run
            continue
        parts.append(_road_positions(graph, match))
    if not parts:
        return Tracks.concat([])
    times, x, y = (np.concatenate(c) for c in zip(*parts))
    order = np.argsort(times, kind="stable")
    times, x, y = times[order], x[order], y[order]
    step = np.diff(times)
    cut = (step > MAX_GAP_S) | (np.hypot(np.diff(x), np.diff(y)) > MAX_SPEED_KPH / 3.6 *
                                np.maximum(step, 1.0))
    piece = np.r_[0, np.cumsum(cut)]
    return Tracks(np.full(len(times), unit, np.int64), piece.astype(np.int64), times, x, y)


def _road_positions(graph: RoadGraph, matched) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and metric x, y of the matched pieces' vertices and the matched fixes."""
    match = matched.match
    on = match.matched
    times = [np.asarray(matched.track.times[matched.matched_fixes][on], np.float64)]
    lonlat = [match.lonlat[on]]
    for p in match.pieces:
        times.append(np.asarray(p.times, np.float64))
        lonlat.append(np.asarray(p.lonlat, np.float64).reshape(-1, 2))
    lonlat_all = np.concatenate(lonlat)
    x, y = graph.to_metric.transform(lonlat_all[:, 0], lonlat_all[:, 1])
    return np.concatenate(times), np.asarray(x), np.asarray(y)
