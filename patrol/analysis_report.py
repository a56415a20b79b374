"""The files of the coverage analysis: one CSV and one GeoJSON per kind of place, and the HTML
report. Plain writers of the numbers :mod:`patrol.analysis` works out."""

from __future__ import annotations

import csv
import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from patrol.analysis import Places, TierTimes


#: A place's ``status`` in the files: on the road network, or beyond the snapping limit from
#: every road (outside the road data: no drive time, not counted in any share or gap list).
ON_NETWORK, OUTSIDE_NETWORK = "on_network", "outside_network"


def write_places(out: Path, places: Places, *, times: dict[int, TierTimes],
                 names: dict[int, str], on_network: np.ndarray) -> None:
    """``<kind>s.csv`` and its GeoJSON twin in ``out``: one row per place, with its status
    (:data:`ON_NETWORK` or :data:`OUTSIDE_NETWORK`, from ``on_network``), the seconds from the
    nearest station of each tier (``times``, by tier in minutes) and that station's name
    (``names``, by station id)."""
    tiers = sorted(times)
    stem = places.kind.replace(" ", "_") + "s"
    header = ["id", "name", "category", "district", "lon", "lat", "weight", "status"]
    for tier in tiers:
        header += [f"tier{tier}_seconds", f"tier{tier}_station"]
    features = []
    with open(out / f"{stem}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, pid in enumerate(places.ids):
            row = [pid, places.names[i], places.categories[i], places.districts[i],
                   round(float(places.lon[i]), 7), round(float(places.lat[i]), 7),
                   round(float(places.weight[i]), 1),
                   ON_NETWORK if on_network[i] else OUTSIDE_NETWORK]
            for tier in tiers:
                t = times[tier].seconds[i]
                sid = int(times[tier].station[i])
                row += ["" if not np.isfinite(t) else round(float(t), 1),
                        "" if sid < 0 else names.get(sid, sid)]
            writer.writerow(row)
            features.append({"type": "Feature", "properties": dict(zip(header, row)),
                             "geometry": {"type": "Point", "coordinates": row[4:6]}})
    (out / f"{stem}.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")


def _bars(rows: dict[str, dict[int, float]], counts: dict[str, dict[str, int]] | None = None
          ) -> str:
    """One row of bars per label; with ``counts``, each label says over how many places on the
    network its shares are and how many lie outside it (those with none on it get no bars)."""
    colours = {60: "#1a9850", 180: "#fdae61", 300: "#d73027"}
    html = []
    for label, share in rows.items():
        bars = "".join(f'<div title="{s // 60} min: {v:.0%}" style="background:{colours[s]};'
                       f'width:{v * 300:.0f}px;height:8px;margin:1px 0"></div>'
                       for s, v in share.items())
        text = " / ".join(f"{v:.0%}" for v in share.values())
        html.append(f"<tr><td>{escape(str(label))}</td><td>{bars}</td><td>{text}</td>"
                    f"{_counted(counts, label)}</tr>")
    for label in sorted(set(counts or {}) - set(rows)):
        html.append(f"<tr><td>{escape(str(label))}</td><td></td><td>none on the network</td>"
                    f"{_counted(counts, label)}</tr>")
    return "<table>" + "".join(html) + "</table>"


def _counted(counts: dict[str, dict[str, int]] | None, label: str) -> str:
    if counts is None:
        return ""
    n = counts[label]
    return (f"<td>of {n['on_network']:,} on the network; {n['outside_network']:,} outside, "
            f"not counted</td>")


def _map_frame(summary: dict) -> str:
    if not summary.get("map"):
        return ""
    return (f'<h2>Map</h2><iframe src="{escape(summary["map"])}" style="width:100%;height:640px;'
            f'border:1px solid #999"></iframe>')


#: The columns of the table of hotspots beyond 5 minutes.
GAP_COLUMNS = ("name", "category", "nearest_station", "seconds")


def report_html(summary: dict, hotspot_seconds: np.ndarray, *, horizon_s: float) -> str:
    """The analysis report as one HTML page: the ``summary`` (see
    :func:`patrol.analysis.run_analysis`) and a histogram of ``hotspot_seconds`` (each
    on-network hotspot's drive time from the nearest station, inf beyond the horizon of
    ``horizon_s``). Every name is escaped: names come from imported files."""
    finite = hotspot_seconds[np.isfinite(hotspot_seconds)]
    counts, edges = np.histogram(finite, bins=np.arange(0, horizon_s + 60, 60))
    top = max(counts.max(), 1) if len(counts) else 1
    histogram = "".join(f'<div style="display:inline-block;vertical-align:bottom;width:18px;'
                        f'height:{120 * c / top:.0f}px;background:#4575b4;margin-right:2px" '
                        f'title="{int(a // 60)}-{int(b // 60)} min: {c}"></div>'
                        for c, a, b in zip(counts, edges, edges[1:]))
    gaps = "".join("<tr>" + "".join(f"<td>{escape(str(g[k]))}</td>" for k in GAP_COLUMNS)
                   + "</tr>"
                   for g in summary["hotspot_gaps_beyond_300s"][:200])
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Coverage of the 三圈 hotspots</title>
<style>body{{font:14px sans-serif;margin:24px}} td{{padding:2px 8px}}</style></head><body>
<h1>Coverage of the 三圈 hotspots</h1>
<p>{summary['hotspots']:,} hotspots, {summary['grid_cells']:,} grid cells,
{summary['road_segments']:,} road segments. Shares reached within 1 / 3 / 5 minutes from the
nearest station of any tier (green / orange / red bars).</p>
<p>Outside the road network (farther than the snapping limit from every road; the road data
says nothing about them, so they are not counted in any share or gap list):
{summary['hotspots_outside_network']:,} hotspots, {summary['grid_cells_outside_network']:,}
grid cells, {summary['stations_outside_network']:,} stations (these draw no circles).</p>
<h2>By category</h2>{_bars(summary['hotspot_share_by_category'],
                          summary['hotspot_counts_by_category'])}
{_map_frame(summary)}
<h2>Grid cells and road length</h2>{_bars({'grid cells': summary['grid_cell_share'],
                                           'road length': summary['road_length_share']})}
<h2>By district</h2>{_bars(summary['hotspot_share_by_district'],
                          summary['hotspot_counts_by_district'])}
<h2>Drive time to hotspots (minutes, one bar per minute)</h2><div>{histogram}</div>
<h2>Hotspots on the network beyond 5 minutes ({len(summary['hotspot_gaps_beyond_300s'])})</h2>
<table><tr><th>hotspot</th><th>category</th><th>nearest station</th><th>seconds</th></tr>
{gaps}</table>
<p>Grid cells beyond 3 minutes: {len(summary['grid_cell_gaps_beyond_180s'])} (grid_cells.csv).
Road data © OpenStreetMap contributors (ODbL); points of interest: demo data.</p>
</body></html>"""
