"""The periodic rebalance: the double standard model (Gendreau, Laporte and Semet 1997) over the
units as they stand, solved exactly with HiGHS (a mixed-integer program).

Where the per-event rule (``patrol.moveup.recommend_moves``) adds one move at a time, the
rebalance chooses a set of at most ``max_moves`` moves together. Variables: ``x[p]`` (binary) for
each candidate pair p = (unit, waiting point); ``z1[d]`` and ``z2[d]`` (0..1): demand point d is
reached within 180 s at least once, at least twice. With K[d] the units reaching d now, U and S
the cover of units and waiting points:

    maximise   Σ w (z1 + z2) − ε Σ drive_s[p] x[p]
    subject to z1[d] + z2[d] − Σ_p x[p] (S[j(p), d] − U[u(p), d]) ≤ K[d]   (units reaching d)
               z2[d] ≤ z1[d]
               Σ w z1 ≥ the weight reached once now   (α of the model: never below today's)
               Σ_{p of unit u} x[p] ≤ 1,   Σ_p x[p] ≤ max_moves

Integral counts make the optimal z integral, so z stays continuous. Candidate pairs are each
movable unit's ``per_unit`` best waiting points by single-move gain (those that keep the unit's
sole 1-minute cover of its zone, as the per-event rule's), the ``max_pairs`` best of those that
gain; the program is exact over them.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from patrol.moveup import (DEFAULT_BUSY, RINGS, STANDARD_S, Cover, Coverage, Demand, Fleet,
                           coverage, moved_counts, pair_gains)

#: Objective weight per second of driving: 600 s weighs 0.0006 of the city's demand.
DRIVE_PENALTY = 1e-6


@dataclass(frozen=True)
class Rebalance:
    """The chosen moves (unit row, site row, drive seconds), coverage before and after, and the
    solver's status, objective bound gap and seconds."""

    moves: list[tuple[int, int, float]]
    before: Coverage
    after: Coverage
    status: str
    gap: float
    seconds: float


def rebalance(demand: Demand, fleet: Fleet, sites: Cover, *, max_moves: int = 5,
              max_drive_s: float = 600.0, per_unit: int = 4, max_pairs: int = 400,
              busy: float = DEFAULT_BUSY,
              time_limit_s: float = 10.0) -> Rebalance:
    """The best set of at most ``max_moves`` moves under the double standard model."""
    weight = demand.objective_weight()
    k = fleet.cover.counts(STANDARD_S)
    units, site_of = _pairs(demand, fleet, sites, busy=busy, max_drive_s=max_drive_s,
                            per_unit=per_unit, max_pairs=max_pairs)
    counts = {r: fleet.cover.counts(r) for r in RINGS}
    before = coverage(demand, counts, busy=busy)
    if not len(units) or max_moves < 1:
        return Rebalance([], before, before, "no candidate move", 0.0, 0.0)
    change = (sites.within[STANDARD_S][site_of] - fleet.cover.within[STANDARD_S][units]).tocsc()
    touched = np.flatnonzero(change.getnnz(axis=0))
    moved, status, gap, seconds = _solve(weight, k, change, touched, units,
                                         fleet.to_site[units, site_of], max_moves, time_limit_s)
    chosen = [(int(units[p]), int(site_of[p]), float(fleet.to_site[units[p], site_of[p]]))
              for p in moved]
    after = moved_counts(fleet.cover, sites, [(u, s) for u, s, _ in chosen])
    return Rebalance(chosen, before, coverage(demand, after, busy=busy), status, gap, seconds)


def _pairs(demand: Demand, fleet: Fleet, sites: Cover, *, busy: float, max_drive_s: float,
           per_unit: int, max_pairs: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Candidate (unit, site) pairs: of each movable unit's ``per_unit`` best sites by single
    gain, those that gain, at most ``max_pairs`` of them, the best first."""
    gain, units, near = pair_gains(demand, fleet, sites, busy=busy, max_drive_s=max_drive_s)
    if not len(units):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    top = min(per_unit, gain.shape[1])
    best = np.argpartition(-gain, top - 1, axis=1)[:, :top]
    rows = np.repeat(np.arange(len(units)), top)
    cols = best.ravel()
    value = gain[rows, cols]
    keep = np.flatnonzero(value > 0)
    keep = keep[np.argsort(-value[keep], kind="stable")[:max_pairs]]
    return units[rows[keep]], near[cols[keep]]


def _solve(weight: NDArray, k: NDArray, change: sparse.csc_matrix, touched: NDArray,
           units: NDArray, drive_s: NDArray, max_moves: int, time_limit_s: float
           ) -> tuple[list[int], str, float, float]:
    """Build and solve the program (columns: pairs, then z1 and z2 of the touched demand)."""
    n_pair, n_dem = len(units), len(touched)
    w = weight[touched]
    kd = k[touched]
    # Rows: one cover row per touched demand point, z2 ≤ z1, α, one per unit, the move limit.
    cover = sparse.hstack([-change[:, touched].T, sparse.eye(n_dem), sparse.eye(n_dem)])
    order = sparse.hstack([sparse.csr_matrix((n_dem, n_pair)), -sparse.eye(n_dem),
                           sparse.eye(n_dem)])
    alpha = sparse.hstack([sparse.csr_matrix((1, n_pair)), sparse.csr_matrix(w),
                           sparse.csr_matrix((1, n_dem))])
    unit_ids, unit_of = np.unique(units, return_inverse=True)
    one_each = sparse.hstack([sparse.csr_matrix((np.ones(n_pair), (unit_of, np.arange(n_pair))),
                                                shape=(len(unit_ids), n_pair)),
                              sparse.csr_matrix((len(unit_ids), 2 * n_dem))])
    limit = sparse.hstack([sparse.csr_matrix(np.ones((1, n_pair))),
                           sparse.csr_matrix((1, 2 * n_dem))])
    a = sparse.vstack([cover, order, alpha, one_each, limit]).tocsc()
    inf = highspy.kHighsInf
    lower = np.concatenate([np.full(2 * n_dem, -inf), [float(w @ (kd >= 1))],
                            np.full(len(unit_ids) + 1, -inf)])
    upper = np.concatenate([kd, np.zeros(n_dem), [inf], np.ones(len(unit_ids)), [max_moves]])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_pair + 2 * n_dem, a.shape[0]
    lp.col_cost_ = np.concatenate([-DRIVE_PENALTY * np.minimum(drive_s, 1e6), w, w])
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.ones(lp.num_col_)
    lp.row_lower_, lp.row_upper_ = lower, upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_pair + [
        highspy.HighsVarType.kContinuous] * (2 * n_dem)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value[:n_pair]) if n_pair else np.zeros(0)
    return ([int(p) for p in np.flatnonzero(x > 0.5)], status, float(info.mip_gap),
            float(h.getRunTime()))
