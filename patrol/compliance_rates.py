"""Visit rates (见警率) from a :class:`~patrol.compliance.Compliance`: per target, per zone and
per zone and shift, as JSON-ready rows.

A rate is the share of windows visited: of one target's windows, or of all the windows of a
zone's targets (``weighted_rate``: each target's windows count with its weight). A shift's rate
counts only the windows that start within it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from numpy.typing import NDArray

from patrol.compliance import Compliance, Shifts


def iso(seconds: float) -> str:
    """Seconds since 1970 as ISO 8601 UTC (``…Z``)."""
    return datetime.fromtimestamp(float(seconds), timezone.utc).isoformat().replace(
        "+00:00", "Z")


def _rate(visited: NDArray, total: NDArray) -> NDArray:
    return np.where(total > 0, visited / np.maximum(total, 1e-12), np.nan)


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def target_rates(result: Compliance, *, names: dict[int, str] | None = None) -> list[dict]:
    """One row per target: id, zone, kind, name, windows, visited, rate."""
    t = result.targets
    windows = result.visited.shape[1]
    visited = result.visited.sum(axis=1)
    names = names or {}
    return [{"target_id": int(t.id[i]), "zone_id": int(t.zone_id[i]), "kind": str(t.kind[i]),
             "name": names.get(int(t.id[i]), ""), "windows": windows,
             "visited": int(visited[i]), "rate": _round(visited[i] / max(windows, 1))}
            for i in range(len(t.id))]


def _grouped(result: Compliance, group: NDArray, columns: NDArray[np.bool_]
             ) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Per group of targets, over ``columns``: (groups, target-windows, visited, weighted
    windows, weighted visited)."""
    groups, inverse = np.unique(group, return_inverse=True)
    n_windows = columns.sum()
    visited = result.visited[:, columns].sum(axis=1)
    weight = result.targets.weight
    total = np.bincount(inverse, minlength=len(groups)) * n_windows
    hits = np.bincount(inverse, visited, minlength=len(groups))
    w_total = np.bincount(inverse, weight * n_windows, minlength=len(groups))
    w_hits = np.bincount(inverse, weight * visited, minlength=len(groups))
    return groups, total, hits, w_total, w_hits


def zone_rates(result: Compliance) -> list[dict]:
    """One row per zone: targets, target-windows, visited, rate and weighted rate."""
    every = np.ones(result.visited.shape[1], bool)
    zones, total, hits, w_total, w_hits = _grouped(result, result.targets.zone_id, every)
    counts = np.bincount(np.unique(result.targets.zone_id, return_inverse=True)[1])
    rate, w_rate = _rate(hits, total), _rate(w_hits, w_total)
    return [{"zone_id": int(z), "targets": int(counts[i]), "target_windows": int(total[i]),
             "visited": int(hits[i]), "rate": _round(rate[i]),
             "weighted_rate": _round(w_rate[i])} for i, z in enumerate(zones)]


def shift_rates(result: Compliance, shifts: Shifts) -> list[dict]:
    """One row per zone and shift (in time order): the shift's start and end (UTC), its local
    start hour, the windows in it and the zone's rates over them."""
    day, shift = shifts.of(result.window_start)
    rows = []
    keys = sorted(set(zip(day.tolist(), shift.tolist())))
    for d, s in keys:
        columns = (day == d) & (shift == s)
        zones, total, hits, w_total, w_hits = _grouped(result, result.targets.zone_id, columns)
        rate, w_rate = _rate(hits, total), _rate(w_hits, w_total)
        begin = shifts.start_of(d, s)
        end = shifts.start_of(d + (s + 1) // len(shifts.starts_h), (s + 1) % len(shifts.starts_h))
        rows += [{"zone_id": int(z), "shift_start": iso(begin), "shift_end": iso(end),
                  "local_start_h": shifts.starts_h[s], "windows": int(columns.sum()),
                  "target_windows": int(total[i]), "visited": int(hits[i]),
                  "rate": _round(rate[i]), "weighted_rate": _round(w_rate[i])}
                 for i, z in enumerate(zones)]
    return sorted(rows, key=lambda r: (r["zone_id"], r["shift_start"]))


def window_rows(result: Compliance, *, names: dict[int, str] | None = None) -> list[dict]:
    """One row per target and window: the CSV's content (times ISO 8601 UTC)."""
    t, names = result.targets, names or {}
    rows = []
    for i in range(len(t.id)):
        for w, start in enumerate(result.window_start):
            first = result.first_s[i, w]
            rows.append({"target_id": int(t.id[i]), "zone_id": int(t.zone_id[i]),
                         "kind": str(t.kind[i]), "name": names.get(int(t.id[i]), ""),
                         "window_start": iso(start), "window_end": iso(start + result.window_s),
                         "visited": bool(result.visited[i, w]),
                         "first_visit": iso(first) if np.isfinite(first) else None,
                         "unit_id": int(result.unit[i, w]) if result.unit[i, w] >= 0 else None,
                         "dwell_s": float(t.dwell_s[i]),
                         "longest_stay_s": round(float(result.longest_s[i, w]), 1)})
    return rows
