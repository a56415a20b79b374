"""How much of Wuhan's fast roads has a lower road beside it running the same way (a measure of the
data, no timing).

Run: .venv/bin/python bench/wuhan_parallel_roads.py [DISTANCE_M]  (default 20 m)

Where an elevated trunk road or motorway runs over a ground road (or a road beside it), a position
a few metres off snaps to either. A point every 25 m along every trunk and motorway row of
``data/osm/wuhan_roads_osm.parquet`` (EPSG:32650, metres) is checked for the nearest primary,
secondary, tertiary or trunk-link row: within ``DISTANCE_M`` and within 22.5° of the same
direction counts. Prints the share of the trunk and motorway length so placed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
FAST = ("trunk", "motorway")
LOWER = ("primary", "secondary", "tertiary", "trunk_link")
STEP_M = 25.0
SAME_WAY_RAD = np.pi / 8


def headings(lines: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Direction (radians, modulo π) of each line at distance ``at`` (metres) along it."""
    before = shapely.line_interpolate_point(lines, np.maximum(at - 1.0, 0.0))
    after = shapely.line_interpolate_point(lines, np.minimum(at + 1.0, shapely.length(lines)))
    d = shapely.get_coordinates(after) - shapely.get_coordinates(before)
    return np.arctan2(d[:, 1], d[:, 0])


def main() -> None:
    within_m = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    roads = gpd.read_parquet(ROOT / "data" / "osm" / "wuhan_roads_osm.parquet")
    kind = roads["highway"].astype(str)
    fast = roads.geometry[kind.isin(FAST)].to_numpy()
    lower = roads.geometry[kind.isin(LOWER)].to_numpy()
    length = shapely.length(fast)
    count = np.maximum((length // STEP_M).astype(int), 1)
    line = np.repeat(fast, count)
    along = np.concatenate([(np.arange(n) + 0.5) * (L / n) for n, L in zip(count, length)])
    points = shapely.line_interpolate_point(line, along)
    (which, near), distance = shapely.STRtree(lower).query_nearest(
        points, return_distance=True, all_matches=False)
    other = lower[near]
    turn = headings(line[which], along[which]) - headings(
        other, shapely.line_locate_point(other, points[which]))
    same_way = np.abs((turn + np.pi / 2) % np.pi - np.pi / 2) < SAME_WAY_RAD
    beside = np.zeros(len(points), bool)
    beside[which] = (distance <= within_m) & same_way
    print(f"trunk and motorway: {length.sum() / 1000:,.0f} km; with a lower road within "
          f"{within_m:g} m running the same way: {beside.mean():.1%}")


if __name__ == "__main__":
    main()
