"""The compiled road graph: compact arrays that load in milliseconds.

A compiled graph is one uncompressed ``.npz`` file holding

- nodes in spatial (Morton) order for cache locality: OSM id, WGS-84 lon/lat, metric x/y;
- directed edges sorted by tail node (forward CSR) and an edge permutation sorted by head node
  (reverse CSR), with travel time (seconds), length (metres), road class and the id of the twin
  edge that runs the same geometry the other way (-1 on one-way streets);
- every edge's polyline in the metric CRS (drawn tail → head), from which the nearest-road index for
  snapping is built on load;
- metadata: format version, source file and its SHA-256, speed model fingerprint, metric EPSG code.

Compiled files are cached by the source file's content and the speed model, so a changed source
or speed table is recompiled on next use.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from routing.errors import GraphImportError
from routing.segment_index import SegmentIndex
from routing.speeds import SpeedModel

if TYPE_CHECKING:
    import networkx as nx

FORMAT_VERSION = 1
COMPILED_SUFFIX = ".graph.npz"


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph in CSR form. Immutable: one instance serves many requests at once."""

    meta: dict
    node_osmid: NDArray[np.int64]
    node_lonlat: NDArray[np.float64]  # (N, 2) WGS-84 degrees
    node_xy: NDArray[np.float64]  # (N, 2) metres in meta["metric_epsg"]
    fwd_indptr: NDArray[np.int32]  # (N+1,) edges of node i are fwd_indptr[i]:fwd_indptr[i+1]
    edge_tail: NDArray[np.int32]
    edge_head: NDArray[np.int32]
    edge_seconds: NDArray[np.float64]  # free-flow travel time
    edge_metres: NDArray[np.float64]
    edge_class: NDArray[np.int16]  # index into meta["classes"]
    edge_twin: NDArray[np.int32]  # same road the other way, or -1
    geom_offsets: NDArray[np.int64]  # (E+1,) polyline of edge e is geom_xy[off[e]:off[e+1]]
    geom_xy: NDArray[np.float64]  # (M, 2) metres, drawn tail → head
    rev_indptr: NDArray[np.int32]  # (N+1,) edges into node i are rev_edge[rev_indptr[i]:...]
    rev_edge: NDArray[np.int32]
    rev_tail: NDArray[np.int32]  # edge_tail[rev_edge], kept for the search kernel
    rev_seconds: NDArray[np.float64]  # edge_seconds[rev_edge]
    rev_metres: NDArray[np.float64]  # edge_metres[rev_edge]
    _weights_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_osmid)

    @property
    def n_edges(self) -> int:
        return len(self.edge_tail)

    @property
    def metric_epsg(self) -> int:
        """EPSG code of the metric CRS (UTM zone) of ``node_xy`` and ``geom_xy``."""
        return int(self.meta["metric_epsg"])

    @property
    def classes(self) -> list[str]:
        """Road class names; ``edge_class`` indexes this list."""
        return list(self.meta["classes"])

    @cached_property
    def to_metric(self) -> Transformer:
        """WGS-84 lon/lat → metric x/y."""
        return Transformer.from_crs(4326, self.metric_epsg, always_xy=True)

    @cached_property
    def to_lonlat(self) -> Transformer:
        """Metric x/y → WGS-84 lon/lat."""
        return Transformer.from_crs(self.metric_epsg, 4326, always_xy=True)

    @cached_property
    def edge_lines(self) -> NDArray[np.object_]:
        """Every edge's polyline as a shapely LineString in the metric CRS."""
        counts = np.diff(self.geom_offsets)
        return shapely.linestrings(self.geom_xy, indices=np.repeat(np.arange(self.n_edges), counts))

    @cached_property
    def vertex_positions(self) -> tuple[NDArray, NDArray, NDArray]:
        """Positions (metres) for walking along polylines with one ``searchsorted``.

        Returns ``(cum, base, length)``: ``cum[k]`` is vertex k's position on one line on which
        edges follow each other with a 1 m gap, ``base[e]`` where edge e starts, and ``length[e]``
        the length of edge e's polyline.
        """
        xy, off = self.geom_xy, self.geom_offsets
        seg = np.hypot(*np.diff(xy, axis=0).T)
        seg[off[1:-1] - 1] = 0.0  # no segment joins the last vertex of an edge to the next edge
        within = np.concatenate([[0.0], np.cumsum(seg)])
        length = within[off[1:] - 1] - within[off[:-1]]
        shift = np.cumsum(np.concatenate([[0.0], length[:-1] + 1.0])) - within[off[:-1]]
        cum = within + np.repeat(shift, np.diff(off))
        return cum, cum[off[:-1]], length

    @cached_property
    def road_edges(self) -> NDArray[np.int32]:
        """One edge per road: each one-way edge, and the lower id of each two-way pair."""
        ids = np.arange(self.n_edges, dtype=np.int32)
        return ids[(self.edge_twin < 0) | (ids < self.edge_twin)]

    @cached_property
    def road_index(self) -> SegmentIndex:
        """Nearest-road index over :attr:`road_edges` (its answers index that array)."""
        return SegmentIndex(self.edge_lines[self.road_edges])

    def adjacency(self, direction: str) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """CSR arrays for a search: (indptr, neighbour node, edge id, metres).

        ``direction`` "forward" follows edges tail → head (where can a unit at the source get);
        "reverse" follows them head → tail (from where can the source be reached).
        """
        if direction == "forward":
            return self.fwd_indptr, self.edge_head, self._edge_ids, self.edge_metres
        return self.rev_indptr, self.rev_tail, self.rev_edge, self.rev_metres

    @cached_property
    def _edge_ids(self) -> NDArray[np.int32]:
        return np.arange(self.n_edges, dtype=np.int32)

    def edge_weights(self, factors_by_class: NDArray[np.float64] | None = None) -> NDArray:
        """Edge travel times (seconds) with per-class multipliers applied, forward CSR order."""
        if factors_by_class is None:
            return self.edge_seconds
        key = tuple(np.round(factors_by_class, 6))
        if key not in self._weights_cache:
            self._weights_cache[key] = self.edge_seconds * factors_by_class[self.edge_class]
        return self._weights_cache[key]


