"""Move-up: which available units should move where, so that the 1/3/5-minute circles stay
closed while other units are busy. A pure decision over arrays (no database, no road search):
the service feeds it the drive-time tables of ``patrol.cover_tables``.

Coverage counts how many units reach each demand point (a 三圈 hotspot or a grid cell) within
60, 180 and 300 s. The objective is the expected coverage of the maximum expected covering
location problem (MEXCLP, Daskin 1983): a demand point reached by k units within 180 s is
served with probability 1 - q^k, q being the share of time a unit is busy. Hotspots (by
category weight) and grid cells (one each) count half each, so the objective is a share in
[0, 1].

:func:`recommend_moves` is the per-event rule of dynamic MEXCLP (Jagtenberg, Bhulai and van der
Mei 2015): greedily, the move (unit → waiting point) with the largest marginal gain in expected
coverage, up to a few moves. A move never takes a unit that is not movable (dispatched, already
relocating) and never leaves a demand point of the unit's own patrol zone unreached within 60 s
when that unit alone reaches it there (unless the waiting point reaches it too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

#: The rings, seconds: 1, 3 and 5 minutes.
RINGS = (60, 180, 300)
#: The ring of the objective and of double coverage (Gendreau, Laporte and Semet 1997).
STANDARD_S = 180
#: Default busy fraction q of MEXCLP.
DEFAULT_BUSY = 0.3


@dataclass(frozen=True)
class Demand:
    """Demand points: ``weight`` (a hotspot's category weight, 1 for a grid cell), ``hotspot``
    (True: a 三圈 hotspot, False: a grid cell), ``zone`` (patrol zone id, -1: none)."""

    weight: NDArray[np.float64]
    hotspot: NDArray[np.bool_]
    zone: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.weight)

    def objective_weight(self) -> NDArray[np.float64]:
        """Weights of the objective: hotspots and grid cells half each, so it sums to 1 (to the
        half that exists when one kind is missing). Worked out once (read-only)."""
        w = self.__dict__.get("_objective_weight")
        if w is None:
            w = np.zeros(len(self))
            for part in (self.hotspot, ~self.hotspot):
                total = self.weight[part].sum()
                if total > 0:
                    w[part] = 0.5 * self.weight[part] / total
            w.flags.writeable = False
            object.__setattr__(self, "_objective_weight", w)  # frozen: set once, here
        return w


@dataclass(frozen=True)
class Cover:
    """Rows (units or waiting points) × demand points: ``within[s][i, d]`` is 1 where row i
    reaches demand point d within s seconds (CSR, one matrix per ring of :data:`RINGS`)."""

    within: dict[int, sparse.csr_matrix]

    @classmethod
    def of(cls, rows: NDArray, cols: NDArray, seconds: NDArray, *, n_rows: int,
           n_demand: int) -> Cover:
        """From (row, demand point, drive seconds) triplets, one per pair at most; times beyond
        300 s are dropped."""
        key = rows.astype(np.int64) * n_demand + cols
        if len(key) > 1 and not (np.diff(key) > 0).all():
            order = np.argsort(key, kind="stable")
            rows, cols, seconds = rows[order], cols[order], seconds[order]
        within = {}
        for ring in RINGS:
            keep = seconds <= ring
            indptr = np.zeros(n_rows + 1, np.int64)
            np.cumsum(np.bincount(rows[keep], minlength=n_rows), out=indptr[1:])
            within[ring] = sparse.csr_matrix((np.ones(int(keep.sum())), cols[keep], indptr),
                                             shape=(n_rows, n_demand))
        return cls(within)

    def take(self, rows: NDArray[np.integer]) -> Cover:
        return Cover({ring: m[rows] for ring, m in self.within.items()})

    def counts(self, ring: int) -> NDArray[np.float64]:
        """How many rows reach each demand point within ``ring`` seconds."""
        return np.asarray(self.within[ring].sum(axis=0)).ravel()


@dataclass(frozen=True)
class Coverage:
    """Shares (0..1): hotspots (by weight) and grid cells reached within each ring, hotspots
    reached twice within 180 s, and the expected coverage (the objective)."""

    hotspots: dict[int, float]
    cells: dict[int, float]
    hotspots_double: float
    expected: float

    def as_dict(self) -> dict:
        return {"hotspots": {str(r // 60): round(v, 4) for r, v in self.hotspots.items()},
                "cells": {str(r // 60): round(v, 4) for r, v in self.cells.items()},
                "hotspots_double_3": round(self.hotspots_double, 4),
                "expected": round(self.expected, 5)}


def coverage(demand: Demand, counts: dict[int, NDArray], *, busy: float = DEFAULT_BUSY
             ) -> Coverage:
    """The coverage state of ``counts`` (per ring, units reaching each demand point)."""
    def share(part: NDArray, reached: NDArray) -> float:
        total = demand.weight[part].sum()
        return float(demand.weight[part & reached].sum() / total) if total > 0 else 0.0

    h, c = demand.hotspot, ~demand.hotspot
    k = counts[STANDARD_S]
    return Coverage({r: share(h, counts[r] >= 1) for r in RINGS},
                    {r: share(c, counts[r] >= 1) for r in RINGS}, share(h, k >= 2),
                    expected_coverage(demand.objective_weight(), k, busy))


def expected_coverage(weight: NDArray, k: NDArray, busy: float) -> float:
    """MEXCLP's objective: Σ w (1 - q^k). (A sum, not a BLAS dot: on a busy machine BLAS
    threads made this small product take milliseconds.)"""
    return float((weight * (1.0 - busy ** k)).sum())


@dataclass(frozen=True)
class Fleet:
    """The units that count: ``cover`` from where each stands (a relocating unit: its target),
    ``movable`` (available: may be moved), ``zone`` (its own patrol zone, -1: none) and
    ``to_site[i, j]``, the drive seconds from unit i to waiting point j (inf: too far)."""

    cover: Cover
    movable: NDArray[np.bool_]
    zone: NDArray[np.int64]
    to_site: NDArray[np.float64]


@dataclass(frozen=True)
class Move:
    """Unit (row of the fleet) → waiting point (row of the sites), its drive seconds, the gain
    in expected coverage, and the coverage before and after it (earlier moves applied)."""

    unit: int
    site: int
    drive_s: float
    gain: float
    before: Coverage
    after: Coverage


def recommend_moves(demand: Demand, fleet: Fleet, sites: Cover, *, busy: float = DEFAULT_BUSY,
                    max_moves: int = 3, max_drive_s: float = 600.0, min_gain: float = 1e-4
                    ) -> list[Move]:
    """At most ``max_moves`` moves, greedily by marginal expected coverage (see the module);
    each gains at least ``min_gain`` (a share of the objective) and drives at most
    ``max_drive_s`` seconds. A unit moves at most once.

    A move to site s gains at most what one more unit at s would add, so the sites are tried
    in blocks by that bound, best first, until no later site can beat the best move found."""
    counts = {r: fleet.cover.counts(r) for r in RINGS}
    return _greedy(demand, fleet, sites, counts, busy=busy, max_moves=max_moves,
                   max_drive_s=max_drive_s, min_gain=min_gain)


def moves_after_dispatch(demand: Demand, fleet: Fleet, sites: Cover, *,
                         busy: float = DEFAULT_BUSY, reach_s: float = STANDARD_S,
                         max_drive_s: float = 600.0) -> dict[int, Move]:
    """Per movable unit (row of the fleet), the move :func:`recommend_moves` would make first
    once that unit is gone (dispatched), over the waiting points it reaches within ``reach_s``
    seconds (the hole it leaves); units with no such move are left out. The moves' units are
    rows of ``fleet``, their sites rows of ``sites``.

    The same answer as :func:`recommend_moves` on the fleet without the unit, with less work:
    the counts are the whole fleet's less the unit's row, and the unit stays in the tables as
    one that may not move, so no table is copied per unit."""
    counts = {r: fleet.cover.counts(r) for r in RINGS}
    hints = {}
    for i in np.flatnonzero(fleet.movable):
        near = np.flatnonzero(fleet.to_site[i] <= reach_s)
        if not len(near):
            continue
        movable = fleet.movable.copy()
        movable[i] = False
        without = Fleet(fleet.cover, movable, fleet.zone, fleet.to_site[:, near])
        left = {r: counts[r] - _row(fleet.cover.within[r], i) for r in RINGS}
        moves = _greedy(demand, without, sites.take(near), left, busy=busy, max_moves=1,
                        max_drive_s=max_drive_s, min_gain=1e-4)
        if moves:
            m = moves[0]
            hints[int(i)] = Move(m.unit, int(near[m.site]), m.drive_s, m.gain, m.before, m.after)
    return hints


def _greedy(demand: Demand, fleet: Fleet, sites: Cover, counts: dict[int, NDArray], *,
            busy: float, max_moves: int, max_drive_s: float, min_gain: float) -> list[Move]:
    """:func:`recommend_moves` from the fleet's ``counts`` (per ring), which it updates."""
    c = _Candidates.of(demand, fleet, max_drive_s)
    moves: list[Move] = []
    before = coverage(demand, counts, busy=busy)
    while len(moves) < max_moves and c.allowed.any():
        found = c.best(sites, counts, busy)
        if found is None or not found[2] >= min_gain:
            break
        u, s, gain = found
        # A unit moves once, so its row is never looked at again: only the counts change.
        for r in RINGS:
            counts[r] = (counts[r] - _row(fleet.cover.within[r], c.units[u])
                         + _row(sites.within[r], s))
        after = coverage(demand, counts, busy=busy)
        moves.append(Move(int(c.units[u]), int(s), float(c.to_site[c.units[u], s]),
                          float(gain), before, after))
        c.allowed[u, :] = False
        before = after
    return moves


