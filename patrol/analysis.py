"""Batch coverage-gap analysis of a whole city (``patrol coverage``).

For every hotspot, grid cell (its centre) and road segment (its midpoint, weighted by length):
the drive time from the nearest station of each tier (1, 3 and 5 minutes: the tier each station
answers for), in the arrive direction (a unit leaving the station reaches the place). One
multi-source search per tier serves the whole city. Results: coverage shares per 三圈 category and
per district within 60/180/300 s, gap lists (hotspots beyond 300 s, grid cells beyond 180 s) with
the nearest station and its time, and CSV and GeoJSON files.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import h3
import numpy as np
import sqlalchemy as sa

from patrol.dispatch import RING_SECONDS
from patrol.errors import Invalid
from routing import Direction, RoadGraph, Snapped, snap_many
from routing.search import Reach, best_source_at, reach

TIERS = (1, 3, 5)
#: Units join the what-if as 1-minute responders under ids that cannot clash with stations.
UNIT_ID_OFFSET = 1_000_000_000
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
    for sid, name, tier, lon, lat in conn.execute(sa.text(
            "SELECT id, name, tier_minutes, lon, lat FROM stations ORDER BY id")):
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


def search_tier(graph: RoadGraph, stations: list[tuple], horizon_s: float = HORIZON_S
                ) -> TierSearch:
    """Search from all ``stations`` (id, name, lon, lat in WGS-84) of one tier at once."""
    ids = np.array([s[0] for s in stations], np.int64)
    if not stations:
        return TierSearch(ids, None)
    snapped = snap_many(graph, [s[2] for s in stations], [s[3] for s in stations])
    if not snapped.on_road.any():
        return TierSearch(ids, None)
    return TierSearch(ids, reach(graph, snapped, direction=Direction.DEPART, limit_s=horizon_s))


def tier_times(graph: RoadGraph, stations: list[tuple], places: Places,
               horizon_s: float = HORIZON_S, snaps: Snapped | None = None) -> TierTimes:
    """Drive time from the nearest of ``stations`` to each place (one search for all);
    ``snaps`` are the places already snapped (snapped here when None)."""
    if snaps is None:
        snaps = snap_many(graph, places.lon, places.lat)
    return search_tier(graph, stations, horizon_s).at(snaps)


def hotspots(conn: sa.Connection, category: str | None = None) -> Places:
    rows = conn.execute(sa.text(
        "SELECT id, name, category, district, ST_X(geom), ST_Y(geom) FROM hotspots "
        "WHERE CAST(:c AS text) IS NULL OR category = :c ORDER BY id"), {"c": category}).all()
    if category is not None and not rows:
        raise Invalid(f"no hotspots of category {category!r} are loaded")
    return Places("hotspot", [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                  [r[3] for r in rows], np.array([r[4] for r in rows]),
                  np.array([r[5] for r in rows]), np.ones(len(rows)))


def grid_cells(conn: sa.Connection) -> Places:
    codes = conn.execute(sa.text("SELECT code FROM areas WHERE level = 'grid' ORDER BY code")
                         ).scalars().all()
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


def write_places(out: Path, places: Places, times: dict[int, TierTimes], names: dict[int, str]
                 ) -> None:
    """``<kind>s.csv`` and its GeoJSON twin: one row per place, seconds per tier."""
    stem = places.kind.replace(" ", "_") + "s"
    header = ["id", "name", "category", "district", "lon", "lat", "weight"]
    for tier in TIERS:
        header += [f"tier{tier}_seconds", f"tier{tier}_station"]
    features = []
    with open(out / f"{stem}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, pid in enumerate(places.ids):
            row = [pid, places.names[i], places.categories[i], places.districts[i],
                   round(float(places.lon[i]), 7), round(float(places.lat[i]), 7),
                   round(float(places.weight[i]), 1)]
            for tier in TIERS:
                t = times[tier].seconds[i]
                sid = int(times[tier].station[i])
                row += ["" if not np.isfinite(t) else round(float(t), 1),
                        "" if sid < 0 else names.get(sid, sid)]
            writer.writerow(row)
            features.append({"type": "Feature", "properties": dict(zip(header, row)),
                             "geometry": {"type": "Point", "coordinates": row[4:6]}})
    (out / f"{stem}.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")


def best_of(times: dict[int, TierTimes]) -> np.ndarray:
    """Each place's time from the nearest station of any tier."""
    return np.minimum.reduce([t.seconds for t in times.values()])