def compile_graph(graph: nx.MultiDiGraph, meta: dict) -> RoadGraph:
    """Turn an osmnx drive graph (lon/lat nodes, travel_time edges) into a :class:`RoadGraph`."""
    if graph.number_of_edges() == 0:
        raise GraphImportError("cannot compile an empty road graph")
    osmids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    lonlat = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in osmids])
    order = np.argsort(_morton_codes(lonlat), kind="stable")
    osmids, lonlat = osmids[order], lonlat[order]
    position = {osmid: i for i, osmid in enumerate(osmids.tolist())}
    epsg = _utm_epsg(lonlat)
    to_metric = Transformer.from_crs(4326, epsg, always_xy=True)

    tails, heads, seconds, metres, classes, lines = [], [], [], [], [], []
    for u, v, data in graph.edges(data=True):
        tails.append(position[u])
        heads.append(position[v])
        seconds.append(float(data["travel_time"]))
        metres.append(float(data["length"]))
        highway = data.get("highway", "unclassified")
        classes.append(highway[0] if isinstance(highway, list) else str(highway))
        geom = data.get("geometry")
        lines.append(np.asarray(geom.coords) if geom is not None
                     else np.array([lonlat[position[u]], lonlat[position[v]]]))
    tails, heads = np.array(tails, np.int32), np.array(heads, np.int32)
    edge_order = np.lexsort((heads, tails))
    class_names = sorted(set(classes))
    class_ids = np.array([class_names.index(c) for c in classes], np.int16)

    lines = [lines[i] for i in edge_order]
    counts = np.array([len(line) for line in lines], np.int64)
    geom_lonlat = np.concatenate(lines)
    gx, gy = to_metric.transform(geom_lonlat[:, 0], geom_lonlat[:, 1])
    nx_, ny_ = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
    tails, heads = tails[edge_order], heads[edge_order]
    geom_offsets = np.concatenate([[0], np.cumsum(counts)])
    geom_xy = np.column_stack([gx, gy])
    twin = _find_twins(tails, heads, geom_offsets, geom_xy)
    n = len(osmids)
    rev_edge = np.argsort(heads, kind="stable").astype(np.int32)
    seconds_arr = np.array(seconds)[edge_order]
    metres_arr = np.array(metres)[edge_order]
    meta = {**meta, "format_version": FORMAT_VERSION, "metric_epsg": epsg,
            "classes": class_names, "nodes": n, "edges": len(tails)}
    return RoadGraph(
        meta=meta, node_osmid=osmids, node_lonlat=lonlat, node_xy=np.column_stack([nx_, ny_]),
        fwd_indptr=np.searchsorted(tails, np.arange(n + 1)).astype(np.int32),
        edge_tail=tails, edge_head=heads, edge_seconds=seconds_arr, edge_metres=metres_arr,
        edge_class=class_ids[edge_order], edge_twin=twin, geom_offsets=geom_offsets,
        geom_xy=geom_xy,
        rev_indptr=np.searchsorted(heads[rev_edge], np.arange(n + 1)).astype(np.int32),
        rev_edge=rev_edge, rev_tail=tails[rev_edge], rev_seconds=seconds_arr[rev_edge],
        rev_metres=metres_arr[rev_edge])


