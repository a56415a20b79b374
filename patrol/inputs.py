"""Values typed by people, parsed once for every entrance (HTTP API and command line).

Each parser returns the value the domain uses or raises :class:`patrol.errors.Invalid` with a
sentence that names the input (``name``: "minutes" in the API, "--minutes" on the command line).
"""

from __future__ import annotations

import math
from datetime import time
from pathlib import Path

from patrol.errors import Invalid
from routing import CoordSystem, SpeedModel, to_wgs84
from zones.models import HOTSPOT_CATEGORIES

#: Longest ring a request may ask for, minutes.
MAX_MINUTES = 60.0
#: Most rings one request may ask for (each is a polygon to draw).
MAX_RINGS = 12


def parse_minutes(text: str, *, name: str = "minutes") -> list[float]:
    """Ring times "1,3,5" → sorted distinct minutes, each in (0, :data:`MAX_MINUTES`]."""
    try:
        values = sorted({float(part) for part in str(text).split(",")})
    except ValueError:
        raise Invalid(f"{name} must be numbers separated by commas, e.g. 1,3,5; got "
                      f"{text!r}") from None
    if not values or not all(math.isfinite(v) and 0 < v <= MAX_MINUTES for v in values):
        raise Invalid(f"{name} must lie in (0, {MAX_MINUTES:.0f}], got {text!r}")
    if len(values) > MAX_RINGS:
        raise Invalid(f"{name} may list at most {MAX_RINGS} ring times, got {len(values)}")
    return values


def parse_lonlat(text: str, *, name: str = "the point") -> tuple[float, float]:
    """"LON,LAT" in degrees → (lon, lat) as finite floats (the range is checked where the
    coordinate system is known)."""
    parts = str(text).split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lon, lat = float(parts[0]), float(parts[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError
    except ValueError:
        raise Invalid(f"{name} must be LON,LAT in degrees, e.g. 114.2655,30.5853; got "
                      f"{text!r}") from None
    return lon, lat


def parse_station(text: str, *, crs: CoordSystem | str = CoordSystem.WGS84,
                  name: str = "a station") -> tuple[float, float, int]:
    """"LON,LAT[,TIER]" in ``crs`` (degrees) → WGS-84 lon, lat and the tier in minutes (1 unless
    given; whether the tier exists is the what-if's to say)."""
    parts = str(text).split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lon, lat = parse_lonlat(",".join(parts[:2]))
        tier = int(parts[2]) if len(parts) == 3 else 1
    except ValueError:  # Invalid too
        raise Invalid(f"{name} must be LON,LAT[,TIER], got {text!r}") from None
    return (*_wgs84(lon, lat, crs), tier)


def parse_move(text: str, *, crs: CoordSystem | str = CoordSystem.WGS84,
               name: str = "a move") -> tuple[int, float, float]:
    """"ID:LON,LAT" in ``crs`` (degrees) → (id, WGS-84 lon, lat): a station or unit moved."""
    ident, _, where = str(text).partition(":")
    try:
        return (int(ident), *_wgs84(*parse_lonlat(where), crs))
    except ValueError:  # Invalid and CoordinateError too
        raise Invalid(f"{name} must be ID:LON,LAT, got {text!r}") from None


def _wgs84(lon: float, lat: float, crs: CoordSystem | str) -> tuple[float, float]:
    x, y = to_wgs84(lon, lat, crs)
    return float(x), float(y)


def parse_category(category: str | None) -> str | None:
    """A hotspot category (None: all of them)."""
    if category is not None and category not in HOTSPOT_CATEGORIES:
        raise Invalid(f"unknown hotspot category {category!r}; use one of "
                      f"{', '.join(HOTSPOT_CATEGORIES)}")
    return category


def parse_time_of_day(text: str | None, *, name: str = "time of day") -> time | None:
    """"HH:MM" → a time of day (None stays None: free-flow speeds)."""
    if text is None:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name} must be HH:MM, got {text!r}") from None


def tile_layer(text: str) -> str | None:
    """A tile setting: "OpenStreetMap", a URL template, or "none" (no tiles: None)."""
    return None if text.strip().lower() == "none" else text


def speed_model(path: Path | None) -> SpeedModel:
    """The speed model of a TOML file (``routing/speeds.py``), or the default model."""
    return SpeedModel.from_toml(path) if path else SpeedModel()
