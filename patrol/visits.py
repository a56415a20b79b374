"""How a must-patrol target is driven: the road points a loop passes through, in order.

A point is one stop. A line is driven along, through a point every ``LINE_STEP_M`` metres of it,
in its drawing order (one-way) or there and back (two-way). An area is driven through along its
long axis: in at one end, out at the other. The first point is where the visit starts, the last
where it ends; the drive between them is the visit's traversal time.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from routing.compiled import RoadGraph

#: Metres between the points through which a line is followed on the road.
LINE_STEP_M = 200.0
#: At most this many points follow one line (a longer line spaces them farther apart).
MAX_LINE_POINTS = 100
#: An area is crossed between the points at this share of its long axis from either end.
AREA_MARGIN = 0.1


def waypoints(graph: RoadGraph, kind: str, geometry: shapely.Geometry, *,
              two_way: bool = True) -> NDArray[np.float64]:
    """WGS-84 (lon, lat) points a loop drives through for a target, in driving order."""
    if kind == "point":
        return np.array([[geometry.x, geometry.y]])
    metric = _to_metric(graph, geometry)
    if not np.isfinite(metric.length):  # far outside the graph's projection: off the network
        return shapely.get_coordinates(geometry)[:1]
    if kind == "line":
        steps = min(MAX_LINE_POINTS, max(1, int(np.ceil(metric.length / LINE_STEP_M))))
        along = shapely.line_interpolate_point(metric, np.linspace(0, 1, steps + 1),
                                               normalized=True)
        xy = shapely.get_coordinates(along)
        if two_way:
            xy = np.concatenate([xy, xy[-2::-1]])
    elif kind == "area":
        xy = _long_axis(metric)
    else:
        raise ValueError(f"unknown target kind {kind!r}")
    lon, lat = graph.to_lonlat.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _to_metric(graph: RoadGraph, geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(
        graph.to_metric.transform(xy[:, 0], xy[:, 1])))


def _long_axis(area: shapely.Geometry) -> NDArray[np.float64]:
    """Two points inside the area's minimum rotated rectangle on its long axis, the area's
    length apart less the margins."""
    corners = shapely.get_coordinates(shapely.minimum_rotated_rectangle(area))[:4]
    sides = np.linalg.norm(np.diff(np.vstack([corners, corners[:1]]), axis=0), axis=1)
    if sides[0] >= sides[1]:  # long sides 0-1 and 2-3: the axis joins their short sides' middles
        a, b = (corners[0] + corners[3]) / 2, (corners[1] + corners[2]) / 2
    else:
        a, b = (corners[0] + corners[1]) / 2, (corners[2] + corners[3]) / 2
    return np.array([a + AREA_MARGIN * (b - a), b - AREA_MARGIN * (b - a)])
