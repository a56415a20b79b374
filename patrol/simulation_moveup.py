"""Move-up in the simulation, as the service advises it: after each dispatch, the move that
fills the hole the unit leaves (the move hint of the alarm's answer): the best single move by
dynamic MEXCLP (:func:`patrol.moveup.recommend_moves`) over the waiting points the dispatched
unit reached within 3 minutes from where it was bound, the other dispatchable units counted
where they are bound (a unit driving home or to a waiting point counts there). Units standing
or driving home may be moved; a move must gain at least ``min_gain`` of the expected coverage.

The units' cover rows are kept between events and searched again only for the units whose
place changed (``patrol.cover_tables`` keeps each unit's row by its road position)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

import sqlalchemy as sa

from patrol.cover_tables import CoverTables
from patrol.moveup import DEFAULT_BUSY, Cover, Fleet, recommend_moves
from patrol.moveup_live import SITE_KINDS, demand_of, waiting_points
from patrol.simulation import FleetView, Move, MovePolicy
from patrol.simulation_fleet import AVAILABLE, DISPATCHABLE, RETURNING
from routing import RoadGraph, Snapped
from zones import move_store

#: The hole a dispatched unit leaves: the waiting points it reached within this, seconds.
HOLE_S = 180.0


def moveup_factory(engine: sa.Engine, graph: RoadGraph, *, snap_limit_m: float,
                   min_gain: float = 1e-3) -> Callable[[], MovePolicy]:
    """A maker of move-up policies on the service's demand (hotspots and grid cells with
    their patrol zones), waiting points and units' zones; the tables are built once (one
    bounded search per waiting point) and shared by the policies it makes."""
    with engine.connect() as conn:
        rows = move_store.demand_rows(conn)
        stations = move_store.site_rows(conn, kinds=SITE_KINDS)
        unit_zone = move_store.unit_zones(conn)
    demand, points = demand_of(graph, rows, snap_limit_m=snap_limit_m)
    _, sites = waiting_points(graph, stations, rows, points, snap_limit_m=snap_limit_m)
    tables = CoverTables.build(graph, demand, points, sites)
    return lambda: MoveUpPolicy(tables, sites, unit_zone=unit_zone, min_gain=min_gain)


class MoveUpPolicy:
    """A move-up policy (``patrol.simulation.MovePolicy``) over the coverage tables ``tables``
    whose waiting points are ``sites`` (road positions); ``unit_zone``: each unit's own patrol
    zone (-1 or missing: none)."""

    def __init__(self, tables: CoverTables, sites: Snapped, *, unit_zone: dict[int, int] | None = None,
                 busy: float = DEFAULT_BUSY, min_gain: float = 1e-3,
                 max_drive_s: float = 600.0) -> None:
        self.tables, self.sites, self.unit_zone = tables, sites, unit_zone or {}
        self.busy, self.min_gain, self.max_drive_s = busy, min_gain, max_drive_s
        self._row: dict[int, int] = {}
        self._keys: list[tuple] = []
        self._cover: Cover | None = None
        self._to_site = np.zeros((0, len(sites)))

    def __call__(self, view: FleetView) -> list[Move]:
        if view.event != "dispatch":
            return []
        subject = self._row.get(view.subject)
        hole = (np.flatnonzero(self._to_site[subject] <= HOLE_S) if subject is not None
                else np.zeros(0, np.int64))
        counted = np.flatnonzero(np.isin(view.state, DISPATCHABLE))
        rows = self._update(view, counted)
        if not len(hole) or not len(counted):
            return []
        ids, at = view.unit_id[counted], rows[counted]
        movable = np.isin(view.state[counted], (AVAILABLE, RETURNING))
        zone = np.array([self.unit_zone.get(int(u), -1) for u in ids], np.int64)
        fleet = Fleet(self._cover.take(at), movable, zone, self._to_site[np.ix_(at, hole)])
        moves = recommend_moves(self.tables.demand, fleet, self.tables.sites.take(hole),
                                busy=self.busy, max_moves=1, max_drive_s=self.max_drive_s,
                                min_gain=self.min_gain)
        return [Move(int(ids[m.unit]), self.sites.snap(int(hole[m.site]))) for m in moves]

    def _update(self, view: FleetView, counted: NDArray[np.int64]) -> NDArray[np.int64]:
        """Bring the kept rows of the ``counted`` units up to date with where each is bound;
        each unit's row."""
        for unit in view.unit_id.tolist():
            if unit not in self._row:
                self._row[unit] = len(self._row)
                self._keys.append(None)
        rows = np.array([self._row[u] for u in view.unit_id.tolist()], np.int64)
        keys = dict(zip(counted.tolist(), zip(view.bound_for.edge[counted].tolist(),
                                              np.round(view.bound_for.fraction[counted],
                                                       3).tolist())))
        changed = [i for i, k in keys.items() if self._keys[rows[i]] != k]
        if changed:
            cover, to_site = self.tables.fleet_rows(view.unit_id[changed],
                                                    view.bound_for.take(changed))
            self._replace(rows[changed], cover, to_site)
            for i in changed:
                self._keys[rows[i]] = keys[i]
        return rows

    def _replace(self, rows: NDArray[np.int64], cover: Cover, to_site: NDArray) -> None:
        n = len(self._row)
        if self._to_site.shape[0] < n:
            grown = np.full((n, self._to_site.shape[1]), np.inf)
            grown[:self._to_site.shape[0]] = self._to_site
            self._to_site = grown
        self._to_site[rows] = to_site
        within = {}
        for ring, new in cover.within.items():
            old = (self._cover.within[ring] if self._cover is not None
                   else sparse.csr_matrix((0, new.shape[1])))
            old = sparse.vstack([old, sparse.csr_matrix((n - old.shape[0], new.shape[1]))],
                                format="csr") if old.shape[0] < n else old
            keep = np.ones(n)
            keep[rows] = 0.0
            place = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))),
                                      shape=(n, len(rows)))
            within[ring] = (sparse.diags(keep) @ old + place @ new).tocsr()
        self._cover = Cover(within)
