"""``patrol compliance``: were the must-patrol targets visited in every 15-minute window
(见警率), from the units' stored GPS tracks."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from pathlib import Path

from cli.common import database, graph_of, network_arguments
from patrol.errors import Invalid
from settings import Settings


#: The longest range one run may cover (days): a month of 15-minute windows per target.
MAX_DAYS = 31


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``compliance``."""
    parser = commands.add_parser(
        "compliance", parents=[network_arguments()],
        help="visits of the must-patrol targets per 15-minute window and visit rates (见警率): "
             "compliance.csv, summary.json, compliance_map.html, summary.html")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--zone", type=int, help="the patrol zone's id")
    which.add_argument("--all", action="store_true", help="every zone's targets")
    parser.add_argument("--from", dest="start", required=True, type=_moment,
                        help="start, ISO 8601 (UTC unless it says otherwise), e.g. "
                             "2026-12-01T08:00+08:00")
    parser.add_argument("--to", dest="end", required=True, type=_moment,
                        help=f"end, ISO 8601; at most {MAX_DAYS} days after --from")
    parser.add_argument("--visit-m", type=float, default=None,
                        help="distance from a target that counts as there (metres; default 50)")
    parser.add_argument("--tiles", default="OpenStreetMap",
                        help="base map: OpenStreetMap, a tile URL template, or none")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.set_defaults(handler=cmd_compliance)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-01T08:00+08:00") from None


def cmd_compliance(args: argparse.Namespace, settings: Settings) -> int:
    """Compute compliance for --zone or --all over --from/--to and write the files."""
    from patrol.compliance import VISIT_M
    from patrol.compliance_report import write_compliance
    from patrol.compliance_run import check_range, run_compliance

    check_range(args.start, args.end, max_hours=MAX_DAYS * 24)
    visit_m = VISIT_M if args.visit_m is None else args.visit_m
    if not 0 < visit_m < math.inf:
        raise Invalid(f"--visit-m must be a positive number of metres, got {visit_m:g}")
    graph = graph_of(args, settings)
    with database(settings) as engine:
        run = run_compliance(engine, graph, zone_id=None if args.all else args.zone,
                             start=args.start, end=args.end, visit_m=visit_m,
                             max_hours=MAX_DAYS * 24, snap_limit_m=settings.snap_limit_m)
    summary = write_compliance(args.output, run,
                               tiles=None if args.tiles.lower() == "none" else args.tiles)
    total = sum(z["target_windows"] for z in summary["zones"])
    visited = sum(z["visited"] for z in summary["zones"])
    print(f"{len(run.targets)} targets in {len(summary['zones'])} zones, "
          f"{len(run.result.window_start)} windows from {summary['from']} to {summary['to']}: "
          f"{visited} of {total} target-windows visited by {run.units} tracked units; "
          f"files in {args.output}")
    return 0
