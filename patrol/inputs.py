"""Values typed by people, parsed once for every entrance (HTTP API and command line).

Each parser returns the value the domain uses or raises :class:`patrol.errors.Invalid` with a
sentence that names the input (``name``: "minutes" in the API, "--minutes" on the command line).
"""

from __future__ import annotations

import math
from datetime import time
from pathlib import Path

from patrol.errors import Invalid
from routing import SpeedModel
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
