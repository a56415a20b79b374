"""Simulated incidents: when they come, where, how urgent, and how long a unit stays on scene.

Everything is drawn up front from one seeded numpy ``Generator``, in a fixed order, so that
the same seed gives the same incidents whatever the simulation then does with them (with and
without move-up alike).

- **When.** A Poisson process: exponential gaps at ``rate_per_h`` per hour over ``hours``.
- **Where.** A mix (:class:`IncidentMix`): a share near the 三圈 and transport hotspots, the
  hotspot chosen with a weight by category (busy malls and hubs more often than a school),
  the place scattered around it (normal, ``hotspot_spread_m`` metres per axis); the rest
  uniformly over the grid cells (a cell at random, a place within ``cell_radius_m`` of its
  centre), which puts them where the roads are. A place farther than the snapping limit from
  every road is dropped and counted.
- **How urgent.** Priorities 1 (most urgent) … 5 with the shares of ``priority_share``.
- **On scene.** Service time: log-normal with median ``service_median_s`` and shape
  ``service_sigma`` (about 30 minutes on average), clipped to ``service_clip_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from routing import RoadGraph, Snapped, snap_many

#: Metres per degree of latitude (and of longitude at the equator).
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class IncidentMix:
    """Where incidents happen, how urgent they are and how long they take (see the module)."""

    hotspot_share: float = 0.5
    category_weight: dict[str, float] = field(default_factory=lambda: {
        "mall": 3.0, "transport_hub": 3.0, "metro_station": 2.0, "hospital": 2.0, "school": 1.0})
    hotspot_spread_m: float = 150.0
    cell_radius_m: float = 175.0  # an H3 resolution-9 cell's edge length
    priority_share: tuple[float, ...] = (0.15, 0.25, 0.35, 0.20, 0.05)
    service_median_s: float = 25 * 60.0
    service_sigma: float = 0.6
    service_clip_s: tuple[float, float] = (5 * 60.0, 3 * 3600.0)


@dataclass(frozen=True)
class Places:
    """Where incidents may happen: hotspots (lon, lat, category) and grid cell centres."""

    hotspot_lonlat: NDArray[np.float64]  # (n, 2)
    hotspot_category: NDArray[np.str_]
    cell_lonlat: NDArray[np.float64]  # (m, 2)


@dataclass(frozen=True)
class Incidents:
    """Incidents in order of receipt, one entry each: ``received_s`` seconds after the start,
    WGS-84 place and its road position, priority, ``source`` (the hotspot category, or
    "grid"), on-scene ``service_s`` seconds. ``dropped``: places off the road network."""

    received_s: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    snaps: Snapped
    priority: NDArray[np.int64]
    source: NDArray[np.str_]
    service_s: NDArray[np.float64]
    dropped: int

    def __len__(self) -> int:
        return len(self.received_s)


def draw_incidents(graph: RoadGraph, places: Places, *, hours: float, rate_per_h: float,
                   seed: int, mix: IncidentMix = IncidentMix(),
                   snap_limit_m: float = 500.0) -> Incidents:
    """Incidents over ``hours`` at ``rate_per_h`` per hour, placed by ``mix`` (see the
    module); the same ``seed`` gives the same incidents."""
    rng = np.random.default_rng(seed)
    count = int(rng.poisson(rate_per_h * hours))
    received = np.sort(rng.uniform(0.0, hours * 3600.0, count))
    near_hotspot = rng.random(count) < mix.hotspot_share
    lonlat, source = _places(rng, places, near_hotspot, mix)
    priority = rng.choice(np.arange(1, len(mix.priority_share) + 1), size=count,
                          p=np.asarray(mix.priority_share) / np.sum(mix.priority_share))
    service = np.clip(mix.service_median_s * np.exp(mix.service_sigma * rng.standard_normal(
        count)), *mix.service_clip_s)
    snaps = snap_many(graph, lonlat[:, 0], lonlat[:, 1], limit_m=snap_limit_m)
    keep = np.flatnonzero(snaps.on_road)
    return Incidents(received[keep], lonlat[keep, 0], lonlat[keep, 1], snaps.take(keep),
                     priority[keep].astype(np.int64), source[keep], service[keep],
                     int(count - len(keep)))


def _places(rng: np.random.Generator, places: Places, near_hotspot: NDArray[np.bool_],
            mix: IncidentMix) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Each incident's (lon, lat) and source, hotspot or grid as ``near_hotspot`` says."""
    count = len(near_hotspot)
    weight = np.array([mix.category_weight.get(str(c), 1.0) for c in places.hotspot_category])
    spot = rng.choice(len(weight), size=count, p=weight / weight.sum()) if len(weight) else None
    cell = rng.integers(0, len(places.cell_lonlat), size=count)
    scatter = rng.normal(0.0, mix.hotspot_spread_m, size=(count, 2))
    angle = rng.uniform(0.0, 2 * np.pi, count)
    radius = mix.cell_radius_m * np.sqrt(rng.random(count))  # uniform over the disc
    offset = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    centre = places.cell_lonlat[cell]
    source = np.full(count, "grid", dtype=object)
    if spot is not None:
        centre[near_hotspot] = places.hotspot_lonlat[spot[near_hotspot]]
        offset[near_hotspot] = scatter[near_hotspot]
        source[near_hotspot] = places.hotspot_category[spot[near_hotspot]]
    lonlat = centre + _degrees(offset, centre[:, 1])
    return lonlat, source.astype(str)


def _degrees(offset_m: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """East/north offsets in metres as lon/lat degrees at latitude ``lat``."""
    return np.column_stack([offset_m[:, 0] / (METRES_PER_DEGREE * np.cos(np.radians(lat))),
                            offset_m[:, 1] / METRES_PER_DEGREE])
