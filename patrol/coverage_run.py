"""The coverage run: the batch analysis of the whole city and the planners' coverage map, written
to one folder (``patrol coverage -o FOLDER``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from patrol.analysis import ANALYSIS_STEPS, run_analysis
from patrol.coverage import CoverageMaps
from routing import RoadGraph
from routing.snapping import DEFAULT_SNAP_LIMIT_M

#: The map's file in the report folder (report.html links to it).
MAP_FILE = "coverage_map.html"


def coverage_steps(*, with_map: bool) -> int:
    """How many times :func:`run_coverage` calls ``progress``."""
    return ANALYSIS_STEPS + (1 if with_map else 0)


def run_coverage(engine: sa.Engine, graph: RoadGraph, out: Path, *,
                 maps: CoverageMaps | None, category: str | None = None,
                 progress: Callable[[str], None] = print, times_for=None,
                 snap_limit_m: float = DEFAULT_SNAP_LIMIT_M) -> dict:
    """Run the coverage analysis of hotspots (of ``category``; None: all), grid cells and road
    segments into ``out`` and, unless ``maps`` is None, draw the coverage map next to the
    report; return the summary. ``progress``, ``times_for`` and ``snap_limit_m`` (metres) are
    those of :func:`patrol.analysis.run_analysis`."""
    summary = run_analysis(engine, graph, out, category=category, progress=progress,
                           times_for=times_for, map_file=None if maps is None else MAP_FILE,
                           snap_limit_m=snap_limit_m)
    if maps is not None:
        progress("the coverage map")
        fmap, _ = maps.draw(category=category)
        fmap.save(str(out / MAP_FILE))
    return summary