_ARRAY_FIELDS = ("node_osmid", "node_lonlat", "node_xy", "fwd_indptr", "edge_tail", "edge_head",
                 "edge_seconds", "edge_metres", "edge_class", "edge_twin", "geom_offsets",
                 "geom_xy", "rev_indptr", "rev_edge", "rev_tail", "rev_seconds", "rev_metres")


def save_graph(graph: RoadGraph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` atomically (a reader never sees a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, meta=np.array(json.dumps(graph.meta)),
                     **{name: getattr(graph, name) for name in _ARRAY_FIELDS})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_compiled(path: str | Path) -> RoadGraph:
    """Read a compiled graph file, checking its format version."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format_version") != FORMAT_VERSION:
                raise GraphImportError(
                    f"{path}: compiled with format {meta.get('format_version')}, this version reads "
                    f"format {FORMAT_VERSION}; import the source again")
            arrays = {name: data[name] for name in _ARRAY_FIELDS}
    except FileNotFoundError:
        raise GraphImportError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, GraphImportError):
            raise
        raise GraphImportError(f"{path}: not a compiled road graph ({exc})") from None
    return RoadGraph(meta=meta, **arrays)


def cache_key(source: Path, speeds: SpeedModel) -> str:
    """Key of the compiled file for ``source``: its content, the speed model and the format."""
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"|speeds={speeds.fingerprint()}|format={FORMAT_VERSION}".encode())
    return digest.hexdigest()[:16]


def _morton_codes(lonlat: NDArray[np.float64]) -> NDArray[np.uint64]:
    """Z-order codes of points, so that nodes near in space are near in memory."""
    span = np.maximum(lonlat.max(axis=0) - lonlat.min(axis=0), 1e-12)
    q = ((lonlat - lonlat.min(axis=0)) / span * 65535).astype(np.uint64)

    def spread(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    return spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1))


def _utm_epsg(lonlat: NDArray[np.float64]) -> int:
    """EPSG code of the WGS-84 UTM zone at the centre of the points."""
    lon, lat = lonlat.mean(axis=0)
    zone = int((lon + 180) // 6) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def _find_twins(tails, heads, offsets, xy) -> NDArray[np.int32]:
    """For each edge, the edge that runs the same polyline in reverse (-1 if none)."""
    twin = np.full(len(tails), -1, np.int32)
    waiting: dict[tuple, list[int]] = {}
    for e in range(len(tails)):
        coords = np.round(xy[offsets[e]:offsets[e + 1]], 2)
        key = (int(tails[e]), int(heads[e]), coords.tobytes())
        back = (int(heads[e]), int(tails[e]), coords[::-1].tobytes())
        partners = waiting.get(back)
        if partners:
            other = partners.pop()
            twin[e], twin[other] = other, e
        else:
            waiting.setdefault(key, []).append(e)
    return twin
