"""Where units are, for routing: their last GPS fix, or their home station when it is stale."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class UnitPositions:
    """Units placed for routing (WGS-84 arrays, one entry per unit) and which of them stand at
    their home station because their last fix was too old."""

    unit_id: NDArray[np.int64]
    callsign: NDArray[np.object_]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    at_home_station: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.unit_id)


def routing_positions(units: dict[str, NDArray], *, stale_after_s: float) -> UnitPositions:
    """Available units (arrays, see ``zones.unit_store.available_units``) → positions to route
    from.

    A fix older than ``stale_after_s`` seconds (or none) places the unit at its home station; a
    unit with neither a fresh fix nor a home station cannot be placed and is left out.
    """
    fresh = ~np.isnan(units["lon"]) & (units["age_s"] <= stale_after_s)
    lon = np.where(fresh, units["lon"], units["home_lon"])
    lat = np.where(fresh, units["lat"], units["home_lat"])
    placed = ~np.isnan(lon)
    return UnitPositions(units["id"][placed], units["callsign"][placed], lon[placed],
                         lat[placed], ~fresh[placed])
