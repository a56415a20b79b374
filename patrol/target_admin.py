"""Must-patrol targets as the API edits them: list a zone's, add one from GeoJSON in any
coordinate system, change its dwell, weight, name or direction, remove it."""

from __future__ import annotations

import shapely
import shapely.errors
import sqlalchemy as sa

from patrol.errors import Invalid, NotFound
from zones import plan_store, targets


def list_targets(engine: sa.Engine, zone_id: int) -> list[dict]:
    """The targets of a zone (GeoJSON geometries, WGS-84), or :class:`NotFound`."""
    with engine.connect() as conn:
        _require_zone(conn, zone_id)
        return [t.as_dict() for t in targets.zone_targets(conn, zone_id)]


def create_target(engine: sa.Engine, zone_id: int, *, name: str, geometry: dict,
                  crs: str = "wgs84", dwell_s: int | None = None, weight: float = 1.0,
                  two_way: bool = True) -> dict:
    """Add a target to a zone; ``geometry`` is a GeoJSON Point, LineString or Polygon in
    ``crs`` (wgs84, gcj02 or bd09). Its kind follows the geometry."""
    try:
        shape = targets.target_shape(shapely.geometry.shape(geometry), crs)
    except targets.BadTarget as exc:
        raise Invalid(f"the target {exc}") from None
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, AttributeError,
            IndexError) as exc:
        raise Invalid(f"the target's geometry is not GeoJSON ({exc})") from None
    with engine.begin() as conn:
        _require_zone(conn, zone_id)
        return targets.add_target(conn, zone_id=zone_id, name=name, geometry=shape,
                                  dwell_s=dwell_s, weight=weight, two_way=two_way).as_dict()


def edit_target(engine: sa.Engine, target_id: int, **fields) -> dict:
    """Change ``name``, ``dwell_s``, ``weight`` or ``two_way``; :class:`NotFound` if none."""
    with engine.begin() as conn:
        changed = targets.update_target(conn, target_id, **fields)
    if changed is None:
        raise NotFound(f"no must-patrol target {target_id}")
    return changed.as_dict()


def remove_target(engine: sa.Engine, target_id: int) -> None:
    """Delete a target; :class:`NotFound` if there is none."""
    with engine.begin() as conn:
        if not targets.delete_target(conn, target_id):
            raise NotFound(f"no must-patrol target {target_id}")


def _require_zone(conn: sa.Connection, zone_id: int) -> None:
    if plan_store.zone_station(conn, zone_id) is None:
        raise NotFound(f"no patrol zone {zone_id}")