def pair_gains(demand: Demand, fleet: Fleet, sites: Cover, *, busy: float = DEFAULT_BUSY,
               max_drive_s: float = 600.0) -> tuple[NDArray, NDArray, NDArray]:
    """The gain in expected coverage of every single move: (gain[i, j] for unit ``units[i]``
    to site ``near[j]``, -inf where the move is not allowed; units; near), over the movable
    units and the sites any of them reaches within ``max_drive_s``."""
    c = _Candidates.of(demand, fleet, max_drive_s)
    near = np.flatnonzero(c.allowed.any(axis=0))
    counts = {r: fleet.cover.counts(r) for r in (60, STANDARD_S)}
    return c.gains(sites, counts, busy, near), c.units, near


#: Sites whose gains are worked out at once.
_BLOCK = 48


@dataclass
class _Candidates:
    """The movable units (rows of the gain matrix) and where each may go."""

    demand: Demand
    units: NDArray[np.int64]
    allowed: NDArray[np.bool_]  # units × all sites
    to_site: NDArray[np.float64]  # of the whole fleet
    zone: NDArray[np.int64]
    mine: dict  # ring → the units' cover (60 and 180 s)

    @classmethod
    def of(cls, demand: Demand, fleet: Fleet, max_drive_s: float) -> _Candidates:
        allowed = fleet.movable[:, None] & (fleet.to_site <= max_drive_s)
        units = np.flatnonzero(allowed.any(axis=1))
        return cls(demand, units, allowed[units], fleet.to_site, fleet.zone[units],
                   {r: fleet.cover.within[r][units] for r in (60, STANDARD_S)})

    def best(self, sites: Cover, counts: dict, busy: float) -> tuple[int, int, float] | None:
        """The best allowed move (unit row, site, gain), None when none is allowed."""
        marginals = _marginals(self.demand.objective_weight(), counts[STANDARD_S], busy)
        bound = sites.within[STANDARD_S] @ marginals[0]
        near = np.flatnonzero(self.allowed.any(axis=0))
        order = near[np.argsort(-bound[near], kind="stable")]
        sole = _sole_cover(self.demand, self.zone, counts[60], self.mine[60])
        best = None
        for start in range(0, len(order), _BLOCK):
            block = order[start:start + _BLOCK]
            if best is not None and bound[block[0]] <= best[2]:
                break  # no site from here on can gain more
            gain = self.gains(sites, counts, busy, block, sole=sole, marginals=marginals)
            u, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
            if np.isfinite(gain[u, j]) and (best is None or gain[u, j] > best[2]):
                best = (int(u), int(block[j]), float(gain[u, j]))
        return best

    def gains(self, sites: Cover, counts: dict, busy: float, block: NDArray, *,
              sole: tuple | None = None, marginals: tuple | None = None
              ) -> NDArray[np.float64]:
        """gain[u, j] of moving unit row u to site ``block[j]`` (-inf: not allowed);
        ``sole`` and ``marginals``: as worked out for these counts already."""
        theirs = {r: sites.within[r][block].T.tocsr() for r in (60, STANDARD_S)}
        add, lose = marginals or _marginals(self.demand.objective_weight(),
                                            counts[STANDARD_S], busy)
        gain = _gains(add, lose, self.mine[STANDARD_S], theirs[STANDARD_S])
        mine, needed = sole or _sole_cover(self.demand, self.zone, counts[60], self.mine[60])
        ok = self.allowed[:, block] & ((mine @ theirs[60]).toarray() >= needed[:, None])
        return np.where(ok, gain, -np.inf)


