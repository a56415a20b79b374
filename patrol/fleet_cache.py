"""Every unit's last known state, held in an API worker and kept in step with the database.

Each incident ranks the whole available fleet. Reading hundreds of units from PostgreSQL and
snapping them to roads for every alarm cost more than everything else the alarm does; so each
worker keeps the fleet here, with every unit's road position (its snap) worked out once per
move, and reads from the database only the units written since its last read (the change feed
of migration 0004, ``zones.alarm_store.fleet_changes``).

What a worker sees is what the database had committed when the alarm's statement ran, as it
would be with a full read: every change after the feed's ``since`` horizon is read again. The
database still decides who gets a unit: a claim locks the row and checks it is available, so a
copy in memory can never give one unit to two incidents.

The reads of alarms handled at the same time may finish out of order; a unit's ``revision``
(which grows with every write to its row, in commit order) keeps the newest, and so does its
fix's ``fix_revision`` for the fix (a row of its own, written without locking the unit). When units were
deleted or stations changed (the feed's ``epoch`` moved), the changes cannot be applied and the
caller reads the whole fleet instead.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from patrol.fleet import UnitPositions
from routing import RoadGraph, Snapped, snap_many

#: Statuses of a unit an alarm may take: a relocating unit is on its way to a waiting point.
DISPATCHABLE = ("available", "relocating")
#: Columns of the change feed (``zones.alarm_store.fleet_changes``), one array each.
FEED_COLUMNS = ("id", "revision", "fix_revision", "callsign", "kind", "status", "lon", "lat",
                "fix_at", "home_lon", "home_lat")
#: Each unit's road positions, worked out when it changes: at its fix and at its home station.
_SNAP_COLUMNS = ("fix_edge", "fix_fraction", "fix_distance_m", "fix_also", "home_edge",
                 "home_fraction", "home_distance_m", "home_also")
#: U16: compared fast; *_also: the further roads at a junction.
_DTYPES = {"id": np.int64, "revision": np.int64, "fix_revision": np.int64, "callsign": object,
           "kind": "U16", "status": "U16", "fix_edge": np.int64, "home_edge": np.int64,
           "fix_also": object, "home_also": object}


class FleetCache:
    """The fleet as of the latest change read, one row per unit (column arrays). Used from the
    event loop only (the alarm path), so never by two requests at the same instant."""

    def __init__(self) -> None:
        self.since = 0  # the feed's horizon: every change below it is in the copy (0: empty)
        self._epoch: int | None = None
        self._row_of: dict[int, int] = {}
        self._columns = _empty_columns(0)

    def update(self, since: int, changes: dict, graph: RoadGraph, snap_limit_m: float) -> bool:
        """Apply ``changes``, read from the horizon ``since`` (0: the whole fleet). False when
        they cannot be applied, because units were deleted or stations changed (the epoch
        moved) or the copy was replaced meanwhile by one older than ``since``: then read the
        whole fleet and apply that."""
        if since == 0:
            if changes["epoch"] != self._epoch or changes["horizon"] > self.since:
                self._replace(_snapped(fleet_rows(changes), graph, snap_limit_m), changes)
            return True  # else the copy is already newer than this read
        if changes["epoch"] != self._epoch or since > self.since:
            return False
        if changes["id"]:
            rows = self._newer(fleet_rows(changes))
            if len(rows["id"]):
                self._merge(self._snapped_changes(rows, graph, snap_limit_m))
        self.since = max(self.since, changes["horizon"])
        return True

    def available(self, kind: str, now_s: float, stale_after_s: float
                  ) -> tuple[UnitPositions, Snapped]:
        """Available (or relocating) units of ``kind`` placed for routing at ``now_s`` (seconds
        since the Unix epoch), with their snaps: a fix older than ``stale_after_s`` seconds (or
        none) places a unit at its home station; a unit with neither is left out."""
        positions, snaps, _ = self.placed(kind, now_s, stale_after_s)
        return positions, snaps

    def placed(self, kind: str, now_s: float, stale_after_s: float
               ) -> tuple[UnitPositions, Snapped, NDArray]:
        """:meth:`available`, with each unit's status."""
        c = self._columns
        pick = np.flatnonzero(np.isin(c["status"], DISPATCHABLE) & (c["kind"] == kind))
        fresh = ~np.isnan(c["lon"][pick]) & (now_s - c["fix_at"][pick] <= stale_after_s)
        at = {name: np.where(fresh, c["fix_" + name][pick], c["home_" + name][pick])
              for name in ("edge", "fraction", "distance_m", "also")}
        lon = np.where(fresh, c["lon"][pick], c["home_lon"][pick])
        lat = np.where(fresh, c["lat"][pick], c["home_lat"][pick])
        ids, callsigns = c["id"][pick], c["callsign"][pick]
        placed = ~np.isnan(lon)
        positions = UnitPositions(ids[placed], callsigns[placed], lon[placed], lat[placed],
                                  ~fresh[placed])
        return positions, Snapped.with_also(at["edge"][placed], at["fraction"][placed],
                                            at["distance_m"][placed], at["also"][placed]), \
            c["status"][pick][placed]

    def version(self) -> tuple[int, int, int]:
        """Changes whenever a change is applied: the newest revisions and the number of units."""
        c = self._columns
        return (int(c["revision"].max(initial=0)), int(c["fix_revision"].max(initial=0)),
                len(c["id"]))

    def _replace(self, rows: dict[str, NDArray], changes: dict) -> None:
        self._columns = rows
        self._row_of = {unit_id: i for i, unit_id in enumerate(rows["id"].tolist())}
        self.since = changes["horizon"]
        self._epoch = changes["epoch"]

    def _newer(self, rows: dict[str, NDArray]) -> dict[str, NDArray]:
        """The rows of ``rows`` that change the copy: new units, or a newer revision of a unit's
        row or of its fix. Concurrent alarms read overlapping changes; each is snapped once."""
        known = np.array([self._row_of.get(u, -1) for u in rows["id"].tolist()], np.int64)
        held = np.maximum(known, 0)
        keep = (known < 0) | (rows["revision"] > self._columns["revision"][held]) | (
            rows["fix_revision"] > self._columns["fix_revision"][held])
        return rows if keep.all() else {name: values[keep] for name, values in rows.items()}

    def _snapped_changes(self, rows: dict[str, NDArray], graph: RoadGraph,
                         snap_limit_m: float) -> dict[str, NDArray]:
        """:func:`_snapped` for changes to the copy, snapping only what moved: a fix whose
        revision is not newer is not written (so not snapped), and a home station where the
        copy has it keeps the copy's snap (a dispatch or a close changes a unit's status, not
        where it is)."""
        known = np.array([self._row_of.get(u, -1) for u in rows["id"].tolist()], np.int64)
        held, c = np.maximum(known, 0), self._columns
        old_fix = (known >= 0) & (rows["fix_revision"] <= c["fix_revision"][held])
        same_home = (known >= 0) & (rows["home_lon"] == c["home_lon"][held]) & (
            rows["home_lat"] == c["home_lat"][held])
        rows = _snapped(rows, graph, snap_limit_m, skip={"fix": old_fix, "home": same_home})
        for name in ("home_edge", "home_fraction", "home_distance_m", "home_also"):
            rows[name][same_home] = c[name][held[same_home]]
        return rows

    def _merge(self, rows: dict[str, NDArray]) -> None:
        """Write the changed units over their rows (only a newer revision), appending new ones."""
        known = np.array([self._row_of.get(u, -1) for u in rows["id"].tolist()], np.int64)
        fresh_units = known < 0
        if fresh_units.any():
            start = len(self._columns["id"])
            known[fresh_units] = start + np.arange(fresh_units.sum())
            self._columns = {name: np.concatenate([values, _empty_columns(
                int(fresh_units.sum()))[name]]) for name, values in self._columns.items()}
            self._columns["revision"][start:] = -1
            self._columns["fix_revision"][start:] = -1
            self._columns["id"][start:] = rows["id"][fresh_units]
            self._row_of.update(zip(rows["id"][fresh_units].tolist(),
                                    known[fresh_units].tolist()))
        for revision in ("revision", "fix_revision"):
            newer = rows[revision] > self._columns[revision][known]
            for name, values in self._columns.items():
                if name != "id" and _revision_of(name) == revision:
                    values[known[newer]] = rows[name][newer]


