"""Generated grids and patrol zones (pure: the road engine and H3, no database).

Our data has no official grid polygons, so the grid level is made of H3 hexagons of a chosen
resolution (9: about 0.1 km², edge about 174 m) over every road of the network. Each police
station's responsibility area (责任区) is the set of cells whose centre it reaches fastest by drive
time (a network Voronoi diagram from one search over all stations), dissolved into one polygon.
Official boundary files, where loaded, take precedence in lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np
import shapely
from numpy.typing import NDArray

from routing.circles import RoadPieces, sample_pieces
from routing.compiled import RoadGraph
from routing.search import Direction, best_source_at, territories
from routing.snapping import Snap, snap_many, snap_points

DEFAULT_RESOLUTION = 9
_SAMPLE_SPACING_M = 50.0


@dataclass(frozen=True)
class GridCell:
    """One H3 cell: its index, WGS-84 polygon, and the station (index) that reaches it fastest."""

    code: str
    polygon: shapely.Polygon
    station: int  # index into the station list, -1 when no station reaches the cell
    seconds: float  # drive time from that station to the cell centre


def road_cells(graph: RoadGraph, resolution: int = DEFAULT_RESOLUTION) -> list[str]:
    """Every H3 cell that a road of the network passes through."""
    all_edges = graph.road_edges.astype(np.int64)
    pieces = RoadPieces(all_edges, np.zeros(len(all_edges)), np.ones(len(all_edges)))
    points, _, _ = sample_pieces(graph, pieces, spacing_m=_SAMPLE_SPACING_M)
    lon, lat = graph.to_lonlat.transform(points[:, 0], points[:, 1])
    return sorted({h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat)})


def assign_cells(graph: RoadGraph, cells: list[str], stations: list[Snap],
                 *, snap_limit_m: float = 500.0) -> list[GridCell]:
    """Give every cell to the station that reaches its centre fastest (network Voronoi)."""
    centres = np.array([h3.cell_to_latlng(c) for c in cells])  # (lat, lon)
    snapped = snap_many(graph, centres[:, 1], centres[:, 0], limit_m=snap_limit_m)
    reach = territories(graph, stations, direction=Direction.DEPART)
    station, seconds = best_source_at(graph, reach, snapped)
    return [GridCell(code, cell_polygon(code), int(s), float(t))
            for code, s, t in zip(cells, station, seconds)]


def cell_polygon(code: str) -> shapely.Polygon:
    """The WGS-84 polygon (lon, lat) of an H3 cell."""
    return shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(code)])


def dissolve_zones(cells: list[GridCell]) -> dict[int, shapely.Geometry]:
    """Station index → the union of its cells (the cells tile the plane, so a coverage union)."""
    by_station: dict[int, list[shapely.Polygon]] = {}
    for cell in cells:
        if cell.station >= 0:
            by_station.setdefault(cell.station, []).append(cell.polygon)
    return {s: shapely.coverage_union_all(polys) for s, polys in by_station.items()}


def as_multipolygon(geometry: shapely.Geometry) -> shapely.MultiPolygon:
    """Polygon → MultiPolygon (the column type), dropping anything that is not areal."""
    if geometry.geom_type == "MultiPolygon":
        return geometry
    if geometry.geom_type == "Polygon":
        return shapely.MultiPolygon([geometry])
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts)


def station_snaps(graph: RoadGraph, lonlat: NDArray[np.float64], *, snap_limit_m: float = 500.0
                  ) -> tuple[list[Snap], list[int]]:
    """Snap station points (WGS-84); returns the snaps and the station indices kept."""
    snaps, _ = snap_points(graph, lonlat[:, 0], lonlat[:, 1], limit_m=snap_limit_m)
    kept = [i for i, s in enumerate(snaps) if s is not None]
    return [snaps[i] for i in kept], kept