def _marginals(weight: NDArray, k: NDArray, busy: float) -> tuple[NDArray, NDArray]:
    """Per demand point, what one more unit adds (w q^k (1-q)) and what one fewer takes
    (w q^(k-1) (1-q); nothing where no unit reaches it)."""
    add = weight * busy ** k * (1.0 - busy)
    lose = np.where(k >= 1, weight * busy ** np.maximum(k - 1, 0) * (1.0 - busy), 0.0)
    return add, lose


def _gains(add: NDArray, lose: NDArray, units: sparse.csr_matrix, sites_t: sparse.csr_matrix
           ) -> NDArray[np.float64]:
    """gain[u, s]: the change of expected coverage if unit u left its place for site s (``add``
    and ``lose``: :func:`_marginals`): the points only s reaches gain, those only u reaches
    lose, those both reach keep theirs."""
    both = (units @ sparse.diags(add - lose, format="csr") @ sites_t).toarray()
    return (sites_t.T @ add)[None, :] - (units @ lose)[:, None] - both


def _sole_cover(demand: Demand, unit_zone: NDArray, k60: NDArray, units60: sparse.csr_matrix
                ) -> tuple[sparse.csr_matrix, NDArray]:
    """The points of each unit's own zone that it alone reaches within 60 s (units × demand),
    and how many: a move may leave only to a site that reaches all of them within 60 s."""
    coo = units60.tocoo()
    sole = (k60[coo.col] == 1) & (demand.zone[coo.col] == unit_zone[coo.row]) & (
        unit_zone[coo.row] >= 0)
    mine = sparse.csr_matrix((np.ones(int(sole.sum())), (coo.row[sole], coo.col[sole])),
                             shape=units60.shape)
    return mine, np.asarray(mine.sum(axis=1)).ravel()


def _row(m: sparse.csr_matrix, i: int) -> NDArray:
    """Row i of ``m`` as a dense array (read from the CSR arrays: scipy's indexing costs more
    than the row)."""
    out = np.zeros(m.shape[1])
    lo, hi = m.indptr[i], m.indptr[i + 1]
    np.add.at(out, m.indices[lo:hi], m.data[lo:hi])
    return out


def moved_counts(fleet_cover: Cover, sites: Cover, moves: list[tuple[int, int]]
                 ) -> dict[int, NDArray]:
    """Per ring, the units reaching each demand point after ``moves`` (unit row → site row)."""
    counts = {r: fleet_cover.counts(r) for r in RINGS}
    for r in RINGS:
        for u, s in moves:
            counts[r] = counts[r] - _row(fleet_cover.within[r], u) + _row(sites.within[r], s)
    return counts