def _revision_of(column: str) -> str:
    """Which revision a column follows: a unit's row and its GPS fix are written apart (a fix
    never locks the unit), so each part of the copy is replaced only by a newer revision of its
    own."""
    return "fix_revision" if column in ("lon", "lat") or column.startswith("fix_") else "revision"


def fleet_rows(changes: dict) -> dict[str, NDArray]:
    """The feed's columns as typed arrays (NaN where a unit has no fix or no home station)."""
    return {name: np.array(changes[name] or [], dtype=_DTYPES.get(name, np.float64))
            for name in FEED_COLUMNS}


def _snapped(rows: dict[str, NDArray], graph: RoadGraph, snap_limit_m: float, *,
             skip: dict[str, NDArray] | None = None) -> dict[str, NDArray]:
    """``rows`` with each unit's road positions: at its fix and at its home station; where
    ``skip[where]`` (a mask) is true, none is worked out (off the network)."""
    for where in ("fix", "home"):
        lon, lat = (rows["lon"], rows["lat"]) if where == "fix" else (rows["home_lon"],
                                                                      rows["home_lat"])
        if skip is not None:
            lon, lat = np.where(skip[where], np.nan, lon), np.where(skip[where], np.nan, lat)
        snaps = _snap_known(graph, lon, lat, snap_limit_m)
        rows[f"{where}_edge"], rows[f"{where}_fraction"] = snaps.edge, snaps.fraction
        rows[f"{where}_distance_m"], rows[f"{where}_also"] = snaps.distance_m, snaps.also()
    return rows


def _snap_known(graph: RoadGraph, lon: NDArray, lat: NDArray, limit_m: float) -> Snapped:
    """Snaps of the points that have coordinates; off the network where they have none."""
    known = np.flatnonzero(~np.isnan(lon) & ~np.isnan(lat))
    edge = np.full(len(lon), -1, np.int64)
    fraction = np.zeros(len(lon))
    distance = np.full(len(lon), np.inf)
    also = Snapped(edge, fraction, distance).also()
    if len(known):
        found = snap_many(graph, lon[known], lat[known], limit_m=limit_m)
        edge[known], fraction[known], distance[known] = (found.edge, found.fraction,
                                                         found.distance_m)
        also[known] = found.also()
    return Snapped.with_also(edge, fraction, distance, also)


def _empty_columns(n: int) -> dict[str, NDArray]:
    columns = {name: (np.full(n, np.nan) if _DTYPES.get(name, np.float64) is np.float64
                      else np.zeros(n, dtype=_DTYPES[name]))
               for name in FEED_COLUMNS + _SNAP_COLUMNS}
    for name in ("fix_also", "home_also"):
        columns[name] = Snapped(np.full(n, -1), np.zeros(n), np.full(n, np.inf)).also()
    return columns
