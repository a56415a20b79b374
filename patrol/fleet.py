"""Where units are, for routing: their last GPS fix, or their home station when it is stale."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class UnitPosition:
    """A unit's position for routing (WGS-84) and whether it is its home station's instead."""

    unit_id: int
    callsign: str
    lon: float
    lat: float
    at_home_station: bool


def routing_positions(units: dict[str, np.ndarray], stale_after_s: float) -> list[UnitPosition]:
    """Available units (arrays, see ``zones.records.available_units``) → positions to route from.

    A fix older than ``stale_after_s`` seconds (or none) places the unit at its home station; a
    unit with neither a fresh fix nor a home station cannot be placed and is left out.
    """
    fresh = ~np.isnan(units["lon"]) & (units["age_s"] <= stale_after_s)
    lon = np.where(fresh, units["lon"], units["home_lon"])
    lat = np.where(fresh, units["lat"], units["home_lat"])
    placed = np.flatnonzero(~np.isnan(lon))
    return [UnitPosition(int(units["id"][i]), str(units["callsign"][i]), float(lon[i]),
                         float(lat[i]), not bool(fresh[i])) for i in placed]
