"""Response circles (isochrones): the area within t seconds of a point by road.

A ring is built from the road segments reachable within its time, partial segments cut where
the remaining time runs out, buffered by ``buffer_m`` metres. The buffer is computed on a raster
as isochrone engines do: segments are sampled into cells of ``cell_m`` metres, an exact Euclidean
distance transform gives every cell's distance to the nearest reachable road, and marching squares
trace the ``buffer_m`` contour. The outline is accurate to about one cell; it is never a convex hull.

One search (to the largest time) serves every ring. Rings are cumulative: the 5-minute ring
contains the 1-minute ring.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import shapely
import shapely.geometry
from contourpy import FillType, contour_generator
from numpy.typing import NDArray
from scipy import ndimage

from routing.compiled import RoadGraph
from routing.search import Direction, Reach

DEFAULT_BUFFER_M = 50.0
DEFAULT_CELL_M = 25.0


@dataclass(frozen=True)
class Ring:
    """One response circle: its time, outline (metric CRS), reachable road length and area."""

    seconds: float
    polygon: shapely.Geometry  # Polygon or MultiPolygon in the graph's metric CRS
    road_length_m: float
    area_m2: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0


@dataclass(frozen=True)
class RoadPieces:
    """Parts of roads: edge ids and [lo, hi] fractions along them (from each edge's tail).

    Directed pieces also carry an ``anchor`` fraction reached at ``anchor_s`` seconds; a point at
    fraction s of the piece is reached at ``anchor_s + |s - anchor| * edge seconds``.
    """

    edge: NDArray[np.int64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    anchor: NDArray[np.float64] | None = None
    anchor_s: NDArray[np.float64] | None = None


def rings(reach: Reach, seconds: list[float], *, buffer_m: float = DEFAULT_BUFFER_M,
          cell_m: float = DEFAULT_CELL_M) -> list[Ring]:
    """One :class:`Ring` per time in ``seconds`` (each at most ``reach.limit_s``), nested."""
    limits = sorted(float(s) for s in seconds)
    if limits and limits[-1] > reach.limit_s + 1e-9:
        raise ValueError(f"ring of {limits[-1]} s is beyond the search limit {reach.limit_s} s")
    graph = reach.graph
    field = _TimeRaster.of(graph, _directed_pieces(reach, limits[-1]), reach.weights.forward,
                           pad_m=buffer_m + 2 * cell_m, cell_m=cell_m)
    result = []
    for limit in limits:
        pieces = reachable_pieces(reach, limit)
        length = float(np.sum((pieces.hi - pieces.lo) * graph.edge_metres[pieces.edge]))
        polygon = field.outline(limit, buffer_m)
        result.append(Ring(limit, polygon, length, float(polygon.area)))
    return result


def reachable_pieces(reach: Reach, limit_s: float) -> RoadPieces:
    """The parts of roads reachable within ``limit_s``, merged per road (both directions)."""
    return _merge(reach.graph, _directed_pieces(reach, limit_s))


def buffer_pieces(graph: RoadGraph, pieces: RoadPieces, *, buffer_m: float,
                  cell_m: float) -> shapely.Geometry:
    """The outline of ``pieces`` buffered by ``buffer_m`` metres (metric CRS)."""
    timeless = RoadPieces(pieces.edge, pieces.lo, pieces.hi, pieces.lo, np.zeros(len(pieces.lo)))
    field = _TimeRaster.of(graph, timeless, np.zeros(graph.n_edges),
                           pad_m=buffer_m + 2 * cell_m, cell_m=cell_m)
    return field.outline(0.0, buffer_m)


@dataclass(frozen=True)
class _TimeRaster:
    """Cells of ``cell_m`` metres holding the earliest time a road in them is reached."""

    seconds: NDArray[np.float64]  # (rows, cols), inf where no reachable road passes
    x0: float
    y0: float
    cell_m: float
    pad_cells: int

    @classmethod
    def of(cls, graph: RoadGraph, pieces: RoadPieces, weights: NDArray, *, pad_m: float,
           cell_m: float) -> _TimeRaster:
        points, owner, fraction = sample_pieces(graph, pieces, spacing_m=cell_m)
        pad_cells = int(np.ceil(pad_m / cell_m))
        if len(points) == 0:
            return cls(np.full((1, 1), np.inf), 0.0, 0.0, cell_m, pad_cells)
        times = (pieces.anchor_s[owner]
                 + np.abs(fraction - pieces.anchor[owner]) * weights[pieces.edge[owner]])
        # One lattice (multiples of cell_m) for every raster, so rings line up cell for cell.
        x0, y0 = (np.floor(points.min(axis=0) / cell_m) - pad_cells) * cell_m
        col = ((points[:, 0] - x0) / cell_m).astype(np.int64)
        row = ((points[:, 1] - y0) / cell_m).astype(np.int64)
        grid = np.full((row.max() + pad_cells + 1, col.max() + pad_cells + 1), np.inf)
        latest_first = np.argsort(-times, kind="stable")  # the earliest time is written last
        grid[row[latest_first], col[latest_first]] = times[latest_first]
        return cls(grid, float(x0), float(y0), cell_m, pad_cells)

    def outline(self, limit_s: float, buffer_m: float) -> shapely.Geometry:
        """Cells within ``buffer_m`` of a road reached by ``limit_s``, traced as polygons."""
        rows, cols = np.nonzero(self.seconds <= limit_s)
        if len(rows) == 0:
            return shapely.Polygon()
        r0, c0 = max(rows.min() - self.pad_cells, 0), max(cols.min() - self.pad_cells, 0)
        r1, c1 = rows.max() + self.pad_cells + 1, cols.max() + self.pad_cells + 1
        window = self.seconds[r0:r1, c0:c1] > limit_s
        distance = ndimage.distance_transform_edt(window) * self.cell_m
        xs = self.x0 + (c0 + np.arange(window.shape[1]) + 0.5) * self.cell_m
        ys = self.y0 + (r0 + np.arange(window.shape[0]) + 0.5) * self.cell_m
        generator = contour_generator(xs, ys, distance,
                                      fill_type=FillType.ChunkCombinedOffsetOffset)
        (points,), (ring_offsets,), (polygon_offsets,) = generator.filled(-1.0, buffer_m)
        polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, points,
                                             (ring_offsets, polygon_offsets))
        outline = shapely.multipolygons(polygons) if len(polygons) > 1 else polygons[0]
        return shapely.remove_repeated_points(outline, self.cell_m / 100)


def sample_pieces(graph: RoadGraph, pieces: RoadPieces, *,
                  spacing_m: float) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray]:
    """Points along every piece at most ``spacing_m`` apart, ends included.

    Returns metric (x, y) points, the piece each belongs to, and its fraction along the edge.
    """
    if len(pieces.edge) == 0:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0)
    cum, base, geom_len = graph.vertex_positions
    e = pieces.edge
    start = pieces.lo * geom_len[e]
    span = (pieces.hi - pieces.lo) * geom_len[e]
    count = np.ceil(span / spacing_m).astype(np.int64) + 1
    owner = np.repeat(np.arange(len(e)), count)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    along = start[owner] + span[owner] * step / np.maximum(count[owner] - 1, 1)
    query = base[e[owner]] + along
    first, last = graph.geom_offsets[e[owner]], graph.geom_offsets[e[owner] + 1] - 2
    seg = np.clip(np.searchsorted(cum, query, side="right") - 1, first, last)
    seg_len = np.maximum(cum[seg + 1] - cum[seg], 1e-12)
    t = np.clip((query - cum[seg]) / seg_len, 0.0, 1.0)[:, None]
    points = graph.geom_xy[seg] + t * (graph.geom_xy[seg + 1] - graph.geom_xy[seg])
    fraction = along / np.maximum(geom_len[e[owner]], 1e-12)
    return points, owner, fraction


def _csr_edges(indptr: NDArray, edge_ids: NDArray, nodes: NDArray) -> tuple[NDArray, NDArray]:
    """All edges listed in the CSR rows of ``nodes``, and the row node of each."""
    starts, stops = indptr[nodes], indptr[nodes + 1]
    counts = stops - starts
    node_of = np.repeat(nodes, counts)
    slots = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return edge_ids[np.repeat(starts, counts) + slots], node_of


def _directed_pieces(reach: Reach, limit_s: float) -> RoadPieces:
    """Every edge part reachable within ``limit_s``, with the time along it (see RoadPieces)."""
    graph, w = reach.graph, reach.weights.forward
    nodes = reach.settled[reach.seconds[reach.settled] <= limit_s]
    depart = reach.direction is Direction.DEPART
    if depart:
        edges, node_of_edge = _csr_edges(graph.fwd_indptr, np.arange(graph.n_edges), nodes)
    else:
        edges, node_of_edge = _csr_edges(graph.rev_indptr, graph.rev_edge, nodes)
    at_node = reach.seconds[node_of_edge]
    share = np.minimum(1.0, (limit_s - at_node) / w[edges])
    anchor = np.zeros(len(edges)) if depart else np.ones(len(edges))
    lo, hi = (anchor, share) if depart else (1.0 - share, anchor)
    own_e, own_lo, own_hi, own_anchor = _origin_pieces(reach, limit_s)
    return RoadPieces(np.concatenate([edges, own_e]), np.concatenate([lo, own_lo]),
                      np.concatenate([hi, own_hi]), np.concatenate([anchor, own_anchor]),
                      np.concatenate([at_node, np.zeros(len(own_e))]))


def _origin_pieces(reach: Reach, limit_s: float) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """The parts of the origins' own roads (each road of each origin) covered without passing a
    node: (edge, lo, hi, anchor)."""
    graph, w = reach.graph, reach.weights.forward
    _, e, f = reach.origins.entries()
    twin = graph.edge_twin[e]
    two_way = twin >= 0
    edges = np.concatenate([e, twin[two_way]]).astype(np.int64)
    anchor = np.concatenate([f, 1.0 - f[two_way]])
    share = limit_s / w[edges]
    if reach.direction is Direction.DEPART:
        return edges, anchor, np.minimum(1.0, anchor + share), anchor
    return edges, np.maximum(0.0, anchor - share), anchor, anchor


def _merge(graph: RoadGraph, pieces: RoadPieces) -> RoadPieces:
    """Express pieces on each road's canonical edge and merge overlapping ones."""
    edges, lo, hi = pieces.edge, pieces.lo, pieces.hi
    twin = graph.edge_twin[edges]
    flip = (twin >= 0) & (twin < edges)
    road = np.where(flip, twin, edges).astype(np.int64)
    lo, hi = np.where(flip, 1.0 - hi, lo), np.where(flip, 1.0 - lo, hi)
    keep = hi > lo
    road, lo, hi = road[keep], lo[keep], hi[keep]
    if len(road) == 0:
        return RoadPieces(road, lo, hi)
    # Roads are separated by offsetting each by 2 * its id, then one sweep merges intervals.
    order = np.lexsort((lo, road))
    a, b = 2.0 * road[order] + lo[order], 2.0 * road[order] + hi[order]
    reach_end = np.maximum.accumulate(b)
    new = np.ones(len(a), dtype=bool)
    new[1:] = a[1:] > reach_end[:-1]
    start_a = a[new]
    end_b = np.maximum.reduceat(b, np.flatnonzero(new))
    merged_road = road[order][new]
    return RoadPieces(merged_road, start_a - 2.0 * merged_road, end_b - 2.0 * merged_road)


def rings_geojson(graph: RoadGraph, rings_: list[Ring], *, direction: Direction) -> dict:
    """A GeoJSON FeatureCollection (WGS-84), one polygon feature per ring, smallest first.

    Properties: ``minutes``, ``seconds``, ``direction``, ``road_length_m`` (reachable road,
    each road counted once whatever its directions) and ``area_m2``.
    """

    def to_lonlat(xy: NDArray) -> NDArray:
        return np.column_stack(graph.to_lonlat.transform(xy[:, 0], xy[:, 1]))

    features = []
    for ring in rings_:
        # 1e-7 degrees (about 1 cm); set_precision keeps the snapped polygon valid.
        geometry = shapely.set_precision(shapely.transform(ring.polygon, to_lonlat), 1e-7)
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geometry),
            "properties": {"minutes": round(ring.minutes, 3), "seconds": ring.seconds,
                           "direction": Direction(direction).value,
                           "road_length_m": round(ring.road_length_m, 1),
                           "area_m2": round(ring.area_m2, 1)},
        })
    return {"type": "FeatureCollection", "features": features}
