"""Read road network sources into an osmnx drive graph with travel times.

Supported sources:

- OSM XML (``.osm``, ``.osm.bz2``) and OSM PBF (``.osm.pbf``): read with pyosmium, reduced to the
  drivable ways, and built into a graph by :func:`osmnx.graph_from_xml`, which honours ``oneway``.
  Ways of a clipped extract that reference nodes missing from the file are cut at those nodes.
- OSMnx-style edge tables (GeoParquet ``.parquet``, GeoPackage ``.gpkg``) with columns ``u``, ``v``,
  ``highway`` and ``geometry`` in any projected or geographic CRS. Each row is a two-way road unless
  a truthy ``oneway`` column says otherwise.

The result keeps only the largest strongly connected component and is simplified by
:func:`osmnx.simplify_graph`, keeping a node wherever road class or speed changes so that every
edge has one speed. Node ``x``/``y`` are WGS-84 lon/lat (EPSG:4326); edges carry ``length``
(metres), ``speed_kph`` and ``travel_time`` (seconds).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import shapely

from routing.errors import GraphImportError
from routing.formats import source_kind
from routing.speeds import SpeedModel

log = logging.getLogger(__name__)

#: Highway classes that are not for cars (osmnx's "drive_service" network excludes the same).
NON_DRIVE_HIGHWAYS = frozenset({
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator",
    "escalator", "footway", "no", "path", "pedestrian", "planned", "platform", "proposed",
    "raceway", "razed", "steps", "track", "bus_stop", "busway_platform",
})
#: ``service=*`` values closed to through traffic (osmnx's "drive_service" network).
NON_DRIVE_SERVICES = frozenset({"parking", "parking_aisle", "private"})


@dataclass
class ImportReport:
    """What an import kept and dropped; ``warnings`` are sentences for the user."""

    source: str
    nodes_read: int = 0
    edges_read: int = 0
    nodes_kept: int = 0
    edges_kept: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def nodes_dropped(self) -> int:
        """Nodes outside the largest strongly connected component."""
        return self.nodes_read - self.nodes_kept


def read_drive_graph(path: str | Path, speeds: SpeedModel) -> tuple[nx.MultiDiGraph, ImportReport]:
    """Read ``path`` into a simplified, strongly connected drive graph with travel times."""
    path = Path(path)
    if not path.is_file():
        raise GraphImportError(f"{path}: no such file")
    report = ImportReport(source=str(path))
    if source_kind(path) == "osm":
        graph = _graph_from_osm(path, report)
        straight = True
    else:
        graph, straight = _graph_from_edge_table(path, report)
    if graph.number_of_edges() == 0:
        raise GraphImportError(f"{path}: no drivable road is left after filtering the network")
    _add_travel_times(graph, speeds)
    report.nodes_read, report.edges_read = graph.number_of_nodes(), graph.number_of_edges()
    graph = ox.truncate.largest_component(graph, strongly=True)
    report.nodes_kept, report.edges_kept = graph.number_of_nodes(), graph.number_of_edges()
    if straight:
        graph = ox.simplify_graph(graph, edge_attrs_differ=["highway", "speed_kph"],
                                  edge_attr_aggs={"length": sum, "travel_time": sum})
    return graph, report


def is_drivable(tags: dict[str, str]) -> bool:
    """True for an OSM way a car may drive on (osmnx's "drive_service" filter)."""
    highway = tags.get("highway")
    return bool(
        highway
        and highway not in NON_DRIVE_HIGHWAYS
        and tags.get("area") != "yes"
        and tags.get("access") != "private"
        and tags.get("motor_vehicle") != "no"
        and tags.get("motorcar") != "no"
        and tags.get("service") not in NON_DRIVE_SERVICES
    )


def _graph_from_osm(path: Path, report: ImportReport) -> nx.MultiDiGraph:
    """Drivable ways of an OSM file → osmnx graph (unsimplified, all components)."""
    ways, node_refs = _read_drive_ways(path)
    if not ways:
        raise GraphImportError(f"{path}: the file holds no drivable road (no way with a car "
                               f"highway tag)")
    locations = _read_node_locations(path, node_refs)
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "drive.osm"
        missing = _write_clean_xml(clean, ways, locations)
        if missing:
            report.warnings.append(
                f"{missing} node references point outside the extract (a clipped file); the ways "
                f"were cut at those nodes")
        try:
            return ox.graph_from_xml(clean, bidirectional=False, simplify=False, retain_all=True)
        except ValueError as exc:  # osmnx raises plain ValueError on empty or broken input
            raise GraphImportError(f"{path}: {exc}") from None


def _read_drive_ways(path: Path) -> tuple[list[tuple[int, list[int], dict]], set[int]]:
    ways, refs = [], set()
    try:
        for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
            tags = dict(way.tags)
            if is_drivable(tags):
                nodes = [n.ref for n in way.nodes]
                ways.append((way.id, nodes, tags))
                refs.update(nodes)
    except RuntimeError as exc:  # libosmium reports unreadable input as RuntimeError
        raise GraphImportError(f"{path}: not a readable OpenStreetMap file ({exc})") from None
    return ways, refs


def _read_node_locations(path: Path, wanted: set[int]) -> dict[int, tuple[float, float]]:
    locations = {}
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.id in wanted and node.location.valid():
            locations[node.id] = (node.location.lon, node.location.lat)
    return locations


def _write_clean_xml(dst: Path, ways, locations: dict[int, tuple[float, float]]) -> int:
    """Write nodes and ways to OSM XML, cutting ways at missing nodes; return how many were missing."""
    writer = osmium.SimpleWriter(str(dst))
    missing = 0
    next_id = -1
    try:
        for node_id, (lon, lat) in locations.items():
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat), version=1))
        for way_id, nodes, tags in ways:
            runs = _runs_of_present(nodes, locations)
            missing += sum(1 for n in nodes if n not in locations)
            for i, run in enumerate(runs):
                if i > 0:  # pieces after the first get fresh negative ids, as new OSM objects do
                    way_id, next_id = next_id, next_id - 1
                writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=run, tags=tags, version=1))
    finally:
        writer.close()
    return missing


