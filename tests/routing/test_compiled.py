"""Compiled graph files: round trip, cache keys, versioning."""

import json

import numpy as np
import pytest

from routing.compiled import FORMAT_VERSION, cache_key, load_compiled, save_graph
from routing.errors import GraphImportError
from routing.graph_store import compiled_path, open_graph
from routing.speeds import SpeedModel


def test_save_and_load_round_trip(helsinki, tmp_path):
    path = save_graph(helsinki.graph, tmp_path / "h.graph.npz")
    loaded = load_compiled(path)
    assert loaded.meta == json.loads(json.dumps(helsinki.graph.meta))
    for name in ("node_osmid", "fwd_indptr", "edge_head", "edge_seconds", "geom_xy", "rev_edge"):
        assert np.array_equal(getattr(loaded, name), getattr(helsinki.graph, name))


def test_csr_arrays_describe_the_osmnx_graph(helsinki):
    graph, g = helsinki.graph, helsinki.nx_graph
    assert graph.n_nodes == g.number_of_nodes() and graph.n_edges == g.number_of_edges()
    for node in range(0, graph.n_nodes, 7):
        lo, hi = graph.fwd_indptr[node], graph.fwd_indptr[node + 1]
        heads = sorted(graph.node_osmid[graph.edge_head[lo:hi]].tolist())
        osmid = int(graph.node_osmid[node])
        assert heads == sorted(v for _, v in g.out_edges(osmid))
        into = graph.rev_edge[graph.rev_indptr[node]:graph.rev_indptr[node + 1]]
        assert np.all(graph.edge_head[into] == node)


def test_cache_key_follows_content_and_speed_model(tmp_path):
    source = tmp_path / "roads.osm"
    source.write_text("<osm/>")
    first = cache_key(source, SpeedModel())
    assert cache_key(source, SpeedModel(speeds_kph={"primary": 45})) != first
    source.write_text("<osm version='0.6'/>")
    assert cache_key(source, SpeedModel()) != first


def test_open_graph_compiles_once_and_rebuilds_on_change(tmp_path):
    from conftest import OSM_DIR
    source = tmp_path / "helsinki.osm.pbf"
    source.write_bytes((OSM_DIR / "helsinki.osm.pbf").read_bytes())
    cache = tmp_path / "cache"
    graph = open_graph(source, SpeedModel(), cache)
    compiled = compiled_path(source, SpeedModel(), cache)
    assert compiled.exists()
    stamp = compiled.stat().st_mtime_ns
    assert open_graph(source, SpeedModel(), cache).n_edges == graph.n_edges
    assert compiled.stat().st_mtime_ns == stamp  # loaded, not rebuilt
    slower = SpeedModel(speeds_kph={k: v / 2 for k, v in SpeedModel().speeds_kph.items()})
    rebuilt = open_graph(source, slower, cache)
    assert compiled_path(source, slower, cache) != compiled
    assert rebuilt.edge_seconds.sum() > graph.edge_seconds.sum()


def test_wrong_format_version_and_non_graph_files(helsinki, tmp_path):
    path = save_graph(helsinki.graph, tmp_path / "old.graph.npz")
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = FORMAT_VERSION + 1
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(GraphImportError, match="import the source again"):
        load_compiled(path)
    junk = tmp_path / "junk.graph.npz"
    junk.write_text("not numpy")
    with pytest.raises(GraphImportError, match="not a compiled road graph"):
        load_compiled(junk)
