"""What-if analysis: how hotspot coverage changes if stations are added, removed or moved, and
with the available patrol cars counted as 1-minute responders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from patrol.analysis import TIERS, Places, best_of, search_tier, shares
from patrol.errors import Invalid
from patrol.fleet import routing_positions
from routing import RoadGraph, snap_many
from routing.snapping import DEFAULT_SNAP_LIMIT_M
from zones.unit_store import available_units

#: Units join the what-if as 1-minute responders under ids that cannot clash with stations.
UNIT_ID_OFFSET = 1_000_000_000


@dataclass(frozen=True)
class StationChange:
    """What-if edits: stations to add (WGS-84 lon, lat, tier in minutes), to remove (ids), to
    move (id → lon, lat); unit ids carry :data:`UNIT_ID_OFFSET`."""

    add: tuple[tuple[float, float, int], ...] = ()
    remove: frozenset[int] = frozenset()
    move: tuple[tuple[int, float, float], ...] = ()

    def apply(self, tiers: dict[int, list[tuple]]) -> dict[int, list[tuple]]:
        known = {s[0] for rows in tiers.values() for s in rows}
        unknown = sorted((set(self.remove) | {m[0] for m in self.move}) - known)
        stations = [str(i) for i in unknown if i < UNIT_ID_OFFSET]
        units = [str(i - UNIT_ID_OFFSET) for i in unknown if i >= UNIT_ID_OFFSET]
        if stations:
            raise Invalid(f"no station {', '.join(stations)}")
        if units:
            raise Invalid(f"no available unit {', '.join(units)}")
        moved = {sid: (lon, lat) for sid, lon, lat in self.move}
        changed = {t: [(s[0], s[1], *moved.get(s[0], (s[2], s[3]))) for s in rows
                       if s[0] not in self.remove] for t, rows in tiers.items()}
        for i, (lon, lat, tier) in enumerate(self.add):
            if tier not in TIERS:
                raise Invalid(f"tier {tier} of an added station must be one of 1, 3, 5")
            changed[tier].append((-1 - i, f"added station {i + 1}", lon, lat))
        return changed


def unit_responders(conn: sa.Connection, *, stale_after_s: float) -> list[tuple]:
    """Available patrol cars as (id, callsign, lon, lat) responders, ids offset by
    :data:`UNIT_ID_OFFSET`; a fix older than ``stale_after_s`` seconds places a car at its home
    station."""
    placed = routing_positions(available_units(conn, kind="patrol_car"),
                               stale_after_s=stale_after_s)
    return [(UNIT_ID_OFFSET + int(u), str(c), float(x), float(y))
            for u, c, x, y in zip(placed.unit_id, placed.callsign, placed.lon, placed.lat)]


def what_if(graph: RoadGraph, *, tiers: dict[int, list[tuple]], places: Places,
            change: StationChange, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M) -> dict:
    """Hotspot coverage before and after ``change``: shares per category within 60/180/300 s,
    and the hotspots whose gap (beyond 300 s) the change closes or opens. Hotspots farther
    than ``snap_limit_m`` metres from every road are outside the road data: not counted, only
    their number is given (``outside_network``); an added or moved station there is refused."""
    snapped = snap_many(graph, places.lon, places.lat, limit_m=snap_limit_m)
    on = snapped.on_road
    _check_on_network(graph, change, limit_m=snap_limit_m)
    after_tiers = change.apply(tiers)
    before, after = (best_of({t: search_tier(graph, rows[t], limit_m=snap_limit_m).at(snapped)
                              for t in TIERS}) for rows in (tiers, after_tiers))
    categories = np.array(places.categories)

    def by_category(times: np.ndarray) -> dict:
        return {c: shares(times[on & (categories == c)], places.weight[on & (categories == c)])
                for c in sorted(set(categories[on]))}

    def listed(mask: np.ndarray) -> list[dict]:
        return [{"id": places.ids[i], "name": places.names[i], "category": places.categories[i],
                 "before_s": None if not np.isfinite(before[i]) else round(float(before[i]), 1),
                 "after_s": None if not np.isfinite(after[i]) else round(float(after[i]), 1)}
                for i in np.flatnonzero(mask & on)]

    return {"before": by_category(before), "after": by_category(after),
            "gaps_closed": listed(~(before <= 300) & (after <= 300)),
            "gaps_opened": listed((before <= 300) & ~(after <= 300)),
            "outside_network": int((~on).sum())}


def _check_on_network(graph: RoadGraph, change: StationChange, *, limit_m: float) -> None:
    """Raise :class:`Invalid` for an added or moved station farther than ``limit_m`` metres
    from every road (it would reach nothing)."""
    points = ([(f"added station {i + 1}", lon, lat) for i, (lon, lat, _) in enumerate(change.add)]
              + [(f"moved unit {sid - UNIT_ID_OFFSET}" if sid >= UNIT_ID_OFFSET
                  else f"moved station {sid}", lon, lat) for sid, lon, lat in change.move])
    if not points:
        return
    snapped = snap_many(graph, [p[1] for p in points], [p[2] for p in points], limit_m=limit_m)
    far = [p[0] for p, on in zip(points, snapped.on_road) if not on]
    if far:
        raise Invalid(f"{', '.join(far)} lies more than {limit_m:g} m from any road of the "
                      f"network")
