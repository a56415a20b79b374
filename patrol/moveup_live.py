"""Live coverage and move recommendations in an API worker, from the fleet it already holds
(``patrol.fleet_cache``): the coverage tables are built once (on first use), each unit's row is
searched again only when it moved, and the decision is ``patrol.moveup``'s pure function.

Counted are the units that may answer an alarm (available or relocating) of the patrol-car kind;
a relocating unit counts at the waiting point it is driving to. Movable are the available ones
only, and never a move a dispatcher declined in the last :data:`DECLINE_MEMORY_S` seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from scipy import sparse

from patrol.cover_tables import CoverTables
from patrol.fleet import UnitPositions
from patrol.fleet_cache import FleetCache
from patrol.moves import DECLINE_MEMORY_S
from patrol.moveup import DEFAULT_BUSY, RINGS, Cover, Demand, Fleet, Move, coverage, \
    moved_counts, moves_after_dispatch, recommend_moves
from patrol.rebalance import rebalance as solve_rebalance
from patrol.siting import CATEGORY_WEIGHTS, at_node
from routing import RoadGraph, Snapped, snap_many
from zones import move_store

#: Waiting points: police stations, posts and armed patrol points (and the road node at each
#: hotspot).
SITE_KINDS = ("police_station", "police_post", "armed_patrol_point")
#: The unit kind move-up keeps in place.
UNIT_KIND = "patrol_car"


@dataclass(frozen=True)
class Snapshot:
    """The counted units at one moment: positions, road snaps, statuses, and when (Unix s)."""

    positions: UnitPositions
    snaps: Snapped
    status: NDArray
    at_s: float


@dataclass
class Advice:
    """What one refresh worked out: the coverage now, the moves, and per unit the first move
    that would follow its dispatch (the hint an alarm's answer carries)."""

    computed_at_s: float
    live: dict
    moves: list[dict]
    hints: dict[int, dict] = field(default_factory=dict)


class MoveUp:
    """The worker's move-up state. Computations run on a worker thread, one at a time."""

    def __init__(self, engine: sa.Engine, graph: RoadGraph, *, snap_limit_m: float,
                 stale_after_s: float, busy: float = DEFAULT_BUSY, max_moves: int = 3,
                 max_drive_s: float = 600.0) -> None:
        self.engine, self.graph = engine, graph
        self.snap_limit_m, self.stale_after_s = snap_limit_m, stale_after_s
        self.busy, self.max_moves, self.max_drive_s = busy, max_moves, max_drive_s
        self.tables: CoverTables | None = None
        self.sites: list[dict] = []
        self.unit_zone: dict[int, int] = {}
        self.targets: dict[int, int] = {}  # relocating unit → site row it drives to
        self.declined: dict[tuple[int, int], float] = {}  # (unit, site row) → when (Unix s)
        self.advice: Advice | None = None
        self.declines = 0  # moves declined through this worker: each asks for new advice
        self._site_of: dict[tuple[float, float], int] = {}
        self._city: tuple | None = None  # the rows the tables were built from
        self._lock = threading.Lock()

    def build(self) -> None:
        """Read the demand, waiting points and units' zones, and compute the waiting points'
        table (once; later calls return at once)."""
        with self._lock:
            if self.tables is None:
                self._build(self._read_city())

    def rebuild_if_changed(self) -> bool:
        """Read the city again and, when its hotspots, grid cells, waiting points or units'
        zones changed (a planner loaded new ones), build the tables anew (seconds of CPU for
        Wuhan, then; the units' rows are searched again). Whether it rebuilt."""
        city = self._read_city()
        with self._lock:
            if self.tables is not None and city == self._city:
                return False
            self._build(city)
            return True

    def _read_city(self) -> tuple[list, list, dict]:
        with self.engine.connect() as conn:
            return (move_store.demand_rows(conn), move_store.site_rows(conn, kinds=SITE_KINDS),
                    move_store.unit_zones(conn))

    def _build(self, city: tuple[list, list, dict]) -> None:
        demand_rows, stations, self.unit_zone = city
        demand, points = demand_of(self.graph, demand_rows, snap_limit_m=self.snap_limit_m)
        self.sites, site_points = waiting_points(self.graph, stations, demand_rows, points,
                                                 snap_limit_m=self.snap_limit_m)
        self._site_of = {(round(s["lon"], 7), round(s["lat"], 7)): i
                         for i, s in enumerate(self.sites)}
        self.tables = CoverTables.build(self.graph, demand, points, site_points)
        self._city = city

    def snapshot(self, fleet: FleetCache, now_s: float) -> Snapshot:
        """The counted units as the fleet copy has them (call on the event loop)."""
        positions, snaps, status = fleet.placed(UNIT_KIND, now_s, self.stale_after_s)
        return Snapshot(positions, snaps, status, now_s)

    def live(self, snap: Snapshot) -> dict:
        """The coverage of the counted units now: shares of hotspots (by category weight) and
        grid cells reached within 1, 3 and 5 minutes, hotspots reached twice within 3."""
        self.build()
        with self._lock:
            fleet = self._fleet(snap)
            return self._live(fleet, snap)

    def advise(self, snap: Snapshot, *, hints: bool = True) -> Advice:
        """Coverage, the recommended moves and (with ``hints``) each available unit's hint."""
        self.build()
        with self._lock:
            fleet = self._fleet(snap)
        moves = recommend_moves(self.tables.demand, fleet, self.tables.sites, busy=self.busy,
                                max_moves=self.max_moves, max_drive_s=self.max_drive_s)
        advice = Advice(snap.at_s, self._live(fleet, snap),
                        [self._move_row(m, snap) for m in moves])
        if hints:
            advice.hints = self._hints(fleet, snap)
        elif self.advice is not None:
            advice.hints = self.advice.hints
        self.advice = advice
        return advice

    def rebalance(self, snap: Snapshot) -> list[dict]:
        """The double standard model's moves for the counted units now (HiGHS, exact over its
        candidate pairs), each with the coverage before and after it (earlier ones applied)."""
        self.build()
        with self._lock:
            fleet = self._fleet(snap)
        demand, sites = self.tables.demand, self.tables.sites
        result = solve_rebalance(demand, fleet, sites, busy=self.busy,
                                 max_drive_s=self.max_drive_s)
        rows, before = [], result.before
        for k, (unit, site, drive_s) in enumerate(result.moves):
            pairs = [(u, s) for u, s, _ in result.moves[:k + 1]]
            after = coverage(demand, moved_counts(fleet.cover, sites, pairs), busy=self.busy)
            rows.append(self._move_row(
                Move(unit, site, drive_s, after.expected - before.expected, before, after), snap))
            before = after
        return rows

    def hint(self, unit_id: int | None) -> dict | None:
        """The move that would follow dispatching ``unit_id``, as last worked out (None: none
        known). A dictionary look-up: the alarm path calls it."""
        advice = self.advice
        if advice is None or unit_id is None:
            return None
        return advice.hints.get(int(unit_id))

    def remember(self, *, targets: dict[int, tuple[float, float]],
                 declined: list[tuple[int, float, float, float]]) -> None:
        """What the database says: accepted moves' targets (unit → lon, lat) and recently
        declined moves (unit, lon, lat, when in Unix s)."""
        self.targets = {u: self._site_of[key] for u, (lon, lat) in targets.items()
                        if (key := (round(lon, 7), round(lat, 7))) in self._site_of}
        self.declined = {(u, self._site_of[key]): at for u, lon, lat, at in declined
                         if (key := (round(lon, 7), round(lat, 7))) in self._site_of}

    def _fleet(self, snap: Snapshot) -> Fleet:
        tables = self.tables
        ids = snap.positions.unit_id
        cover, to_site = tables.fleet_rows(ids, snap.snaps)
        moving = {i: self.targets[u] for i, u in enumerate(ids.tolist()) if u in self.targets
                  and snap.status[i] == "relocating"}
        if moving:
            rows = np.array(list(moving)), np.array(list(moving.values()))
            cover = _with_rows(cover, tables.sites, *rows)
        recent = [(u, s) for (u, s), at in self.declined.items()
                  if snap.at_s - at < DECLINE_MEMORY_S]
        if recent:
            to_site = to_site.copy()  # the tables keep theirs
            for unit, site in recent:
                to_site[ids == unit, site] = np.inf
        zone = np.array([self.unit_zone.get(u, -1) for u in ids.tolist()], np.int64)
        return Fleet(cover, snap.status == "available", zone, to_site)

    def _live(self, fleet: Fleet, snap: Snapshot) -> dict:
        counts = {r: fleet.cover.counts(r) for r in RINGS}
        demand = self.tables.demand
        state = coverage(demand, counts, busy=self.busy)
        return {"computed_at": datetime.fromtimestamp(snap.at_s, timezone.utc),
                "units": len(snap.positions),
                "relocating": int((snap.status == "relocating").sum()),
                "hotspots": int(demand.hotspot.sum()), "cells": int((~demand.hotspot).sum()),
                "hotspots_double_3": int((demand.hotspot & (counts[180] >= 2)).sum()),
                "busy_fraction": self.busy, "coverage": state.as_dict()}

    def _hints(self, fleet: Fleet, snap: Snapshot) -> dict[int, dict]:
        """Per available unit, the best single move once it is gone: over the waiting points
        that unit reaches within 3 minutes (the hole it leaves)."""
        moves = moves_after_dispatch(self.tables.demand, fleet, self.tables.sites,
                                     busy=self.busy, max_drive_s=self.max_drive_s)
        return {int(snap.positions.unit_id[i]): self._move_row(m, snap)
                for i, m in moves.items()}

    def _move_row(self, move: Move, snap: Snapshot) -> dict:
        site = self.sites[move.site]
        return {"unit_id": int(snap.positions.unit_id[move.unit]),
                "callsign": str(snap.positions.callsign[move.unit]),
                "site_kind": site["kind"], "site_id": site["id"], "site_name": site["name"],
                "lon": site["lon"], "lat": site["lat"], "drive_seconds": round(move.drive_s, 1),
                "gain": round(move.gain, 6), "coverage_before": move.before.as_dict(),
                "coverage_after": move.after.as_dict(),
                "computed_at": datetime.fromtimestamp(snap.at_s, timezone.utc)}


def demand_of(graph: RoadGraph, rows: list[tuple], *, snap_limit_m: float
              ) -> tuple[Demand, Snapped]:
    """The demand points of ``rows`` (kind "hotspot" or "cell", id, category, lon, lat in WGS-84,
    zone id or -1): a hotspot weighs its category's weight, a cell 1, a point outside the road
    data nothing (it is no gap)."""
    hotspot = np.array([r[0] == "hotspot" for r in rows], bool)
    weight = np.array([CATEGORY_WEIGHTS.get(r[2], 0.5) if h else 1.0
                       for r, h in zip(rows, hotspot)])
    points = snap_many(graph, [r[3] for r in rows], [r[4] for r in rows], limit_m=snap_limit_m)
    weight = np.where(points.on_road, weight, 0.0)
    zone = np.array([r[5] for r in rows], np.int64)
    return Demand(weight, hotspot, zone), points


def waiting_points(graph: RoadGraph, stations: list[tuple], demand_rows: list[tuple],
                   points: Snapped, *, snap_limit_m: float) -> tuple[list[dict], Snapped]:
    """Stations and posts (id, name, kind, lon, lat) on the network, then the road node nearest
    each hotspot of ``demand_rows`` (snapped as ``points``), once per node."""
    snaps = snap_many(graph, [s[3] for s in stations], [s[4] for s in stations],
                      limit_m=snap_limit_m).snaps()
    sites = [{"kind": "station", "id": s[0], "name": s[1], "lon": s[3], "lat": s[4]}
             for s, snap in zip(stations, snaps) if snap is not None]
    snaps = [s for s in snaps if s is not None]
    seen = set()
    for row, snap in zip(demand_rows, points.snaps()):
        if row[0] != "hotspot" or snap is None:
            continue
        node = int(graph.edge_head[snap.edge] if snap.fraction >= 0.5
                   else graph.edge_tail[snap.edge])
        if node in seen:
            continue
        seen.add(node)
        lon, lat = (float(v) for v in graph.node_lonlat[node])
        sites.append({"kind": "road_node", "id": None, "name": f"road node {node}", "lon": lon,
                      "lat": lat})
        snaps.append(at_node(graph, node))
    return sites, Snapped.of(snaps)


def _with_rows(cover: Cover, sites: Cover, rows: NDArray, site_rows: NDArray) -> Cover:
    """``cover`` with ``rows`` replaced by the cover of ``site_rows``."""
    within = {}
    for ring, m in cover.within.items():
        keep = np.ones(m.shape[0])
        keep[rows] = 0.0
        moved = sparse.csr_matrix((np.ones(len(rows)), (rows, site_rows)),
                                  shape=(m.shape[0], sites.within[ring].shape[0]))
        within[ring] = (sparse.diags(keep) @ m + moved @ sites.within[ring]).tocsr()
    return Cover(within)
