"""Where units are, for routing: their last GPS fix, or their home station when it is stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UnitPosition:
    """A unit's position for routing (WGS-84) and whether it is its home station's instead."""

    unit_id: int
    callsign: str
    lon: float
    lat: float
    at_home_station: bool


def routing_positions(rows: list[tuple], now: datetime, stale_after_s: float) -> list[UnitPosition]:
    """Rows (id, callsign, lon, lat, fix time, home lon, home lat) → positions to route from.

    A fix older than ``stale_after_s`` seconds (or none) places the unit at its home station; a
    unit with neither a fresh fix nor a home station cannot be placed and is left out.
    """
    positions = []
    for unit_id, callsign, lon, lat, fixed_at, home_lon, home_lat in rows:
        fresh = (lon is not None and fixed_at is not None
                 and (now - fixed_at).total_seconds() <= stale_after_s)
        if fresh:
            positions.append(UnitPosition(unit_id, callsign, lon, lat, False))
        elif home_lon is not None:
            positions.append(UnitPosition(unit_id, callsign, home_lon, home_lat, True))
    return positions
