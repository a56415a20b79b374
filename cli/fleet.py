"""``patrol fleet``: the simulated demo fleet (every car marked simulated)."""

from __future__ import annotations

import argparse
import os

from cli.common import database, graph_of, network_arguments
from patrol.errors import Invalid
from settings import Settings

#: The environment variable the simulator reads its API key from.
API_KEY_VARIABLE = "PATROL_API_KEY"


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``fleet create`` and ``fleet simulate``."""
    network = network_arguments()
    fleet = commands.add_parser("fleet", help="the simulated demo fleet (marked simulated)")
    fleet_commands = fleet.add_subparsers(dest="fleet_command", required=True)
    fleet_create = fleet_commands.add_parser("create", parents=[network],
                                             help="make simulated patrol cars at the stations")
    fleet_create.add_argument("--count", type=int, default=500)
    fleet_create.set_defaults(handler=cmd_fleet_create)
    fleet_sim = fleet_commands.add_parser("simulate", parents=[network],
                                          help="move the simulated cars (round their patrol "
                                          "loops, if given one) and report them to the API")
    fleet_sim.add_argument("--api", default="http://127.0.0.1:8000", help="the API's base URL")
    fleet_sim.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    fleet_sim.add_argument("--ticks", type=int, help="stop after this many reports")
    fleet_sim.set_defaults(handler=cmd_fleet_simulate)


def cmd_fleet_create(args: argparse.Namespace, settings: Settings) -> int:
    """--count simulated patrol cars spread over the stations (those already there count)."""
    from patrol.simulator import create_fleet

    if args.count < 1:
        raise Invalid(f"--count must be at least 1, got {args.count}")
    graph = graph_of(args, settings)
    with database(settings) as engine:
        added = create_fleet(engine, graph, args.count)
    print(f"simulated fleet: {added} patrol cars added ({args.count - added} already there); "
          f"all marked simulated")
    return 0


def cmd_fleet_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Drive the simulated cars and report their positions to the API every --interval s."""
    import httpx

    from patrol.simulator import simulate

    from patrol.loop_drive import LoopDrive
    from zones.compliance_inputs import loop_timetables

    key = os.environ.get(API_KEY_VARIABLE)
    if not key:
        raise Invalid(f"set {API_KEY_VARIABLE} to a dispatcher or admin API key (it is read "
                      f"from the environment so that it shows in no process list)")
    graph = graph_of(args, settings)
    with database(settings) as engine, engine.connect() as conn:
        # the units given a patrol loop drive it on its timetable, stopping at its targets
        loops = {unit: LoopDrive(graph, spec["path"], spec["stops"], spec["dwell_s"],
                                 spec["duration_s"])
                 for unit, spec in loop_timetables(conn).items()}
    try:
        simulate(args.api, key, graph, interval_s=args.interval, ticks=args.ticks,
                 loops=loops)
    except httpx.HTTPStatusError as exc:
        raise Invalid(f"the API refused the fleet's report: {exc.response.status_code} "
                      f"{exc.response.text}") from None
    except httpx.HTTPError as exc:
        raise Invalid(f"cannot reach the API at {args.api} ({exc})") from None
    return 0
