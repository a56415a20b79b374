"""``patrol plan``: patrol loops through the must-patrol targets of one zone or every zone."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import database, graph_of, network_arguments, write_json
from patrol.errors import Invalid
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``plan``."""
    plan = commands.add_parser(
        "plan", parents=[network_arguments()],
        help="patrol loops from a zone's station through its must-patrol targets (stored, and "
             "given to the station's units)")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--zone", type=int, help="the patrol zone's id")
    which.add_argument("--all", action="store_true", help="every zone that has targets")
    plan.add_argument("--loop-minutes", type=float, default=15.0,
                      help="longest loop, dwells included (minutes; default 15)")
    plan.add_argument("--units", type=int, help="at most this many loops per zone; the targets "
                      "of most weight are kept, the rest listed in left_out")
    plan.add_argument("--time-s", type=float, default=None,
                      help="solver time per zone (seconds; default 1)")
    plan.add_argument("-o", "--output", type=Path, help="GeoJSON file (default: stdout)")
    plan.set_defaults(handler=cmd_plan)


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Compute, store and write the loops of --zone or of --all zones as one FeatureCollection."""
    from patrol.planning import merge_plans, plan_all, plan_zone

    if not args.loop_minutes >= 1:
        raise Invalid(f"--loop-minutes must be at least 1, got {args.loop_minutes:g}")
    if args.units is not None and args.units < 1:
        raise Invalid(f"--units must be at least 1, got {args.units}")
    options = {"loop_seconds": args.loop_minutes * 60, "units": args.units,
               "snap_limit_m": settings.snap_limit_m}
    if args.time_s is not None:
        if not args.time_s > 0:
            raise Invalid(f"--time-s must be positive, got {args.time_s:g}")
        options["time_s"] = args.time_s
    graph = graph_of(args, settings)
    with database(settings) as engine:
        if args.all:
            result = merge_plans(plan_all(engine, graph, **options))
        else:
            result = plan_zone(engine, graph, args.zone, **options)
    write_json(result, output=args.output)
    return 0
