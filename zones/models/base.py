"""What every table of the city model shares: the declarative base with its naming convention,
the SRID (EPSG:4326), the fixed lists that kinds and statuses are checked against, and the CHECK
helpers."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

SRID = 4326

AREA_LEVELS = ("city", "district", "street", "community", "grid")
STATION_KINDS = ("police_station", "police_post", "sub_bureau", "city_unit",
                 "armed_patrol_point")
#: The response tier (minutes) each kind of station answers for by default.
DEFAULT_TIER_MINUTES = {"police_station": 1, "police_post": 1, "armed_patrol_point": 1,
                        "sub_bureau": 3, "city_unit": 5}
UNIT_KINDS = ("patrol_car", "motorcycle", "foot_patrol")
UNIT_STATUSES = ("available", "dispatched", "en_route", "on_scene", "off_duty", "relocating")
#: A recommended move: proposed, then accepted or declined (or superseded by newer advice);
#: an accepted one ends arrived or interrupted (its unit dispatched or off duty on the way).
MOVE_STATUSES = ("proposed", "accepted", "declined", "superseded", "arrived", "interrupted")
HOTSPOT_CATEGORIES = ("school", "hospital", "mall", "metro_station", "transport_hub")
INCIDENT_STATUSES = ("open", "dispatched", "arrived", "closed")
ROLES = ("dispatcher", "planner", "admin", "unit")
#: How a decision was made: on arrival (auto-dispatch or recommendation), by a dispatcher, by
#: the reconciler for an incident stored without its decision, or a unit given later to an
#: alarm decided while none could be had (retry).
DECISION_MODES = ("auto", "override", "recommendation", "reconcile", "retry")
TARGET_KINDS = ("point", "line", "area")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def valid(column: str) -> str:
    return f"{column} IS NULL OR ST_IsValid({column})"


def lonlat(column: str) -> str:
    return (f"{column} IS NULL OR (ST_X({column}) BETWEEN -180 AND 180 "
            f"AND ST_Y({column}) BETWEEN -90 AND 90)")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })
