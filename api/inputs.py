"""Input types of the API, each as strict as the document that describes it: whatever the
document allows is accepted, whatever it does not is refused with 422 and a sentence (the
domain's own where it has one). Parsed values (a :class:`Near`, the minutes list) are ready
before any handler runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from patrol.errors import Invalid
from patrol.inputs import MAX_RINGS, parse_lonlat, parse_minutes
from routing import CoordSystem, parse_coord_system
from routing.coords import check_lonlat

#: PostgreSQL's integer: ids beyond it cannot exist.
INT32_MAX = 2**31 - 1
#: A ring time in minutes as the document allows it: (0, 60], one decimal at most.
_MINUTE = r"(?:60(?:\.0)?|[1-5][0-9](?:\.[0-9])?|[1-9](?:\.[0-9])?|0\.[1-9])"
MINUTES_PATTERN = rf"^{_MINUTE}(?:,{_MINUTE}){{0,{MAX_RINGS - 1}}}$"
#: LON,LAT in degrees, in range, as the document allows it.
_LON = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
_LAT = r"-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
LONLAT_PATTERN = rf"^{_LON},{_LAT}$"
#: An RFC 3339 date and time (what the document's date-time format means), with its zone.
_MOMENT = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:(?P<second>\d\d)(?:\.\d+)?"
                     r"(?P<zone>[Zz]|[+-]\d\d:\d\d)?")


def choice(what: str, allowed: tuple[str, ...]):
    """A string that must be one of ``allowed``: listed in the document (enum); anything else
    is refused with "unknown {what} ...; use one of ..."."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
        return value

    return Annotated[str, AfterValidator(check),
                     WithJsonSchema({"type": "string", "enum": list(allowed)})]


def _crs(value: object) -> str:
    if not isinstance(value, (str, CoordSystem)):
        raise ValueError("the coordinate system must be a string")
    return parse_coord_system(value).value


#: A coordinate system, stored by its canonical name ("EPSG:4326" and "GCJ-02" are accepted).
Crs = Annotated[Literal["wgs84", "gcj02", "bd09"], BeforeValidator(_crs)]


def _plain(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


#: Text as the database stores it: no NUL character (unpaired surrogates are refused already).
NO_NUL = "^[^\\u0000]*$"
Text = Annotated[str, AfterValidator(_plain), Field(json_schema_extra={"pattern": NO_NUL})]


def _moment(value: object) -> object:
    if isinstance(value, datetime):
        return value
    found = _MOMENT.fullmatch(value) if isinstance(value, str) else None
    if found is None and isinstance(value, str) and _MOMENT.fullmatch(value.replace(" ", "+")):
        raise ValueError(f"{value!r} has a space where its zone's + belongs (a URL's query "
                         f"reads + as a space: write it %2B)")
    if found is None:
        raise ValueError(f"must be a date and time as in 2026-11-21T08:00:00+08:00, got {value!r}")
    if found["zone"] is None:
        raise ValueError(f"{value} has no time zone; send e.g. 2026-11-21T08:00:00+08:00")
    if found["second"] == "60":
        raise ValueError(f"{value} is a leap second (second 60), which cannot be stored; send "
                         f"second 59.999999 instead")
    return value


#: A moment with its time zone (RFC 3339), e.g. 2026-11-21T08:00:00+08:00.
Moment = Annotated[datetime, BeforeValidator(_moment)]


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a valid number (a JSON number), got {value!r}")
    return value


#: A JSON number (not a string of digits, not true or false), as the document says.
Number = BeforeValidator(_number)
Longitude = Annotated[float, Number, Field(allow_inf_nan=False, description="longitude, degrees",
                                   json_schema_extra={"minimum": -180, "maximum": 180})]
Latitude = Annotated[float, Number, Field(allow_inf_nan=False, description="latitude, degrees",
                                  json_schema_extra={"minimum": -90, "maximum": 90})]
Id = Annotated[int, Field(ge=1, le=INT32_MAX), Number]
IdPath = Annotated[int, Path(ge=1, le=INT32_MAX)]


@dataclass(frozen=True)
class Near:
    """A circle to search in: its centre (lon, lat, WGS-84 degrees) and radius (metres)."""

    lon: float
    lat: float
    radius_m: float


async def near_point(
        near: Annotated[str | None, Query(description="LON,LAT (WGS-84 degrees), e.g. "
                                                      "114.2655,30.5853",
                                          json_schema_extra={"pattern": LONLAT_PATTERN})] = None,
        radius_m: Annotated[float, Query(gt=0, le=50_000, description="metres")] = 2000,
) -> Near | None:
    """The ``near`` and ``radius_m`` query parameters, parsed (None without ``near``)."""
    if near is None:
        return None
    lon, lat = parse_lonlat(near, name="near")
    check_lonlat(lon, lat)
    if not re.fullmatch(LONLAT_PATTERN, near):
        raise Invalid(f"near must be LON,LAT in plain decimal degrees, e.g. 114.2655,30.5853; "
                      f"got {near!r}")
    return Near(lon, lat, radius_m)


async def minutes_list(
        minutes: Annotated[str, Query(description="ring times in minutes, in (0, 60], one "
                                                  f"decimal at most, up to {MAX_RINGS}: e.g. "
                                                  "1,3,5",
                                      json_schema_extra={"pattern": MINUTES_PATTERN})] = "1,3,5",
) -> list[float]:
    """The ``minutes`` query parameter as sorted distinct minutes."""
    values = parse_minutes(minutes)
    if not re.fullmatch(MINUTES_PATTERN, minutes):
        raise Invalid(f"minutes must be numbers in (0, 60] with one decimal at most, separated "
                      f"by commas, e.g. 1,3,5; got {minutes!r}")
    return values


NearDep = Annotated[Near | None, Depends(near_point)]
MinutesDep = Annotated[list[float], Depends(minutes_list)]
