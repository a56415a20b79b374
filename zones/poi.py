"""Turn point-of-interest rows into stations and hotspots (pure: no database).

Police rows are classified by name: 警务室/警务站 become police posts, 派出所 police stations,
分局 sub-bureaus, 特警 and the city bureau city-level units; other offices (出入境, 接待室, ...)
are not response forces and are left out. Hotspot rows that are parts of one place (departments of
one hospital, buildings of one campus, entrances of one metro station) are merged into one
hotspot: rows with the same base name within a merge distance of each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

POST_WORDS = ("警务室", "警务站", "警卫务室", "警务综合服务站")
CITY_UNIT_WORDS = ("特警",)
CITY_BUREAU_NAMES = ("武汉市公安局",)

#: Hotspot category → (pattern whose first match ends the base name, merge distance in metres).
MERGE_RULES: dict[str, tuple[str, float]] = {
    "hospital": (r"^.*?(医院|保健院)", 800.0),
    "school": (r"^.*?(大学|学院|中学|小学|学校)", 1500.0),
    "mall": (r"^.*$", 300.0),
    "metro_station": (r"^.*?\(地铁站\)", 500.0),
    "transport_hub": (r"^.*$", 300.0),
}


def station_kind(name: str) -> str | None:
    """The station kind a police POI's name says, or None when it is not a response force."""
    if any(word in name for word in POST_WORDS):
        return "police_post"
    if name.endswith("派出所") or "派出所(" in name:
        return "police_station"
    if any(word in name for word in CITY_UNIT_WORDS) or name in CITY_BUREAU_NAMES:
        return "city_unit"
    if name.endswith("分局") or "分局(" in name:
        return "sub_bureau"
    return None


def base_name(name: str, category: str) -> str:
    """The name of the place a row belongs to: "武汉市第六医院门诊" → "武汉市第六医院"."""
    pattern, _ = MERGE_RULES[category]
    match = re.match(pattern, name)
    return match.group(0) if match else name


@dataclass(frozen=True)
class MergedPlace:
    """One place made of one or more rows: its base name, rows, and mean position (x, y)."""

    name: str
    rows: list[int]
    x: float
    y: float


def merge_rows(names: list[str], xy_m: NDArray[np.float64], category: str) -> list[MergedPlace]:
    """Group rows of one place: same base name and chained within the merge distance.

    ``xy_m`` are metric coordinates (metres), used only for the distance test; the returned
    positions are the mean of each group's ``xy_m``.
    """
    _, distance = MERGE_RULES[category]
    bases = [base_name(n, category) for n in names]
    pairs = cKDTree(xy_m).query_pairs(distance, output_type="ndarray")
    same = np.array([bases[a] == bases[b] for a, b in pairs], dtype=bool) if len(pairs) else []
    pairs = pairs[same] if len(pairs) else pairs
    n = len(names)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])) if len(pairs) else
                       ([], ([], [])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    places = []
    for group in range(label.max() + 1 if n else 0):
        rows = np.flatnonzero(label == group).tolist()
        centre = xy_m[rows].mean(axis=0)
        places.append(MergedPlace(bases[rows[0]], rows, float(centre[0]), float(centre[1])))
    return places