def run_analysis(engine: sa.Engine, graph: RoadGraph, out: Path, *,
                 category: str | None = None, progress=print, times_for=None,
                 map_file: str | None = None) -> dict:
    """Assess hotspots, grid cells and road segments; write CSV, GeoJSON, summary.json and
    report.html to ``out``; return the summary. ``progress(text)`` is told of each of the
    :data:`ANALYSIS_STEPS` steps as it starts. ``times_for(tiers, places)`` computes the tier
    times elsewhere (e.g. on Dask, see ``patrol.distributed``); by default here."""
    out.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        tiers = station_tiers(conn)
        names = {sid: name for rows in tiers.values() for sid, name, _, _ in rows}
        place_sets = [hotspots(conn, category), grid_cells(conn), road_segments(graph)]
    if not any(tiers.values()):
        raise Invalid("no stations are loaded: load stations before the coverage analysis")
    results, searches = {}, None
    for step, places in enumerate(place_sets, start=1):
        progress(f"{len(places.ids):,} {places.kind}s: drive times from the nearest station "
                 f"of each tier")
        if times_for is not None:
            times = times_for(tiers, places)
        else:
            searches = searches or {tier: search_tier(graph, tiers[tier]) for tier in TIERS}
            snapped = snap_many(graph, places.lon, places.lat)
            times = {tier: searches[tier].at(snapped) for tier in TIERS}
        write_places(out, places, times, names)
        results[places.kind] = (places, times)
    progress("summary and report")
    summary = _summary(results, names)
    if map_file:
        summary["map"] = map_file  # drawn by the caller next to the report
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
    (out / "report.html").write_text(_report_html(summary, results), "utf-8")
    return summary


def _summary(results: dict, names: dict[int, str]) -> dict:
    spots, spot_times = results["hotspot"]
    best = best_of(spot_times)
    nearest_any = np.array([_nearest_station(spot_times, i) for i in range(len(best))])
    by_category = {c: shares(best[np.array(spots.categories) == c], spots.weight[
        np.array(spots.categories) == c]) for c in sorted(set(spots.categories))}
    by_district = {d: shares(best[np.array(spots.districts, dtype=object) == d], spots.weight[
        np.array(spots.districts, dtype=object) == d])
        for d in sorted({d for d in spots.districts if d})}
    cells, cell_times = results["grid cell"]
    cell_best = best_of(cell_times)
    roads, road_times = results["road segment"]
    return {
        "hotspots": len(spots.ids), "grid_cells": len(cells.ids), "road_segments": len(roads.ids),
        "hotspot_share_by_category": by_category,
        "hotspot_share_by_district": by_district,
        "grid_cell_share": shares(cell_best, cells.weight),
        "road_length_share": shares(best_of(road_times), roads.weight),
        "hotspot_gaps_beyond_300s": [
            {"id": spots.ids[i], "name": spots.names[i], "category": spots.categories[i],
             "nearest_station": names.get(int(nearest_any[i][0])) if nearest_any[i][0] >= 0
             else None, "seconds": None if not np.isfinite(best[i]) else round(float(best[i]), 1)}
            for i in np.flatnonzero(~(best <= 300))],
        "grid_cell_gaps_beyond_180s": [
            {"code": cells.ids[i], "seconds": None if not np.isfinite(cell_best[i])
             else round(float(cell_best[i]), 1)} for i in np.flatnonzero(~(cell_best <= 180))],
    }


def _nearest_station(times: dict[int, TierTimes], i: int) -> tuple[int, float]:
    best = min(((t.station[i], t.seconds[i]) for t in times.values()), key=lambda x: x[1])
    return int(best[0]), float(best[1])


def _bars(rows: dict[str, dict[int, float]]) -> str:
    colours = {60: "#1a9850", 180: "#fdae61", 300: "#d73027"}
    html = []
    for label, share in rows.items():
        bars = "".join(f'<div title="{s // 60} min: {v:.0%}" style="background:{colours[s]};'
                       f'width:{v * 300:.0f}px;height:8px;margin:1px 0"></div>'
                       for s, v in share.items())
        text = " / ".join(f"{v:.0%}" for v in share.values())
        html.append(f"<tr><td>{label}</td><td>{bars}</td><td>{text}</td></tr>")
    return "<table>" + "".join(html) + "</table>"


def _map_frame(summary: dict) -> str:
    if not summary.get("map"):
        return ""
    return (f'<h2>Map</h2><iframe src="{summary["map"]}" style="width:100%;height:640px;'
            f'border:1px solid #999"></iframe>')


def _report_html(summary: dict, results: dict) -> str:
    spots, spot_times = results["hotspot"]
    best = best_of(spot_times)
    finite = best[np.isfinite(best)]
    counts, edges = np.histogram(finite, bins=np.arange(0, HORIZON_S + 60, 60))
    top = max(counts.max(), 1) if len(counts) else 1
    histogram = "".join(f'<div style="display:inline-block;vertical-align:bottom;width:18px;'
                        f'height:{120 * c / top:.0f}px;background:#4575b4;margin-right:2px" '
                        f'title="{int(a // 60)}-{int(b // 60)} min: {c}"></div>'
                        for c, a, b in zip(counts, edges, edges[1:]))
    gaps = "".join(f"<tr><td>{g['name']}</td><td>{g['category']}</td><td>{g['nearest_station']}"
                   f"</td><td>{g['seconds']}</td></tr>"
                   for g in summary["hotspot_gaps_beyond_300s"][:200])
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Coverage of the 三圈 hotspots</title>
<style>body{{font:14px sans-serif;margin:24px}} td{{padding:2px 8px}}</style></head><body>
<h1>Coverage of the 三圈 hotspots</h1>
<p>{summary['hotspots']:,} hotspots, {summary['grid_cells']:,} grid cells,
{summary['road_segments']:,} road segments. Shares reached within 1 / 3 / 5 minutes from the
nearest station of any tier (green / orange / red bars).</p>
<h2>By category</h2>{_bars(summary['hotspot_share_by_category'])}
{_map_frame(summary)}
<h2>Grid cells and road length</h2>{_bars({'grid cells': summary['grid_cell_share'],
                                           'road length': summary['road_length_share']})}
