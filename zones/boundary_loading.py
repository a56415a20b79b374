"""Load official boundaries into PostGIS: areas of a level (district … grid) and patrol zones,
from polygon files in any CRS (GCJ-02 and BD-09 named with ``crs``). Official polygons take
precedence over generated ones in every lookup (see :mod:`zones.queries`)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from routing.coords import CoordSystem, parse_coord_system, to_wgs84
from zones.grids import as_multipolygon
from zones.loading import (LoadError, LoadReport, insert_new, read_frame, require_column,
                           text_or_none)
from zones.models import AREA_LEVELS, Area, PatrolZone, Station


def load_boundaries(engine: sa.Engine, path: str | Path, *, level: str,
                    crs: str = "wgs84") -> LoadReport:
    """Load official boundaries: areas of a ``level`` (district … grid) or patrol zones
    (``level="zone"``, each naming its station in a ``station`` column). Areas are keyed by
    level and ``code`` (else file name and row), zones by name; loading twice adds nothing."""
    path = Path(path)
    if level not in (*AREA_LEVELS, "zone"):
        raise LoadError(f"unknown level {level!r}; use one of {', '.join(AREA_LEVELS)} or zone")
    report = LoadReport(str(path))
    frame = _read_polygons(path, crs, report)
    if level == "zone":
        require_column(frame, "station", path=path)
        _insert_zones(engine, _zone_rows(engine, frame, report), report)
    else:
        rows = [{"level": level, "name": text_or_none(getattr(rec, "name", None)),
                 "code": text_or_none(getattr(rec, "code", None)) or f"{path.stem}:{rec.row}",
                 "official": True, "geom": f"SRID=4326;{rec.geometry.wkt}"}
                for rec in frame.itertuples()]
        insert_new(engine, Area, rows, report=report, keys=("level", "code"))
    return report


def _zone_rows(engine: sa.Engine, frame: gpd.GeoDataFrame, report: LoadReport) -> list[dict]:
    """Patrol-zone rows of the good polygons; a row naming a station not loaded is skipped."""
    with engine.connect() as conn:
        station_ids = dict(conn.execute(sa.select(Station.name, Station.id)).all())
    rows = []
    for rec in frame.itertuples():
        station_id = station_ids.get(str(rec.station))
        if station_id is None:
            report.skip(rec.row, f"names station {rec.station!r}, which is not loaded")
            continue
        name = text_or_none(getattr(rec, "name", None))
        rows.append({"name": name or f"{rec.station}责任区", "station_id": station_id,
                     "official": True, "geom": f"SRID=4326;{rec.geometry.wkt}"})
    return rows


def _insert_zones(engine: sa.Engine, rows: list[dict], report: LoadReport) -> None:
    """Insert the official zones whose names are not stored yet, in one transaction."""
    with engine.begin() as conn:
        known = set(conn.execute(sa.select(PatrolZone.name)
                                 .where(PatrolZone.official)).scalars())
        fresh = [r for r in rows if r["name"] not in known]
        if fresh:
            conn.execute(insert(PatrolZone), fresh)
    report.added, report.already_there = len(fresh), len(rows) - len(fresh)


def _read_polygons(path: Path, crs: str, report: LoadReport) -> gpd.GeoDataFrame:
    """Rows with valid (multi)polygons in WGS-84; bad rows recorded in ``report``."""
    system = parse_coord_system(crs)
    frame = read_frame(path, system=system, report=report)
    keep, shapes = [], []
    for i, geom in enumerate(frame.geometry):
        row = i + 1
        if geom is None or geom.is_empty:
            report.skip(row, "has no geometry")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            report.skip(row, f"is a {geom.geom_type}, not a polygon")
            continue
        if system is not CoordSystem.WGS84:
            geom = shapely.transform(geom, lambda xy: np.column_stack(
                to_wgs84(xy[:, 0], xy[:, 1], system)))
        if not geom.is_valid:
            report.skip(row, f"is not a valid polygon ({shapely.is_valid_reason(geom)})")
            continue
        lon0, lat0, lon1, lat1 = geom.bounds
        if not (-180 <= lon0 and lon1 <= 180 and -90 <= lat0 and lat1 <= 90):
            report.skip(row, "has coordinates out of range")
            continue
        keep.append(i)
        shapes.append(as_multipolygon(geom))
    frame = frame.iloc[keep].copy()
    frame["geometry"] = shapes
    return frame
