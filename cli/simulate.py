"""``patrol simulate``: replay simulated incidents on the simulated fleet, with and without
move-up, on a simulated clock."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import database, graph_of, network_arguments
from patrol.errors import Invalid
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``simulate``."""
    simulate = commands.add_parser(
        "simulate", parents=[network_arguments()],
        help="replay simulated incidents (near hotspots and over the grid) on the simulated "
        "fleet through the dispatch decision, with and without move-up")
    simulate.add_argument("--hours", type=float, required=True, help="simulated hours")
    simulate.add_argument("--rate", type=float, required=True, help="incidents per hour")
    simulate.add_argument("--move-up", choices=("on", "off"),
                          help="only this run (default: both, on the same incidents)")
    simulate.add_argument("--seed", type=int, default=0, help="of the incidents (default 0)")
    simulate.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    simulate.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """summary.json, incidents_<run>.csv, moves_<run>.csv and report.md in --output."""
    from patrol.dispatch import DispatchPolicy
    from patrol.simulation_report import report, write_outputs
    from patrol.simulation_run import SimulationInputs, read_city, simulate_runs

    inputs = SimulationInputs(args.hours, args.rate, args.seed)
    inputs.check()
    if args.output.exists() and not args.output.is_dir():
        raise Invalid(f"{args.output} is a file; -o takes a folder")
    graph = graph_of(args, settings)
    with database(settings) as engine:
        fleet, places = read_city(engine, graph, snap_limit_m=settings.snap_limit_m)
        policies = {name: _policy(name, engine, graph, settings)
                    for name in ([args.move_up] if args.move_up else ["off", "on"])}
    summary, runs = simulate_runs(
        graph, fleet, places, inputs, policies=policies, snap_limit_m=settings.snap_limit_m,
        dispatch=DispatchPolicy(settings.auto_dispatch_level, settings.dispatch_candidates))
    write_outputs(args.output, runs, summary)
    print(report(summary), end="")
    print(f"files in {args.output}")
    return 0


def _policy(name: str, engine, graph, settings: Settings):
    """The move-up policy factory of a run (None: move-up off)."""
    from patrol.simulation_moveup import moveup_factory

    if name == "off":
        return None
    return moveup_factory(engine, graph, snap_limit_m=settings.snap_limit_m)
