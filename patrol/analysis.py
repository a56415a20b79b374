"""Batch coverage-gap analysis of a whole city (``patrol coverage``).

For every hotspot, grid cell (its centre) and road segment (its midpoint, weighted by length):
the drive time from the nearest station of each tier (1, 3 and 5 minutes: the tier each station
answers for), in the arrive direction (a unit leaving the station reaches the place). One
multi-source search per tier serves the whole city. Results: coverage shares per 三圈 category and
per district within 60/180/300 s, gap lists (hotspots beyond 300 s, grid cells beyond 180 s) with
the nearest station and its time, and CSV and GeoJSON files.

A place or station farther than the snapping limit (``Settings.snap_limit_m``, metres) from every
road lies outside the road data: the network says nothing about it, so it is no gap. Such places
get their own status in the files, are left out of every share and gap list, and are counted
apart; such stations draw no circles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h3
import numpy as np
import sqlalchemy as sa

from patrol.dispatch import RING_SECONDS
from patrol.errors import Invalid
from patrol.analysis_report import report_html, write_places
from routing import Direction, RoadGraph, Snapped, snap_many
from routing.snapping import DEFAULT_SNAP_LIMIT_M
from routing.search import Reach, best_source_at, reach
from zones import coverage_inputs

TIERS = (1, 3, 5)
#: Steps :func:`run_analysis` reports: hotspots, grid cells, road segments, the report.
ANALYSIS_STEPS = 4
#: Drive times beyond this are not searched (seconds): "none within the horizon".
HORIZON_S = 900.0


@dataclass(frozen=True)
class Places:
    """Points to assess: ids, names, categories, districts, WGS-84 lon/lat, and a weight."""

    kind: str
    ids: list
    names: list
    categories: list
    districts: list
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class TierTimes:
    """For each place: seconds from the nearest station of the tier (inf: none in the horizon)
    and that station's id (-1: none)."""

    seconds: np.ndarray
    station: np.ndarray


def station_tiers(conn: sa.Connection) -> dict[int, list[tuple[int, str, float, float]]]:
    """Stations by the tier they answer for: tier → [(id, name, lon, lat)]."""
    tiers: dict[int, list] = {t: [] for t in TIERS}
    for sid, name, tier, lon, lat in coverage_inputs.station_tier_rows(conn):
        tiers[int(tier)].append((sid, name, lon, lat))
    return tiers


@dataclass(frozen=True)
class TierSearch:
    """One multi-source search from every station of a tier (depart, up to the horizon): the
    nearest station of that tier for any place. ``station_ids`` are the stations' ids in the
    order they were given; ``found`` is None when none of them is on the network."""

    station_ids: np.ndarray
    found: Reach | None

    def at(self, places: Snapped) -> TierTimes:
        """Seconds from the nearest station of the tier to each snapped place, and its id."""
        if self.found is None:
            return TierTimes(np.full(len(places), np.inf), np.full(len(places), -1, np.int64))
        source, best = best_source_at(self.found.graph, self.found, places)
        reached = best <= self.found.limit_s
        return TierTimes(np.where(reached, best, np.inf),
                         np.where(reached, self.station_ids[np.maximum(source, 0)], -1))


def search_tier(graph: RoadGraph, stations: list[tuple], *, horizon_s: float = HORIZON_S,
                limit_m: float = DEFAULT_SNAP_LIMIT_M) -> TierSearch:
    """Search from all ``stations`` (id, name, lon, lat in WGS-84) of one tier at once; those
    farther than ``limit_m`` metres from every road take no part."""
    ids = np.array([s[0] for s in stations], np.int64)
    if not stations:
        return TierSearch(ids, None)
    snapped = snap_many(graph, [s[2] for s in stations], [s[3] for s in stations],
                        limit_m=limit_m)
    if not snapped.on_road.any():
        return TierSearch(ids, None)
    return TierSearch(ids, reach(graph, snapped, direction=Direction.DEPART, limit_s=horizon_s))


