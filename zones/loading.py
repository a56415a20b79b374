"""Load stations and hotspots from files into PostGIS.

Each file is loaded in one transaction (all of its good rows or nothing), rows are keyed by their
source so loading twice adds nothing, and a bad row (no or invalid geometry, coordinates out of
range, unknown kind or category) is reported with its row number and skipped while the rest loads.
Files may be GeoJSON, GeoPackage or shapefiles in any CRS; GCJ-02 and BD-09 points (which files
cannot declare) are named with ``crs``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from routing.coords import CoordSystem, parse_coord_system, to_wgs84
from routing.errors import RoutingError
from zones.models import (DEFAULT_TIER_MINUTES, HOTSPOT_CATEGORIES, STATION_KINDS, Hotspot,
                          Station)
from zones.poi import merge_rows, station_kind

METRIC_EPSG = 3857  # only for merge distances between nearby rows (metres, scale ~1/cos(lat))


class LoadError(RoutingError):
    """A file that cannot be loaded at all (missing, unreadable, lacking a needed column)."""


@dataclass
class LoadReport:
    """What loading one file did; ``problems`` are sentences naming the row."""

    path: str
    rows: int = 0
    added: int = 0
    already_there: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def skip(self, row: int, what: str) -> None:
        """Leave out row ``row`` (counted from 1) because it ``what`` (a sentence's end)."""
        self.skipped += 1
        self.problems.append(f"row {row} {what}")

    def summary(self) -> str:
        return (f"{self.path}: {self.rows} rows, {self.added} added, {self.already_there} already "
                f"loaded, {self.skipped} skipped")


def read_points(path: Path, *, crs: CoordSystem | str, report: LoadReport
                ) -> gpd.GeoDataFrame:
    """Rows with valid points, as ``lon``/``lat`` WGS-84 columns plus the file's columns.

    Bad rows are recorded in ``report`` (row numbers count from 1 in file order).
    """
    system = parse_coord_system(crs)
    frame = read_frame(path, system=system, report=report)
    good = []
    for i, geom in enumerate(frame.geometry):
        row = i + 1
        if geom is None or geom.is_empty:
            report.skip(row, "has no geometry")
        elif geom.geom_type != "Point":
            report.skip(row, f"is a {geom.geom_type}, not a point")
        elif not (np.isfinite(geom.x) and np.isfinite(geom.y)
                  and abs(geom.x) <= 180 and abs(geom.y) <= 90):
            report.skip(row, f"has coordinates out of range ({geom.x}, {geom.y})")
        else:
            good.append(i)
    frame = frame.iloc[good].copy()
    lon, lat = to_wgs84(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), system)
    frame["lon"], frame["lat"] = np.atleast_1d(lon), np.atleast_1d(lat)
    return frame


def read_frame(path: Path, *, system: CoordSystem, report: LoadReport) -> gpd.GeoDataFrame:
    """Read a vector file, number its rows from 1, and bring a declared CRS to WGS-84.

    GCJ-02 and BD-09 cannot be declared by a file; for them the coordinates are left as they
    are, to be converted by the caller."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises many types for unreadable files
        raise LoadError(f"{path}: cannot read it as a GeoJSON, GeoPackage or shapefile "
                        f"({exc})") from None
    report.rows = len(frame)
    frame["row"] = np.arange(1, len(frame) + 1)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326") and system is CoordSystem.WGS84:
        frame = frame.to_crs(4326)
    return frame


def load_stations(engine: sa.Engine, path: str | Path, *, crs: str = "wgs84",
                  tiers: dict[str, int] | None = None) -> LoadReport:
    """Load police stations, posts, sub-bureaus, city units and armed patrol points.

    The kind comes from a ``kind`` column when the file has one, else from the ``name`` (see
    :func:`zones.poi.station_kind`); rows whose name names no response force are skipped.
    """
    path = Path(path)
    report = LoadReport(str(path))
    frame = read_points(path, crs=crs, report=report)
    require_column(frame, "name", path=path)
    tiers = {**DEFAULT_TIER_MINUTES, **(tiers or {})}
    records, first_row = [], {}
    for rec in frame.itertuples():
        key = _source_key(rec._asdict())
        if key in first_row:
            report.skip(rec.row, f"repeats row {first_row[key]} (same id {key})")
            continue
        first_row[key] = rec.row
        kind = text_or_none(getattr(rec, "kind", None)) or station_kind(str(rec.name))
        if kind is None:
            report.skip(rec.row, f"({rec.name}) is not a response force; left out")
            continue
        if kind not in STATION_KINDS:
            report.skip(rec.row, f"has unknown kind {kind!r}; use one of "
                                  f"{', '.join(STATION_KINDS)}")
            continue
        records.append({
            "source_key": key, "kind": kind, "name": str(rec.name),
            "tier_minutes": tiers[kind], "address": text_or_none(getattr(rec, "address", None)),
            "district": text_or_none(getattr(rec, "adname", None)),
            "geom": f"SRID=4326;POINT({rec.lon} {rec.lat})"})
    insert_new(engine, Station, records, report=report)
    return report


def load_hotspots(engine: sa.Engine, path: str | Path, *, category: str | None = None,
                  crs: str = "wgs84") -> LoadReport:
    """Load hotspots; rows that are parts of one place are merged (see :mod:`zones.poi`).

    The category is ``category`` for the whole file, else a ``category`` column per row.
    """
    path = Path(path)
    if category is not None and category not in HOTSPOT_CATEGORIES:
        raise LoadError(f"unknown hotspot category {category!r}; use one of "
                        f"{', '.join(HOTSPOT_CATEGORIES)}")
    report = LoadReport(str(path))
    frame = read_points(path, crs=crs, report=report)
    require_column(frame, "name", path=path)
    if category is not None:
        frame["category"] = category
    elif "category" not in frame.columns:
        raise LoadError(f"{path}: give a category or a 'category' column")
    known = frame["category"].isin(HOTSPOT_CATEGORIES)
    for rec in frame[~known].itertuples():
        report.skip(rec.row, f"has unknown category {rec.category!r}; use one of "
                              f"{', '.join(HOTSPOT_CATEGORIES)}")
    records, used = [], set()
    for cat, group in frame[known].groupby("category"):
        metric = gpd.GeoSeries(gpd.points_from_xy(group["lon"], group["lat"]), crs=4326)
        metric = metric.to_crs(METRIC_EPSG)
        xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
        for place in merge_rows(group["name"].astype(str).tolist(), xy, cat):
            rows = group.iloc[place.rows]
            first = rows.iloc[0]
            key = f"{cat}:" + min(_source_key(r) for r in rows.to_dict("records"))
            if key in used:
                report.skip(int(first["row"]), f"repeats a place already in this file ({key})")
                continue
            used.add(key)
            records.append({
                "source_key": key, "category": cat, "name": place.name,
                "district": text_or_none(first.get("adname")), "merged_rows": len(place.rows),
                "geom": f"SRID=4326;POINT({rows['lon'].mean()} {rows['lat'].mean()})"})
    insert_new(engine, Hotspot, records, report=report)
    return report


def insert_new(engine: sa.Engine, model, records: list[dict], *, report: LoadReport,
               keys: tuple[str, ...] = ("source_key",)) -> None:
    """Insert all records in one transaction; rows whose ``keys`` are already stored are left as
    they are. Counts both in ``report``."""
    if records:
        with engine.begin() as conn:
            result = conn.execute(insert(model).on_conflict_do_nothing(
                index_elements=list(keys)).returning(model.id), records)
            report.added = len(result.fetchall())
    report.already_there = len(records) - report.added


def _source_key(values: dict) -> str:
    """The row's own id (``poiid``, ``id``) or, lacking one, a hash of its name and position."""
    for column in ("poiid", "id"):
        value = values.get(column)
        if value is not None and str(value) not in ("", "nan"):
            return str(value)[:64]
    text = f"{values.get('name')}|{values['lon']:.6f}|{values['lat']:.6f}"
    return hashlib.sha1(text.encode()).hexdigest()[:32]


