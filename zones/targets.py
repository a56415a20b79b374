"""Must-patrol targets (必巡点/线/区) of the patrol zones: loaded from files, generated from the
zones' hotspots, listed and edited.

A file may be GeoJSON, GeoPackage or a shapefile in any CRS (GCJ-02 and BD-09, which a file
cannot declare, are named with ``crs``). Each row is a point, a line (a street to drive along) or
a polygon (an area to drive through), with a ``name`` and optionally ``zone_id`` (else the zone
that contains it), ``dwell_s`` (seconds), ``weight``, ``two_way`` (lines) and ``id``. A file
loads in one transaction; a bad row is reported with its row number and skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa
from shapely import wkb
from sqlalchemy.dialects.postgresql import insert

from routing.coords import CoordSystem, parse_coord_system, to_wgs84
from zones.loading import LoadError, LoadReport, read_frame, require_column, text_or_none
from zones.models import PatrolTarget

#: Seconds spent at a target unless given: a car stops at a point to be seen; lines and areas
#: are patrolled by driving them.
DEFAULT_DWELL_S = {"point": 60, "line": 0, "area": 0}
#: The weight of a target generated from a hotspot of each category (三圈 and metro).
HOTSPOT_WEIGHTS = {"hospital": 3.0, "transport_hub": 3.0, "school": 2.0, "mall": 2.0,
                   "metro_station": 1.0}
_KIND_OF_SHAPE = {"Point": "point", "LineString": "line", "Polygon": "area",
                  "MultiPolygon": "area"}


@dataclass(frozen=True)
class Target:
    """A must-patrol target as the planner sees it; ``geometry`` is WGS-84 (shapely)."""

    id: int
    zone_id: int
    kind: str
    name: str
    dwell_s: int
    weight: float
    two_way: bool
    geometry: shapely.Geometry

    def as_dict(self) -> dict:
        """JSON-ready fields, the geometry as GeoJSON."""
        return {"id": self.id, "zone_id": self.zone_id, "kind": self.kind, "name": self.name,
                "dwell_s": self.dwell_s, "weight": self.weight, "two_way": self.two_way,
                "geometry": shapely.geometry.mapping(self.geometry)}


_COLUMNS = (PatrolTarget.id, PatrolTarget.zone_id, PatrolTarget.kind, PatrolTarget.name,
            PatrolTarget.dwell_s, PatrolTarget.weight, PatrolTarget.two_way,
            sa.func.ST_AsBinary(PatrolTarget.geom))


def _target(row) -> Target:
    return Target(*row[:7], wkb.loads(bytes(row[7])))


def zone_targets(conn: sa.Connection, zone_id: int) -> list[Target]:
    """The targets of a zone, by id."""
    query = sa.select(*_COLUMNS).where(PatrolTarget.zone_id == zone_id).order_by(PatrolTarget.id)
    return [_target(r) for r in conn.execute(query)]


def all_targets(conn: sa.Connection) -> list[Target]:
    """Every zone's targets, by zone and id."""
    query = sa.select(*_COLUMNS).order_by(PatrolTarget.zone_id, PatrolTarget.id)
    return [_target(r) for r in conn.execute(query)]


def get_target(conn: sa.Connection, target_id: int) -> Target | None:
    row = conn.execute(sa.select(*_COLUMNS).where(PatrolTarget.id == target_id)).first()
    return None if row is None else _target(row)


def update_target(conn: sa.Connection, target_id: int, **fields) -> Target | None:
    """Change ``name``, ``dwell_s``, ``weight`` or ``two_way`` of a target (None: no such id)."""
    unknown = set(fields) - {"name", "dwell_s", "weight", "two_way"}
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))} of a target")
    if fields:
        conn.execute(sa.update(PatrolTarget).where(PatrolTarget.id == target_id).values(**fields))
    return get_target(conn, target_id)


def delete_target(conn: sa.Connection, target_id: int) -> bool:
    """Remove a target; False when there was none."""
    deleted = conn.execute(sa.delete(PatrolTarget).where(PatrolTarget.id == target_id))
    return deleted.rowcount > 0


def add_target(conn: sa.Connection, *, zone_id: int, name: str, geometry: shapely.Geometry,
               dwell_s: int | None = None, weight: float = 1.0, two_way: bool = True,
               source_key: str | None = None) -> Target:
    """Store one target (WGS-84 geometry) of ``zone_id``; its kind follows the geometry."""
    kind = _KIND_OF_SHAPE.get(geometry.geom_type)
    if kind is None:
        raise LoadError(f"a target is a point, line or polygon, not a {geometry.geom_type}")
    row = {"zone_id": zone_id, "name": name, "kind": kind, "two_way": two_way,
           "dwell_s": DEFAULT_DWELL_S[kind] if dwell_s is None else dwell_s, "weight": weight,
           "source_key": source_key or _key(name, geometry), "geom": f"SRID=4326;{geometry.wkt}"}
    new_id = conn.execute(insert(PatrolTarget).values(row).returning(PatrolTarget.id)).scalar()
    return get_target(conn, new_id)


