"""Cleaning a unit's GPS fixes before they are stored and matched: a pure function.

Every fix gets a status, in the order the fixes arrive:

- ``duplicate``: the same time and position as a fix already kept: dropped;
- ``backwards``: a time at or before the last kept fix's time (and not a duplicate): rejected;
- ``jump``: reached from the last good fix only faster than ``max_speed_kph`` (great-circle
  distance over time): kept and reported, but left out of map matching, and later fixes are
  measured from the last good fix, so one wild fix does not hide the next good one;
- ``ok``: kept and matched.

Positions in GCJ-02 or BD-09 are converted to WGS-84 first; the statuses are per fix, never
all-or-nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from patrol.errors import Invalid
from routing.coords import CoordSystem, to_wgs84

#: Default fastest plausible speed between two fixes (km/h).
MAX_SPEED_KPH = 150.0
_EARTH_RADIUS_M = 6371008.8


class FixStatus(str, Enum):
    """What cleaning decided about one fix (see the module)."""

    OK = "ok"
    DUPLICATE = "duplicate"
    BACKWARDS = "backwards"
    JUMP = "jump"


@dataclass(frozen=True)
class CleanTrack:
    """Fixes in arrival order with WGS-84 lon/lat, times (seconds, as given), each fix's status
    and the speed (km/h) from the last good fix before it (NaN for the first)."""

    times: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    status: list[FixStatus]
    speed_kph: NDArray[np.float64]

    @property
    def kept(self) -> NDArray[np.bool_]:
        """Fixes to store: good ones and jumps."""
        return np.array([s in (FixStatus.OK, FixStatus.JUMP) for s in self.status], bool)

    @property
    def for_matching(self) -> NDArray[np.bool_]:
        """Fixes to match: the good ones (times increase strictly along them)."""
        return np.array([s is FixStatus.OK for s in self.status], bool)

    def counts(self) -> dict[str, int]:
        """How many fixes got each status."""
        return {s.value: sum(1 for x in self.status if x is s) for s in FixStatus}


def clean_track(times: ArrayLike, lon: ArrayLike, lat: ArrayLike, *,
                crs: CoordSystem | str = CoordSystem.WGS84, max_speed_kph: float = MAX_SPEED_KPH,
                last: tuple[float, float, float] | None = None) -> CleanTrack:
    """Clean fixes given as times (seconds) and lon/lat degrees in ``crs``.

    ``last`` is the unit's last good fix already stored (time in seconds, WGS-84 lon, lat), so
    that a track continued in a later report is judged against it.
    """
    t = np.asarray(times, dtype=np.float64).ravel()
    if not math.isfinite(max_speed_kph) or max_speed_kph <= 0:
        raise Invalid(f"the largest speed must be a positive number of km/h, got {max_speed_kph}")
    if not np.isfinite(t).all():
        raise Invalid("every fix needs a finite time")
    wlon, wlat = (np.atleast_1d(v).astype(np.float64) for v in to_wgs84(lon, lat, crs))
    if not len(t) == len(wlon) == len(wlat):
        raise Invalid("times, longitudes and latitudes must have the same length")
    status, speed = _judge(t, wlon, wlat, max_speed_kph, last)
    return CleanTrack(t, wlon, wlat, status, speed)


def _judge(t: NDArray, lon: NDArray, lat: NDArray, max_speed_kph: float,
           last: tuple[float, float, float] | None) -> tuple[list[FixStatus], NDArray]:
    status: list[FixStatus] = []
    speed = np.full(len(t), np.nan)
    seen: set[tuple[float, float, float]] = set()
    newest = last[0] if last else -math.inf
    good = last
    for i in range(len(t)):
        key = (t[i], round(lon[i], 7), round(lat[i], 7))
        if key in seen or (last and key == (last[0], round(last[1], 7), round(last[2], 7))):
            status.append(FixStatus.DUPLICATE)
            continue
        if t[i] <= newest:
            status.append(FixStatus.BACKWARDS)
            continue
        seen.add(key)
        newest = t[i]
        if good is not None:
            metres = _haversine_m(good[1], good[2], lon[i], lat[i])
            speed[i] = metres / (t[i] - good[0]) * 3.6
        if speed[i] > max_speed_kph:
            status.append(FixStatus.JUMP)
            continue
        status.append(FixStatus.OK)
        good = (t[i], lon[i], lat[i])
    return status, speed


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (metres) between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