def _runs_of_present(nodes: list[int], present: dict) -> list[list[int]]:
    """Split a way's node list at missing nodes into runs of at least two present nodes."""
    runs, run = [], []
    for node in nodes:
        if node in present:
            run.append(node)
        else:
            if len(run) >= 2:
                runs.append(run)
            run = []
    if len(run) >= 2:
        runs.append(run)
    return runs


def _graph_from_edge_table(path: Path, report: ImportReport) -> tuple[nx.MultiDiGraph, bool]:
    """An OSMnx-style edge table → graph; also says whether every edge is a straight segment."""
    edges = _read_edge_table(path)
    edges = edges[~edges["highway"].isin(NON_DRIVE_HIGHWAYS)]
    if edges.empty:
        raise GraphImportError(f"{path}: no drivable road is left after filtering the network")
    metric = edges.to_crs(edges.estimate_utm_crs()) if edges.crs.is_geographic else edges
    lonlat = edges.to_crs(4326)
    geoms = lonlat.geometry.to_numpy()
    node_xy = _node_positions(edges["u"].to_numpy(), edges["v"].to_numpy(),
                              shapely.get_coordinates(shapely.get_point(geoms, 0)),
                              shapely.get_coordinates(shapely.get_point(geoms, -1)))
    straight = bool((shapely.get_num_coordinates(lonlat.geometry.values) == 2).all())
    forward = _directed_rows(lonlat, metric, node_xy, reverse=False)
    if "oneway" in edges.columns:
        two_way = ~edges["oneway"].fillna(False).astype(bool).to_numpy()
    else:
        two_way = np.ones(len(edges), dtype=bool)
    backward = _directed_rows(lonlat[two_way], metric[two_way], node_xy, reverse=True)
    directed = pd.concat([forward, backward], ignore_index=True)
    directed["key"] = directed.groupby(["u", "v"]).cumcount()
    nodes = gpd.GeoDataFrame(node_xy.rename_axis("osmid"),
                             geometry=gpd.points_from_xy(node_xy["x"], node_xy["y"]), crs=4326)
    directed = gpd.GeoDataFrame(directed.set_index(["u", "v", "key"]), geometry="geometry",
                                crs=4326)
    graph = ox.graph_from_gdfs(nodes, directed)
    if straight:  # simplify_graph rebuilds geometry from nodes; straight segments carry none
        for _, _, data in graph.edges(data=True):
            data.pop("geometry", None)
    return graph, straight