def tier_times(graph: RoadGraph, stations: list[tuple], places: Places, *,
               horizon_s: float = HORIZON_S, snaps: Snapped | None = None) -> TierTimes:
    """Drive time from the nearest of ``stations`` to each place (one search for all);
    ``snaps`` are the places already snapped (snapped here when None)."""
    if snaps is None:
        snaps = snap_many(graph, places.lon, places.lat)
    return search_tier(graph, stations, horizon_s=horizon_s).at(snaps)


def stations_outside(graph: RoadGraph, rows: list[tuple], *,
                     limit_m: float = DEFAULT_SNAP_LIMIT_M) -> list[tuple]:
    """The stations of ``rows`` (id, name, lon, lat in WGS-84) farther than ``limit_m`` metres
    from every road: outside the road data, they reach nothing."""
    if not rows:
        return []
    snapped = snap_many(graph, [s[2] for s in rows], [s[3] for s in rows], limit_m=limit_m)
    return [s for s, on in zip(rows, snapped.on_road) if not on]


def hotspots(conn: sa.Connection, *, category: str | None = None) -> Places:
    """The hotspots (of ``category``; None: all) as places of weight 1."""
    rows = coverage_inputs.hotspot_rows(conn, category=category)
    if category is not None and not rows:
        raise Invalid(f"no hotspots of category {category!r} are loaded")
    return Places("hotspot", [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                  [r[3] for r in rows], np.array([r[4] for r in rows]),
                  np.array([r[5] for r in rows]), np.ones(len(rows)))


def grid_cells(conn: sa.Connection) -> Places:
    """The grid cells at their H3 centres, weight 1 each."""
    codes = coverage_inputs.grid_codes(conn)
    centres = np.array([h3.cell_to_latlng(c) for c in codes]) if codes else np.zeros((0, 2))
    return Places("grid cell", list(codes), [None] * len(codes), [None] * len(codes),
                  [None] * len(codes), centres[:, 1], centres[:, 0], np.ones(len(codes)))


def road_segments(graph: RoadGraph) -> Places:
    """Every road (one per two-way pair), at its midpoint, weighted by its length (metres)."""
    edges = graph.road_edges
    mid = np.array([graph.edge_lines[e].interpolate(0.5, normalized=True).coords[0]
                    for e in edges])
    lon, lat = graph.to_lonlat.transform(mid[:, 0], mid[:, 1])
    classes = np.array(graph.classes)[graph.edge_class[edges]]
    return Places("road segment", edges.tolist(), [None] * len(edges), classes.tolist(),
                  [None] * len(edges), np.asarray(lon), np.asarray(lat),
                  graph.edge_metres[edges])


def shares(times: np.ndarray, weight: np.ndarray) -> dict[int, float]:
    """Weighted share of places reached within each ring (60, 180, 300 s)."""
    total = weight.sum()
    return {s: float(weight[times <= s].sum() / total) if total else 0.0 for s in RING_SECONDS}


def best_of(times: dict[int, TierTimes]) -> np.ndarray:
    """Each place's time from the nearest station of any tier."""
    return np.minimum.reduce([t.seconds for t in times.values()])


def run_analysis(engine: sa.Engine, graph: RoadGraph, out: Path, *,
                 category: str | None = None, progress=print, times_for=None,
                 map_file: str | None = None, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M
                 ) -> dict:
    """Assess hotspots, grid cells and road segments; write CSV, GeoJSON, summary.json and
    report.html to ``out``; return the summary. ``progress(text)`` is told of each of the
    :data:`ANALYSIS_STEPS` steps as it starts. ``times_for(tiers, places)`` computes the tier
    times elsewhere (e.g. on Dask, see ``patrol.distributed``); by default here. Places and
    stations farther than ``snap_limit_m`` metres from every road are outside the road data:
    flagged and counted apart, never gaps."""
    out.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        tiers = station_tiers(conn)
        names = {sid: name for rows in tiers.values() for sid, name, _, _ in rows}
        place_sets = [hotspots(conn, category=category), grid_cells(conn),
                      road_segments(graph)]
    if not any(tiers.values()):
        raise Invalid("no stations are loaded: load stations before the coverage analysis")
    results, searches = {}, None
    for step, places in enumerate(place_sets, start=1):
        progress(f"{len(places.ids):,} {places.kind}s: drive times from the nearest station "
                 f"of each tier")
        snapped = snap_many(graph, places.lon, places.lat, limit_m=snap_limit_m)
        if times_for is not None:
            times = times_for(tiers, places)
        else:
            searches = searches or {tier: search_tier(graph, tiers[tier], limit_m=snap_limit_m)
                                    for tier in TIERS}
            times = {tier: searches[tier].at(snapped) for tier in TIERS}
        write_places(out, places, times=times, names=names, on_network=snapped.on_road)
        results[places.kind] = (places, times, snapped.on_road)
    progress("summary and report")
    outside = stations_outside(graph, [s for rows in tiers.values() for s in rows],
                               limit_m=snap_limit_m)
    summary = _summary(results, names, stations_outside=len(outside))
    if map_file:
        summary["map"] = map_file  # drawn by the caller next to the report
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
    spots, spot_times, on_network = results["hotspot"]
    (out / "report.html").write_text(report_html(summary, best_of(spot_times)[on_network],
                                                 horizon_s=HORIZON_S), "utf-8")
    return summary


def _summary(results: dict, names: dict[int, str], *, stations_outside: int) -> dict:
    """The numbers of summary.json; every share and gap list is over the places on the
    network, those outside it are counted apart."""
    spots, spot_times, spot_on = results["hotspot"]
    best = best_of(spot_times)
    nearest_any = np.array([_nearest_station(spot_times, i) for i in range(len(best))])
    by_category, category_counts = _grouped(best, spot_on, spots.weight, spots.categories)
    by_district, district_counts = _grouped(best, spot_on, spots.weight, spots.districts)
    cells, cell_times, cell_on = results["grid cell"]
    cell_best = best_of(cell_times)
    roads, road_times, road_on = results["road segment"]
    return {
        "hotspots": len(spots.ids), "grid_cells": len(cells.ids), "road_segments": len(roads.ids),
        "hotspots_outside_network": int((~spot_on).sum()),
        "grid_cells_outside_network": int((~cell_on).sum()),
        "stations_outside_network": stations_outside,
        "hotspot_share_by_category": by_category,
        "hotspot_counts_by_category": category_counts,
        "hotspot_share_by_district": by_district,
        "hotspot_counts_by_district": district_counts,
        "grid_cell_share": shares(cell_best[cell_on], cells.weight[cell_on]),
        "road_length_share": shares(best_of(road_times)[road_on], roads.weight[road_on]),
        "hotspot_gaps_beyond_300s": [
            {"id": spots.ids[i], "name": spots.names[i], "category": spots.categories[i],
             "nearest_station": names.get(int(nearest_any[i][0])) if nearest_any[i][0] >= 0
             else None, "seconds": None if not np.isfinite(best[i]) else round(float(best[i]), 1)}
            for i in np.flatnonzero(~(best <= 300) & spot_on)],
        "grid_cell_gaps_beyond_180s": [
            {"code": cells.ids[i], "seconds": None if not np.isfinite(cell_best[i])
             else round(float(cell_best[i]), 1)}
            for i in np.flatnonzero(~(cell_best <= 180) & cell_on)],
    }


def _grouped(best: np.ndarray, on_network: np.ndarray, weight: np.ndarray, labels: list
             ) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, int]]]:
    """Shares within each ring per label (category or district), over the places on the
    network (a label with none there has no shares), and how many places of each label lie on
    and outside the network."""
    labels = np.array(labels, dtype=object)
    by_label, counts = {}, {}
    for label in sorted({x for x in labels if x}):
        mine = labels == label
        inside = mine & on_network
        counts[label] = {"on_network": int(inside.sum()),
                         "outside_network": int((mine & ~on_network).sum())}
        if inside.any():
            by_label[label] = shares(best[inside], weight[inside])
    return by_label, counts


def _nearest_station(times: dict[int, TierTimes], i: int) -> tuple[int, float]:
    best = min(((t.station[i], t.seconds[i]) for t in times.values()), key=lambda x: x[1])
    return int(best[0]), float(best[1])