<h2>By district</h2>{_bars(summary['hotspot_share_by_district'])}
<h2>Drive time to hotspots (minutes, one bar per minute)</h2><div>{histogram}</div>
<h2>Hotspots beyond 5 minutes ({len(summary['hotspot_gaps_beyond_300s'])})</h2>
<table><tr><th>hotspot</th><th>category</th><th>nearest station</th><th>seconds</th></tr>
{gaps}</table>
<p>Grid cells beyond 3 minutes: {len(summary['grid_cell_gaps_beyond_180s'])} (grid_cells.csv).
Road data © OpenStreetMap contributors (ODbL); points of interest: demo data.</p>
</body></html>"""


@dataclass(frozen=True)
class StationChange:
    """What-if edits: stations to add (lon, lat, tier), to remove (ids), to move (id → lon, lat)."""

    add: tuple[tuple[float, float, int], ...] = ()
    remove: frozenset[int] = frozenset()
    move: tuple[tuple[int, float, float], ...] = ()

    def apply(self, tiers: dict[int, list[tuple]]) -> dict[int, list[tuple]]:
        known = {s[0] for rows in tiers.values() for s in rows}
        unknown = sorted((set(self.remove) | {m[0] for m in self.move}) - known)
        stations = [str(i) for i in unknown if i < UNIT_ID_OFFSET]
        units = [str(i - UNIT_ID_OFFSET) for i in unknown if i >= UNIT_ID_OFFSET]
        if stations:
            raise Invalid(f"no station {', '.join(stations)}")
        if units:
            raise Invalid(f"no available unit {', '.join(units)}")
        moved = {sid: (lon, lat) for sid, lon, lat in self.move}
        changed = {t: [(s[0], s[1], *moved.get(s[0], (s[2], s[3]))) for s in rows
                       if s[0] not in self.remove] for t, rows in tiers.items()}
        for i, (lon, lat, tier) in enumerate(self.add):
            if tier not in TIERS:
                raise Invalid(f"tier {tier} of an added station must be one of 1, 3, 5")
            changed[tier].append((-1 - i, f"added station {i + 1}", lon, lat))
        return changed


def unit_responders(conn: sa.Connection, stale_after_s: float) -> list[tuple]:
    """Available patrol cars as (id, callsign, lon, lat) responders, ids offset by
    :data:`UNIT_ID_OFFSET`; a stale fix places a car at its home station."""
    from patrol.fleet import routing_positions
    from zones.unit_store import available_units

    placed = routing_positions(available_units(conn, kind="patrol_car"), stale_after_s)
    return [(UNIT_ID_OFFSET + int(u), str(c), float(x), float(y))
            for u, c, x, y in zip(placed.unit_id, placed.callsign, placed.lon, placed.lat)]


def what_if(graph: RoadGraph, tiers: dict[int, list[tuple]], places: Places,
            change: StationChange) -> dict:
    """Hotspot coverage before and after ``change``: shares per category within 60/180/300 s,
    and the hotspots whose gap (beyond 300 s) the change closes or opens."""
    snapped = snap_many(graph, places.lon, places.lat)
    after_tiers = change.apply(tiers)
    before = best_of({t: search_tier(graph, tiers[t]).at(snapped) for t in TIERS})
    after = best_of({t: search_tier(graph, after_tiers[t]).at(snapped) for t in TIERS})
    categories = np.array(places.categories)

    def by_category(times: np.ndarray) -> dict:
        return {c: shares(times[categories == c], places.weight[categories == c])
                for c in sorted(set(places.categories))}

    def listed(mask: np.ndarray) -> list[dict]:
        return [{"id": places.ids[i], "name": places.names[i], "category": places.categories[i],
                 "before_s": None if not np.isfinite(before[i]) else round(float(before[i]), 1),
                 "after_s": None if not np.isfinite(after[i]) else round(float(after[i]), 1)}
                for i in np.flatnonzero(mask)]

    return {"before": by_category(before), "after": by_category(after),
            "gaps_closed": listed(~(before <= 300) & (after <= 300)),
            "gaps_opened": listed((before <= 300) & ~(after <= 300))}