def text_or_none(value) -> str | None:
    """A cell's text, or None when it is empty or missing."""
    return None if value is None or str(value) in ("", "nan", "None") else str(value)


def require_column(frame: gpd.GeoDataFrame, column: str, *, path: Path) -> None:
    """Raise :class:`LoadError` unless the file at ``path`` has ``column``."""
    if column not in frame.columns:
        raise LoadError(f"{path}: needs a '{column}' column")


def load_generated_grid(engine: sa.Engine, graph, *, resolution: int = 9,
                        snap_limit_m: float = 500.0) -> str:
    """Generate H3 grid cells over the roads and one patrol zone per police station
    (network Voronoi; see :mod:`zones.grids`), in one transaction. Cells already stored are
    kept; a station that already has a generated zone keeps it. Returns a summary sentence."""
    from zones import grids, lookups
    from zones.models import Area, PatrolZone

    with engine.begin() as conn:
        stations = lookups.police_stations(conn)
        if not stations:
            raise LoadError("no police stations are loaded: load stations before the grid")
        lonlat = np.array([(s[2], s[3]) for s in stations])
        snaps, kept = grids.station_snaps(graph, lonlat, snap_limit_m=snap_limit_m)
        cells = grids.assign_cells(graph, grids.road_cells(graph, resolution), snaps,
                                   snap_limit_m=snap_limit_m)
        city = shapely_wkt(grids.as_multipolygon(
            shapely.coverage_union_all([c.polygon for c in cells])))
        conn.execute(insert(Area).on_conflict_do_nothing(index_elements=["level", "code"]),
                     [{"level": "city", "code": "generated", "name": "road network extent",
                       "geom": city}])
        city_id = conn.execute(sa.select(Area.id).where(Area.level == "city",
                                                        Area.code == "generated")).scalar_one()
        rows = [{"level": "grid", "code": c.code, "name": None, "parent_id": city_id,
                 "geom": shapely_wkt(grids.as_multipolygon(c.polygon))} for c in cells]
        added_cells = len(conn.execute(insert(Area).on_conflict_do_nothing(
            index_elements=["level", "code"]).returning(Area.id), rows).fetchall())
        zoned = set(conn.execute(sa.select(PatrolZone.station_id)
                                 .where(PatrolZone.official.is_(False))).scalars())
        zones = []
        for index, shape in grids.dissolve_zones(cells).items():
            station_id, name = stations[kept[index]][0], stations[kept[index]][1]
            if station_id not in zoned:
                zones.append({"name": f"{name}责任区", "station_id": station_id,
                              "geom": shapely_wkt(grids.as_multipolygon(shape))})
        if zones:
            conn.execute(insert(PatrolZone), zones)
    return (f"grid: {len(cells)} H3 cells (resolution {resolution}), {added_cells} added; "
            f"patrol zones: {len(zones)} added for {len(kept)} police stations on the network "
            f"({len(stations) - len(kept)} more than {snap_limit_m:g} m from any road: no zone)")


def shapely_wkt(geometry) -> str:
    """EWKT of a WGS-84 shapely geometry, for a geometry column."""
    return f"SRID=4326;{geometry.wkt}"