def _read_edge_table(path: Path) -> gpd.GeoDataFrame:
    try:
        if path.name.lower().endswith((".parquet", ".geoparquet")):
            edges = gpd.read_parquet(path)
        else:
            edges = gpd.read_file(path)
    except Exception as exc:  # pyarrow/pyogrio raise many types for unreadable files
        raise GraphImportError(f"{path}: not a readable edge table ({exc})") from None
    missing = {"u", "v", "highway", "geometry"} - set(edges.columns)
    if missing:
        raise GraphImportError(f"{path}: edge table lacks the column(s) {', '.join(sorted(missing))}; "
                               f"it needs u, v, highway and geometry")
    if edges.crs is None:
        raise GraphImportError(f"{path}: the edge table has no coordinate reference system")
    edges = edges[edges.geometry.notna() & ~edges.geometry.is_empty]
    if not (edges.geom_type == "LineString").all():
        raise GraphImportError(f"{path}: every geometry of an edge table must be a LineString")
    edges["highway"] = edges["highway"].astype(str)
    return edges


def _node_positions(u: np.ndarray, v: np.ndarray, starts: np.ndarray,
                    stops: np.ndarray) -> pd.DataFrame:
    """Each node's position: the row end point that all of its rows share.

    Rows are not always drawn from u to v, so both ends are candidates for both nodes; the
    candidate seen most often wins. A dead-end node (one row) takes the end its neighbour left.
    Returns x (lon) and y (lat) indexed by node id.
    """
    cand = pd.DataFrame({
        "node": np.concatenate([u, u, v, v]),
        "x": np.concatenate([starts[:, 0], stops[:, 0], starts[:, 0], stops[:, 0]]),
        "y": np.concatenate([starts[:, 1], stops[:, 1], starts[:, 1], stops[:, 1]]),
    })
    counts = cand.groupby(["node", "x", "y"]).size().rename("n").reset_index()
    counts = counts.sort_values(["node", "n"], ascending=[True, False])
    top = counts.groupby("node").head(2)
    first = top.groupby("node").nth(0).set_index("node")
    second = top.groupby("node").nth(1).set_index("node")["n"].reindex(first.index).fillna(0)
    sure = first["n"] > second
    pos = first[["x", "y"]].copy()
    # Dead ends: the candidate that is not the other node's (sure) position.
    unsure = pos.index[~sure.to_numpy()]
    if len(unsure):
        pos = _resolve_dead_ends(pos, set(unsure), u, v, starts, stops)
    return pos[["x", "y"]]


def _resolve_dead_ends(pos: pd.DataFrame, unsure: set, u, v, starts, stops) -> pd.DataFrame:
    lookup = {n: (x, y) for n, x, y in zip(pos.index, pos["x"], pos["y"])}
    for a, b, s, e in zip(u, v, map(tuple, starts), map(tuple, stops)):
        for node, other in ((a, b), (b, a)):
            if node in unsure and other not in unsure:
                lookup[node] = e if lookup[other] == s else s
    pos = pos.copy()
    pos["x"] = [lookup[n][0] for n in pos.index]
    pos["y"] = [lookup[n][1] for n in pos.index]
    return pos


def _directed_rows(lonlat: gpd.GeoDataFrame, metric: gpd.GeoDataFrame, node_xy: pd.DataFrame,
                   *, reverse: bool) -> pd.DataFrame:
    """One directed edge per row, from u to v (or v to u), with geometry drawn that way."""
    tail = lonlat["v" if reverse else "u"].to_numpy()
    head = lonlat["u" if reverse else "v"].to_numpy()
    tail_xy = node_xy.loc[tail, ["x", "y"]].to_numpy()
    geoms = lonlat.geometry.to_numpy()
    starts = shapely.get_coordinates(shapely.get_point(geoms, 0))
    drawn_from_tail = np.all(np.isclose(starts, tail_xy, rtol=0, atol=1e-9), axis=1)
    geoms = np.where(drawn_from_tail, geoms, shapely.reverse(geoms))
    rows = pd.DataFrame({"u": tail, "v": head, "highway": lonlat["highway"].to_numpy(),
                         "length": metric.geometry.length.to_numpy()})
    rows["geometry"] = geoms
    return rows


def _add_travel_times(graph: nx.MultiDiGraph, speeds: SpeedModel) -> None:
    """Set ``speed_kph`` and ``travel_time`` (seconds) on every edge, in place."""
    for _, _, data in graph.edges(data=True):
        data["speed_kph"] = speeds.edge_speed_kph(data.get("highway", "unclassified"),
                                                  data.get("maxspeed"))
    ox.add_edge_travel_times(graph)
