"""The road network engine: graphs, snapping, drive-time searches and response circles.

Pure: no web framework or database imports. Everything here takes a :class:`RoadGraph` and returns
new objects, so one loaded graph serves many requests at once.
"""

from routing.circles import Ring, rings
from routing.compiled import RoadGraph
from routing.coords import CoordSystem, from_wgs84, parse_coord_system, to_wgs84
from routing.errors import CoordinateError, GraphImportError, OffNetworkError, RoutingError
from routing.graph_store import import_graph, open_graph
from routing.matching import Match, MatchedPiece, match_track
from routing.search import Direction, Ranked, Reach, Weights, rank_to, reach
from routing.snapping import Snap, Snapped, snap_many, snap_point, snap_points
from routing.speeds import SpeedModel

__all__ = [
    "CoordSystem", "CoordinateError", "Direction", "GraphImportError", "Match", "MatchedPiece",
    "OffNetworkError", "Ranked", "Reach", "Ring", "RoadGraph", "RoutingError", "Snap", "Snapped",
    "SpeedModel", "Weights", "from_wgs84", "import_graph", "match_track", "open_graph",
    "parse_coord_system", "rank_to", "reach", "rings", "snap_many", "snap_point", "snap_points",
    "to_wgs84",
]