def load_targets(engine: sa.Engine, path: str | Path, *, crs: str = "wgs84") -> LoadReport:
    """Load targets from a file (see the module docstring); loading twice adds nothing."""
    path = Path(path)
    system = parse_coord_system(crs)
    report = LoadReport(str(path))
    frame = read_frame(path, system=system, report=report)
    require_column(frame, "name", path=path)
    records = []
    with engine.begin() as conn:
        for rec in frame.to_dict("records"):
            try:
                geometry = target_shape(rec["geometry"], system)
            except BadTarget as exc:
                report.skip(rec["row"], str(exc))
                continue
            record = _record(conn, rec, geometry, report)
            if record is not None:
                records.append(record)
        if records:
            added = conn.execute(insert(PatrolTarget).on_conflict_do_nothing(
                index_elements=["zone_id", "source_key"]).returning(PatrolTarget.id), records)
            report.added = len(added.fetchall())
    report.already_there = len(records) - report.added
    return report


class BadTarget(LoadError):
    """A geometry that cannot be a target; the message says why (the end of a sentence)."""


def target_shape(geom, system: CoordSystem | str = CoordSystem.WGS84) -> shapely.Geometry:
    """A usable point, single line or polygon, in WGS-84; else :class:`BadTarget`."""
    system = parse_coord_system(system)
    if geom is None or geom.is_empty:
        raise BadTarget("has no geometry")
    if geom.geom_type == "MultiLineString":
        geom = shapely.line_merge(geom)
    if geom.geom_type not in _KIND_OF_SHAPE:
        raise BadTarget(f"is a {geom.geom_type}, not a point, a single line or a polygon")
    if system is not CoordSystem.WGS84:
        geom = shapely.transform(geom, lambda xy: np.column_stack(
            to_wgs84(xy[:, 0], xy[:, 1], system)))
    if not shapely.is_valid(geom):
        raise BadTarget(f"has an invalid geometry ({shapely.is_valid_reason(geom)})")
    lon0, lat0, lon1, lat1 = geom.bounds
    if not (np.isfinite(geom.bounds).all() and -180 <= lon0 and lon1 <= 180
            and -90 <= lat0 and lat1 <= 90):
        raise BadTarget("has coordinates out of range")
    return geom


def _record(conn: sa.Connection, rec: dict, geometry, report: LoadReport) -> dict | None:
    """The row as a table record, or None (reported) when a value is wrong."""
    kind = _KIND_OF_SHAPE[geometry.geom_type]
    row = rec["row"]
    zone_id = _number(rec.get("zone_id"))
    if zone_id is None:
        zone_id = _zone_containing(conn, geometry)
        if zone_id is None:
            return report.skip(row, "lies in no patrol zone; give a zone_id column")
    dwell = _number(rec.get("dwell_s"))
    weight = _number(rec.get("weight"))
    if (dwell is not None and dwell < 0) or (weight is not None and weight <= 0):
        return report.skip(row, "needs dwell_s >= 0 and weight > 0")
    name = text_or_none(rec.get("name")) or f"{kind} {row}"
    two_way = rec.get("two_way")
    return {"zone_id": int(zone_id), "name": name, "kind": kind,
            "dwell_s": DEFAULT_DWELL_S[kind] if dwell is None else int(round(dwell)),
            "weight": 1.0 if weight is None else float(weight),
            "two_way": True if text_or_none(two_way) is None else str(two_way).lower() in
            ("1", "true", "yes", "both"),
            "source_key": text_or_none(rec.get("id")) or _key(name, geometry),
            "geom": f"SRID=4326;{geometry.wkt}"}


def _zone_containing(conn: sa.Connection, geometry) -> int | None:
    point = shapely.point_on_surface(geometry) if geometry.geom_type != "LineString" else \
        geometry.interpolate(0.5, normalized=True)
    return conn.execute(sa.text(
        "SELECT id FROM patrol_zones WHERE ST_Intersects(geom, ST_GeomFromText(:p, 4326)) "
        "ORDER BY official DESC, id LIMIT 1"), {"p": point.wkt}).scalar()


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _key(name: str, geometry) -> str:
    return hashlib.sha1(f"{name}|{shapely.set_precision(geometry, 1e-6).wkt}".encode()
                        ).hexdigest()[:32]


_FROM_HOTSPOTS = sa.text("""
INSERT INTO patrol_targets (zone_id, source_key, kind, name, dwell_s, weight, hotspot_id, geom)
SELECT z.id, 'hotspot:' || h.id, 'point', h.name, :dwell, w.weight, h.id, h.geom
FROM hotspots h
JOIN (SELECT unnest(CAST(:categories AS text[])) AS category,
             unnest(CAST(:weights AS float8[])) AS weight) w ON w.category = h.category
JOIN LATERAL (SELECT id FROM patrol_zones z WHERE ST_Intersects(z.geom, h.geom)
              ORDER BY z.official DESC, z.id LIMIT 1) z ON true
WHERE CAST(:zone_id AS int) IS NULL OR z.id = :zone_id
ON CONFLICT (zone_id, source_key) DO NOTHING
""")


def targets_from_hotspots(engine: sa.Engine, *, zone_id: int | None = None, dwell_s: int = 60,
                          weights: dict[str, float] | None = None) -> int:
    """A point target at every hotspot of ``weights``' categories (default: the 三圈 and metro
    stations, :data:`HOTSPOT_WEIGHTS`), in the zone that contains it (every zone, or only
    ``zone_id``). Returns how many were added (existing ones are kept)."""
    weights = HOTSPOT_WEIGHTS if weights is None else weights
    with engine.begin() as conn:
        result = conn.execute(_FROM_HOTSPOTS, {"dwell": dwell_s, "zone_id": zone_id,
                                               "categories": list(weights),
                                               "weights": [float(w) for w in weights.values()]})
        return result.rowcount
