"""Free-flow speeds by road class, tagged ``maxspeed``, and rush-hour congestion factors.

The speed of an edge is its tagged ``maxspeed`` where OpenStreetMap has one, otherwise the free-flow
speed of its ``highway`` class. A TOML file can override any class speed and add congestion
periods, for example::

    [speeds_kph]
    primary = 45
    other = 20          # any class not listed

    [[congestion]]      # travel times multiplied by factor during the period
    start = "07:00"
    end = "09:30"
    factor = 1.6
    classes = ["motorway", "trunk", "primary", "secondary"]   # omit for every class

Congestion does not change the compiled graph: it is applied to travel times at query time.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from routing.errors import RoutingError

#: Free-flow speeds (km/h) by OSM ``highway`` class.
DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 80, "motorway_link": 50, "trunk": 60, "trunk_link": 40,
    "primary": 50, "primary_link": 35, "secondary": 40, "secondary_link": 30,
    "tertiary": 35, "tertiary_link": 25, "unclassified": 30, "residential": 25,
    "living_street": 10, "service": 15,
}
#: Speed (km/h) of any class not in the table.
DEFAULT_OTHER_KPH = 20.0

_MPH_TO_KPH = 1.609344
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


@dataclass(frozen=True)
class CongestionPeriod:
    """Travel times on ``classes`` (all when empty) are multiplied by ``factor`` from start to end."""

    start: time
    end: time
    factor: float
    classes: frozenset[str] = frozenset()

    def covers(self, at: time) -> bool:
        """True when ``at`` falls in the period (a period may wrap past midnight)."""
        if self.start <= self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end


@dataclass(frozen=True)
class SpeedModel:
    """Speeds by road class in km/h, the fallback for other classes, and congestion periods."""

    speeds_kph: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KPH))
    other_kph: float = DEFAULT_OTHER_KPH
    congestion: tuple[CongestionPeriod, ...] = ()

    @classmethod
    def from_toml(cls, path: str | Path) -> SpeedModel:
        """Read a speed model from a TOML file (see the module docstring for its layout)."""
        path = Path(path)
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RoutingError(f"speed config {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RoutingError(f"speed config {path} is not valid TOML: {exc}") from None
        speeds = dict(DEFAULT_SPEEDS_KPH)
        table = dict(config.get("speeds_kph", {}))
        other = table.pop("other", DEFAULT_OTHER_KPH)
        speeds.update(table)
        for name, value in [*speeds.items(), ("other", other)]:
            if not isinstance(value, (int, float)) or not 0 < value <= 200:
                raise RoutingError(f"speed config {path}: speed of {name!r} must be a number of "
                                   f"km/h in (0, 200], got {value!r}")
        periods = tuple(_parse_period(path, item) for item in config.get("congestion", []))
        return cls(speeds_kph={k: float(v) for k, v in speeds.items()}, other_kph=float(other),
                   congestion=periods)

    def class_speed_kph(self, highway: str) -> float:
        """Free-flow speed (km/h) of a road class."""
        return self.speeds_kph.get(highway, self.other_kph)

    def edge_speed_kph(self, highway: str | list[str], maxspeed: object = None) -> float:
        """Speed (km/h) of one edge: its tagged maxspeed when parseable, else its class speed.

        An edge merged from several classes (a list) takes the mean of their speeds, as osmnx does.
        """
        tagged = parse_maxspeed(maxspeed)
        if tagged is not None:
            return tagged
        if isinstance(highway, list):
            return sum(self.class_speed_kph(h) for h in highway) / len(highway)
        return self.class_speed_kph(highway)

    def congestion_factors(self, classes: list[str], at: time) -> list[float]:
        """Travel-time multiplier (>= 1 typically) for each of ``classes`` at time of day ``at``."""
        factors = [1.0] * len(classes)
        for period in self.congestion:
            if period.covers(at):
                for i, name in enumerate(classes):
                    if not period.classes or name in period.classes:
                        factors[i] *= period.factor
        return factors

    def fingerprint(self) -> str:
        """A hash of the free-flow speeds; the compiled graph is rebuilt when it changes."""
        payload = json.dumps({"speeds": sorted(self.speeds_kph.items()), "other": self.other_kph})
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def parse_maxspeed(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` tag to km/h: "50", "30 mph", "40;60" (mean); None when unusable.

    Zone codes ("CN:urban"), "none", "walk" and malformed values give None, so the class speed applies.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    parts = value if isinstance(value, list) else str(value).split(";")
    speeds = []
    for part in parts:
        match = _NUMBER.match(str(part))
        if not match:
            return None
        speed = float(match.group(1)) * (_MPH_TO_KPH if match.group(2) == "mph" else 1.0)
        if speed <= 0:
            return None
        speeds.append(speed)
    return sum(speeds) / len(speeds) if speeds else None


def _parse_period(path: Path, item: dict) -> CongestionPeriod:
    try:
        start = time.fromisoformat(item["start"])
        end = time.fromisoformat(item["end"])
        factor = float(item["factor"])
    except (KeyError, TypeError, ValueError):
        raise RoutingError(f"speed config {path}: each [[congestion]] needs start and end as "
                           f"\"HH:MM\" and a numeric factor, got {item!r}") from None
    if not 0.1 <= factor <= 10:
        raise RoutingError(f"speed config {path}: congestion factor {factor} is outside [0.1, 10]")
    return CongestionPeriod(start, end, factor, frozenset(item.get("classes", [])))
