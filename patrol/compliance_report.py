"""The files of a compliance run: ``compliance.csv`` (one row per target and 15-minute window),
``summary.json`` (rates per zone, per zone and shift, per target), ``compliance_map.html``
(targets coloured by visit rate) and ``summary.html``. Plain writers of
:class:`~patrol.compliance_run.ComplianceRun`; every name is escaped in the HTML."""

from __future__ import annotations

import csv
import json
from html import escape
from pathlib import Path

import shapely

from maps.compliance import compliance_map, rate_colour
from patrol.compliance_rates import window_rows
from patrol.compliance_run import ComplianceRun

WORST_SHOWN = 20


def write_compliance(out: Path, run: ComplianceRun, *, tiles: str | None = "OpenStreetMap"
                     ) -> dict:
    """Write the four files into ``out`` (made if missing); returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    rows = window_rows(run.result, names=run.names)
    with open(out / "compliance.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["target_id"])
        writer.writeheader()
        writer.writerows(rows)
    summary = run.summary()
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    compliance_map(_features(run, summary), tiles=tiles).save(str(out / "compliance_map.html"))
    (out / "summary.html").write_text(summary_html(summary), encoding="utf-8")
    return summary


def _features(run: ComplianceRun, summary: dict) -> list[dict]:
    """The targets as stored (WGS-84) with their rates, for the map."""
    rates = {r["target_id"]: r for r in summary["targets"]}
    return [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(
                shapely.set_precision(t.geometry, 1e-6))),
             "properties": {**rates[t.id], "name": t.name}} for t in run.targets]


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def summary_html(summary: dict) -> str:
    """The summary as a self-contained HTML page (every name and value escaped)."""
    zones = _table(["zone", "targets", "target-windows", "visited", "rate", "weighted rate"],
                   [[str(z["zone_id"]), str(z["targets"]), str(z["target_windows"]),
                     str(z["visited"]), _pct(z["rate"]), _pct(z["weighted_rate"])]
                    for z in summary["zones"]])
    shifts = _table(["zone", "shift start (UTC)", "local start", "windows", "visited", "rate"],
                    [[str(s["zone_id"]), escape(s["shift_start"]), f"{s['local_start_h']:g}:00",
                      str(s["target_windows"]), str(s["visited"]), _pct(s["rate"])]
                     for s in summary["shifts"]])
    worst = sorted(summary["targets"], key=lambda t: (t["rate"] is None, t["rate"] or 0))
    targets = _table(["target", "name", "kind", "zone", "windows visited", "rate"],
                     [[str(t["target_id"]), escape(t["name"]), escape(t["kind"]),
                       str(t["zone_id"]), f"{t['visited']} / {t['windows']}",
                       f'<span style="color:{rate_colour(t["rate"])}">■</span> '
                       f'{_pct(t["rate"])}'] for t in worst[:WORST_SHOWN]])
    total = sum(z["target_windows"] for z in summary["zones"])
    visited = sum(z["visited"] for z in summary["zones"])
    overall = _pct(visited / total if total else None)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Patrol compliance (见警率)</title><style>body{{font:14px sans-serif;margin:2em}}
table{{border-collapse:collapse;margin-bottom:1.5em}}td,th{{border:1px solid #ccc;
padding:3px 8px;text-align:right}}td:nth-child(2){{text-align:left}}</style></head><body>
<h1>Patrol compliance (见警率)</h1>
<p>{escape(summary["from"])} to {escape(summary["to"])}, windows of
{summary["window_s"] / 60:g} minutes; a visit is a stay within {summary["visit_m"]:g} m of a
target for at least its dwell ({summary["units_tracked"]} units tracked).
<b>{visited} of {total} target-windows visited ({overall}).</b>
The map: <a href="compliance_map.html">compliance_map.html</a>; every window:
compliance.csv.</p>
<h2>Zones</h2>{zones}<h2>Shifts</h2>{shifts}
<h2>Least visited targets</h2>{targets}</body></html>
"""
