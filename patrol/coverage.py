"""Coverage of the 三圈 hotspots for planners: what the map shows, gathered from PostGIS and the
road engine (the map itself is drawn by ``maps``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import folium
import numpy as np
import shapely
import sqlalchemy as sa

from patrol.circles import CircleOptions
from patrol.dispatch import RING_SECONDS, ring_of
from patrol.errors import NotFound
from routing import Direction, RoadGraph, Ring, Snapped, rings, snap_many
from routing.search import Reach, best_source_at, reach
from routing.snapping import DEFAULT_SNAP_LIMIT_M
from zones import coverage_inputs
from zones.plan_store import map_features

#: Station kinds whose circles the map draws (the forces that answer within minutes).
RESPONSE_KINDS = ("police_station", "police_post", "armed_patrol_point", "sub_bureau",
                  "city_unit")

#: Metres by which drawn circles are simplified (a quarter of a screen pixel at zoom 11).
SIMPLIFY_M = 15.0

#: The tier of a hotspot outside the road data (farther than the snapping limit from any road):
#: no drive time, no gap.
OUTSIDE = "outside"


@dataclass(frozen=True)
class CoverageData:
    """Everything a coverage map shows, in WGS-84."""

    rings: dict[int, shapely.Geometry]  # seconds → the area reached from the nearest station
    stations: list[dict]  # id, name, kind, lon, lat, on_network (False: no circles from it)
    hotspots: list[dict]  # id, name, category, lon, lat, seconds (from the nearest station),
    # tier ("1", "3", "5", "beyond", or OUTSIDE: farther than the snapping limit from any road)
    zones: list[dict]  # id, name, station, geometry
    grid: shapely.Geometry | None  # grid cell outlines
    incidents: list[tuple[float, float]]  # lon, lat of recent incidents
    loops: list[dict] = field(default_factory=list)  # stored patrol loops (GeoJSON Features)
    targets: list[dict] = field(default_factory=list)  # must-patrol targets (GeoJSON Features)


def gather(engine: sa.Engine, graph: RoadGraph, *, zone_id: int | None = None,
           category: str | None = None, buffer_m: float = 50.0, cell_m: float = 25.0,
           simplify_m: float = SIMPLIFY_M, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M
           ) -> CoverageData:
    """Stations and their dissolved 1/3/5-minute circles, hotspots with the best tier that
    reaches them, zones, grid and incidents; limited to one patrol zone when ``zone_id`` is
    given and to one hotspot category when ``category`` is. Stations and hotspots farther than
    ``snap_limit_m`` metres from every road are outside the road data: such a station draws no
    circle, such a hotspot has the tier :data:`OUTSIDE`."""
    with engine.connect() as conn:
        zone_wkt = None
        if zone_id is not None:
            zone_wkt = coverage_inputs.zone_wkt(conn, zone_id)
            if zone_wkt is None:
                raise NotFound(f"no patrol zone {zone_id}")
        stations = coverage_inputs.response_stations(conn, kinds=RESPONSE_KINDS)
        hotspots = [{"id": i, "name": name, "category": cat, "lon": lon, "lat": lat}
                    for i, name, cat, _, lon, lat in coverage_inputs.hotspot_rows(
                        conn, category=category)]
        zones = [{"id": r[0], "name": r[1], "station": r[2], "geometry": shapely.from_wkt(r[3])}
                 for r in coverage_inputs.zone_outlines(conn)]
        grid_wkt = coverage_inputs.grid_outline_wkt(conn)
        incidents = coverage_inputs.recent_incident_points(conn)
        loops, targets = map_features(conn, zone_id=zone_id)
    origins = snap_many(graph, [s["lon"] for s in stations], [s["lat"] for s in stations],
                        limit_m=snap_limit_m)
    for station, on in zip(stations, origins.on_road):
        station["on_network"] = bool(on)
    found, dissolved = dissolved_rings(graph, origins, buffer_m=buffer_m, cell_m=cell_m,
                                       simplify_m=simplify_m)
    rings_by_seconds = {int(ring.seconds): shapely.transform(
        ring.polygon, lambda xy: np.column_stack(graph.to_lonlat.transform(xy[:, 0], xy[:, 1])))
        for ring in dissolved}
    _hotspot_times(graph, found, hotspots, snap_limit_m=snap_limit_m)
    if zone_wkt is not None:
        area = shapely.from_wkt(zone_wkt)
        stations = [s for s in stations if area.intersects(shapely.Point(s["lon"], s["lat"]))]
        hotspots = [h for h in hotspots if area.intersects(shapely.Point(h["lon"], h["lat"]))]
        zones = [z for z in zones if z["id"] == zone_id]
        rings_by_seconds = {k: shapely.intersection(v, area.buffer(0.02))
                            for k, v in rings_by_seconds.items()}
    return CoverageData(rings_by_seconds, stations, hotspots, zones,
                        shapely.from_wkt(grid_wkt) if grid_wkt else None, incidents, loops,
                        targets)


def dissolved_rings(graph: RoadGraph, origins: Snapped, *, buffer_m: float, cell_m: float,
                    simplify_m: float = SIMPLIFY_M) -> tuple[Reach | None, list[Ring]]:
    """The 1/3/5-minute circles of all ``origins`` at once (one search from the nearest of
    them: the circles come dissolved), outlines simplified by ``simplify_m`` metres (in the
    graph's metric CRS), and the search; (None, []) when no origin is on the network."""
    if not origins.on_road.any():
        return None, []
    found = reach(graph, origins, direction=Direction.DEPART, limit_s=max(RING_SECONDS))
    return found, [replace(ring, polygon=_simplified(ring.polygon, simplify_m))
                   for ring in rings(found, list(RING_SECONDS), buffer_m=buffer_m,
                                     cell_m=cell_m)]


def _simplified(polygon: shapely.Geometry, tolerance_m: float) -> shapely.Geometry:
    """Douglas-Peucker without keeping the topology (on a city's rings some 20 times faster
    than with it: seconds less per drawing), made valid again where it crossed itself."""
    simple = shapely.simplify(polygon, tolerance_m, preserve_topology=False)
    if simple.is_valid:
        return simple
    return shapely.make_valid(simple, method="structure", keep_collapsed=False)


def _hotspot_times(graph: RoadGraph, found: Reach | None, hotspots: list[dict], *,
                   snap_limit_m: float) -> None:
    """Set each hotspot's drive time from the nearest station (``found``: the search from all
    of them; None: none on the network) and the tier that covers it, :data:`OUTSIDE` for one
    farther than ``snap_limit_m`` metres from every road."""
    snapped = snap_many(graph, [h["lon"] for h in hotspots], [h["lat"] for h in hotspots],
                        limit_m=snap_limit_m)
    seconds = (np.full(len(hotspots), np.inf) if found is None
               else best_source_at(graph, found, snapped)[1])
    for h, t, on in zip(hotspots, seconds, snapped.on_road):
        finite = bool(np.isfinite(t))
        h["seconds"] = round(float(t), 1) if finite else None
        h["tier"] = OUTSIDE if not on else ring_of(float(t)) if finite else "beyond"


class CoverageMaps:
    """The planners' coverage map, drawn the same way for every entrance (``GET /maps/coverage``,
    ``patrol map coverage`` and the coverage report).

    Gathered data is kept for ``keep_s`` seconds per zone and category (stations change
    rarely); 0 gathers afresh for every map. ``tiles``: "OpenStreetMap", a URL template or None.
    """

    def __init__(self, engine: sa.Engine, graph: RoadGraph, *, options: CircleOptions,
                 tiles: str | None, attribution: str | None, keep_s: float = 0.0) -> None:
        self.engine, self.graph, self.options = engine, graph, options
        self.tiles, self.attribution, self.keep_s = tiles, attribution, keep_s
        self._kept: dict[tuple, tuple[float, CoverageData]] = {}

    def data(self, *, zone_id: int | None = None, category: str | None = None) -> CoverageData:
        """What the map of one zone (None: the city) and category (None: all) shows."""
        key = (zone_id, category)
        hit = self._kept.get(key)
        if hit is None or hit[0] < time.monotonic():
            gathered = gather(self.engine, self.graph, zone_id=zone_id, category=category,
                              buffer_m=self.options.buffer_m, cell_m=self.options.cell_m,
                              snap_limit_m=self.options.snap_limit_m)
            hit = (time.monotonic() + self.keep_s, gathered)
            if self.keep_s > 0:
                self._kept[key] = hit
        return hit[1]

    def draw(self, *, zone_id: int | None = None, category: str | None = None,
             coords: str = "wgs84") -> tuple[folium.Map, CoverageData]:
        """The folium map and the data it shows; ``coords`` "gcj02" shifts everything to line
        up with Chinese tile sets."""
        from maps.coverage import coverage_map

        data = self.data(zone_id=zone_id, category=category)
        return coverage_map(data, tiles=self.tiles, attribution=self.attribution,
                            coords=coords), data
