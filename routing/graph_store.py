"""Open road graphs by path: compiled files directly, sources through a compile cache."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from routing.compiled import (COMPILED_SUFFIX, RoadGraph, cache_key, compile_graph, load_compiled,
                              save_graph)
from routing.formats import check_source
from routing.speeds import SpeedModel

if TYPE_CHECKING:
    from routing.sources import ImportReport

log = logging.getLogger(__name__)


def compiled_path(source: Path, speeds: SpeedModel, cache_dir: Path) -> Path:
    """Where the compiled graph of ``source`` under ``speeds`` is cached."""
    check_source(source)
    stem = source.name.split(".")[0]
    return cache_dir / f"{stem}.{cache_key(source, speeds)}{COMPILED_SUFFIX}"


def import_graph(source: str | Path, speeds: SpeedModel, out: Path) -> tuple[RoadGraph, ImportReport]:
    """Read ``source``, compile it and write the compiled file to ``out``."""
    from routing.sources import read_drive_graph  # osmnx and geopandas load only to import

    source = Path(source)
    nx_graph, report = read_drive_graph(source, speeds)
    meta = {"source": source.name, "source_key": cache_key(source, speeds),
            "speed_model": speeds.fingerprint(), "nodes_dropped": report.nodes_dropped,
            "attribution": "© OpenStreetMap contributors, ODbL 1.0"}
    graph = compile_graph(nx_graph, meta)
    save_graph(graph, out)
    return graph, report


def open_graph(path: str | Path, speeds: SpeedModel, cache_dir: Path) -> RoadGraph:
    """The road graph at ``path``: a compiled file, or a source compiled once and cached."""
    path = Path(path)
    if path.name.endswith(COMPILED_SUFFIX):
        return load_compiled(path)
    cached = compiled_path(path, speeds, cache_dir)
    if cached.exists():
        return load_compiled(cached)
    log.warning("compiling %s (first use of this source and speed model)", path)
    graph, report = import_graph(path, speeds, cached)
    for warning in report.warnings:
        log.warning("%s: %s", path, warning)
    return graph
