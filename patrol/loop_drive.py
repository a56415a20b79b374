"""A simulated car driving its patrol loop on the plan's timetable: round after round from the
station, at constant speed between stops, waiting each target's dwell at its stop (where the
plan's loop reaches it), so that a round takes the loop's duration.

``skip`` makes the car skip targets on purpose (to test compliance): a stop whose arrival falls
in a skipped time range is driven past without stopping, and the car waits that dwell at the
previous stop instead (at the station for the first stop), so the rest of its round keeps time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from routing.compiled import RoadGraph


@dataclass(frozen=True)
class Skip:
    """Drive past ``target_id`` in every round that reaches it in [start_s, end_s) (seconds
    since 1970)."""

    target_id: int
    start_s: float
    end_s: float


class LoopDrive:
    """Positions of a car on a loop (see the module). ``path``: the loop's WGS-84 vertices;
    ``stops``: the plan's stops (``target_id``, ``lon``, ``lat``, ``arrive_s`` from the loop's
    start); ``dwell_s``: seconds spent at each target; ``start_s``: when the first round
    begins (seconds since 1970; default now)."""

    def __init__(self, graph: RoadGraph, path: list[list[float]] | NDArray, stops: list[dict],
                 dwell_s: dict[int, float], duration_s: float, *, start_s: float | None = None,
                 skip: tuple[Skip, ...] = ()) -> None:
        lonlat = np.asarray(path, dtype=np.float64)
        x, y = graph.to_metric.transform(lonlat[:, 0], lonlat[:, 1])
        self.graph = graph
        self.x, self.y = np.asarray(x), np.asarray(y)
        self.along = np.r_[0.0, np.cumsum(np.hypot(np.diff(self.x), np.diff(self.y)))]
        self.duration_s = float(duration_s)
        self.start_s = time.time() if start_s is None else float(start_s)
        self.clock = self.start_s
        self.stop_ids = [int(s["target_id"]) for s in stops]
        self.arrive = np.array([float(s["arrive_s"]) for s in stops])
        self.dwell = np.array([float(dwell_s.get(i, 0.0)) for i in self.stop_ids])
        self.stop_along = self.along[self._stop_vertices(stops)]
        self.skip = tuple(skip)

    def _stop_vertices(self, stops: list[dict]) -> list[int]:
        """The path vertex of each stop, in order along the loop."""
        if not stops:
            return []
        sx, sy = self.graph.to_metric.transform([s["lon"] for s in stops],
                                                [s["lat"] for s in stops])
        found, after = [], 0
        for px, py in zip(sx, sy):
            gap = np.hypot(self.x[after:] - px, self.y[after:] - py)
            close = np.flatnonzero(gap <= 1.0)
            after += int(close[0]) if len(close) else int(np.argmin(gap))
            found.append(after)
        return found

    def _knots(self, skipped: NDArray[np.bool_]) -> tuple[NDArray, NDArray]:
        """(seconds into the round, metres along the loop) where the car's speed changes; a
        skipped stop's dwell is spent at the last stop before it that is not skipped."""
        dwell, wait_at_start = self.dwell.copy(), 0.0
        for i in np.flatnonzero(skipped):
            kept = np.flatnonzero(~skipped[:i])
            if len(kept):
                dwell[kept[-1]] += self.dwell[i]
            else:
                wait_at_start += self.dwell[i]
            dwell[i] = 0.0
        leave = self.arrive + self.dwell
        drive = self.arrive - np.r_[0.0, leave[:-1]]
        arrive = wait_at_start + np.cumsum(drive + np.r_[0.0, dwell[:-1]])
        t = np.concatenate([[0.0, wait_at_start],
                            np.column_stack([arrive, arrive + dwell]).ravel(), [self.duration_s]])
        d = np.concatenate([[0.0, 0.0], np.repeat(self.stop_along, 2), [self.along[-1]]])
        return t, d

    def metric_positions(self, times: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
        """x, y (metres, the graph's metric CRS) at ``times`` (seconds since 1970)."""
        times = np.asarray(times, dtype=np.float64)
        elapsed = times - self.start_s
        rounds = np.floor(elapsed / self.duration_s)
        phase = elapsed - rounds * self.duration_s
        along = np.interp(phase, *self._knots(np.zeros(len(self.dwell), bool)))
        for r in np.unique(rounds):
            skipped = self._skipped(float(r))
            if skipped.any():
                mine = rounds == r
                along[mine] = np.interp(phase[mine], *self._knots(skipped))
        return np.interp(along, self.along, self.x), np.interp(along, self.along, self.y)

    def _skipped(self, round_number: float) -> NDArray[np.bool_]:
        """Which stops the car drives past in this round."""
        arrive = self.start_s + round_number * self.duration_s + self.arrive
        out = np.zeros(len(self.arrive), bool)
        for s in self.skip:
            out |= (np.array(self.stop_ids) == s.target_id) & (arrive >= s.start_s) & (
                arrive < s.end_s)
        return out

    def positions(self, times: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
        """WGS-84 lon, lat at ``times`` (seconds since 1970)."""
        x, y = self.metric_positions(times)
        lon, lat = self.graph.to_lonlat.transform(x, y)
        return np.asarray(lon), np.asarray(lat)

    def advance(self, seconds: float) -> tuple[float, float]:
        """Drive ``seconds`` further (the simulator's clock); the lon/lat reached."""
        self.clock += seconds
        lon, lat = self.positions(np.array([self.clock]))
        return float(lon[0]), float(lat[0])
