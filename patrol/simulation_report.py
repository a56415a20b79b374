"""What a simulation run reports: response-time figures per run (priority 1 and all
incidents), the comparison with and without move-up, and the output folder (summary.json,
one CSV of incidents and one of moves per run, report.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from patrol.dispatch import RING_SECONDS
from patrol.simulation import Replay

#: The per-incident CSV's columns (seconds since the simulation's start; WGS-84).
INCIDENT_COLUMNS = ("incident", "received_s", "priority", "source", "lon", "lat", "unit_id",
                    "callsign", "unit_was", "mode", "dispatched_s", "drive_s", "drive_m",
                    "arrived_s", "response_s", "service_s", "cleared_s")
MOVE_COLUMNS = ("at_s", "event", "unit_id", "callsign", "drive_s", "from_lon", "from_lat",
                "to_lon", "to_lat")
#: The 3-minute ring: an arrival later than this is late.
LATE_AFTER_S = 180


def response_figures(response_s: np.ndarray) -> dict:
    """Share reached within 60, 180 and 300 s, late arrivals (beyond 180 s), mean and 90th
    percentile (numpy's linear interpolation) of response times in seconds."""
    if not len(response_s):
        return {"count": 0, "within": {str(s): None for s in RING_SECONDS}, "late": 0,
                "mean_s": None, "p90_s": None}
    return {"count": int(len(response_s)),
            "within": {str(s): float(np.mean(response_s <= s)) for s in RING_SECONDS},
            "late": int(np.sum(response_s > LATE_AFTER_S)),
            "mean_s": float(np.mean(response_s)), "p90_s": float(np.percentile(response_s, 90))}


def summarise(replay: Replay) -> dict:
    """One run's figures: priority 1 and all incidents, waits for a unit, moves."""
    response = np.array([r["response_s"] for r in replay.incidents], dtype=np.float64)
    priority = np.array([r["priority"] for r in replay.incidents], dtype=np.int64)
    waited = sum(r["dispatched_s"] > r["received_s"] for r in replay.incidents)
    count = len(replay.incidents)
    return {"incidents": count, "priority_1": response_figures(response[priority == 1]),
            "all": response_figures(response), "waited_for_a_unit": int(waited),
            "moves": len(replay.moves), "ignored_moves": replay.ignored_moves,
            "moves_per_incident": len(replay.moves) / count if count else 0.0}


def comparison(off: dict, on: dict) -> dict:
    """Move-up against none: the change in priority-1 late arrivals (beyond 3 minutes)."""
    late_off, late_on = off["priority_1"]["late"], on["priority_1"]["late"]
    return {"priority_1_late_off": late_off, "priority_1_late_on": late_on,
            "fewer_late_share": (late_off - late_on) / late_off if late_off else None,
            "moves_per_incident": on["moves_per_incident"]}


def write_outputs(folder: Path, runs: dict[str, Replay], summary: dict) -> None:
    """summary.json, incidents_<run>.csv and moves_<run>.csv per run, report.md."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False),
                                         encoding="utf-8")
    for name, replay in runs.items():
        _write_csv(folder / f"incidents_{name}.csv", INCIDENT_COLUMNS, replay.incidents)
        moves = [{**m, "from_lon": m["from"][0], "from_lat": m["from"][1], "to_lon": m["to"][0],
                  "to_lat": m["to"][1]} for m in replay.moves]
        _write_csv(folder / f"moves_{name}.csv", MOVE_COLUMNS, moves)
    (folder / "report.md").write_text(report(summary), encoding="utf-8")


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def report(summary: dict) -> str:
    """The summary as a short Markdown report, the runs side by side."""
    runs = summary["runs"]
    inputs = summary["inputs"]
    lines = [f"# Simulated incidents: {inputs['hours']:g} h at {inputs['rate_per_h']:g} per "
             f"hour, {inputs['units']} units, seed {inputs['seed']}", "",
             f"{inputs['incidents']} incidents ({inputs['dropped_off_network']} places off the "
             f"road network dropped).", "",
             "| | " + " | ".join(f"move-up {name}" for name in runs) + " |",
             "|---|" + "---|" * len(runs)]
    rows = [("priority-1 incidents", lambda s: str(s["priority_1"]["count"]))]
    rows += [(f"priority 1 within {limit // 60} min",
              lambda s, k=str(limit): _share(s["priority_1"]["within"][k]))
             for limit in RING_SECONDS]
    rows += [("priority 1 late (beyond 3 min)", lambda s: str(s["priority_1"]["late"])),
             ("priority 1 mean response", lambda s: _seconds(s["priority_1"]["mean_s"])),
             ("priority 1 p90 response", lambda s: _seconds(s["priority_1"]["p90_s"])),
             ("all incidents mean response", lambda s: _seconds(s["all"]["mean_s"])),
             ("all incidents p90 response", lambda s: _seconds(s["all"]["p90_s"])),
             ("incidents that waited for a unit", lambda s: str(s["waited_for_a_unit"])),
             ("moves per incident", lambda s: f"{s['moves_per_incident']:.2f}")]
    lines += [f"| {label} | " + " | ".join(show(runs[n]) for n in runs) + " |"
              for label, show in rows]
    if "comparison" in summary:
        change = summary["comparison"]["fewer_late_share"]
        lines += ["", "Move-up: " + ("no late priority-1 arrivals without it." if change is None
                                     else f"{change:.1%} fewer late priority-1 arrivals.")]
    return "\n".join(lines) + "\n"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"
