"""``patrol graph``: import and compile a road network."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import network_arguments, speeds_of, warn
from routing.graph_store import compiled_path, import_graph
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``graph import``."""
    graph = commands.add_parser("graph", help="road graph commands")
    graph_commands = graph.add_subparsers(dest="graph_command", required=True)
    imp = graph_commands.add_parser("import", parents=[network_arguments()],
                                    help="import and compile a road network (OSM XML/PBF or an "
                                         "OSMnx edge table)")
    imp.add_argument("path", type=Path)
    imp.add_argument("-o", "--output", type=Path, help="compiled file (default: the cache)")
    imp.set_defaults(handler=cmd_graph_import)


def cmd_graph_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import, keep the largest strongly connected component, simplify and compile."""
    speeds = speeds_of(args, settings)
    out = args.output or compiled_path(args.path, speeds, settings.cache_dir)
    graph, report = import_graph(args.path, speeds, out)
    for warning in report.warnings:
        warn(warning)
    share = 100.0 * report.nodes_dropped / max(report.nodes_read, 1)
    print(f"imported {args.path}: {report.nodes_read:,} nodes and {report.edges_read:,} directed "
          f"edges of drivable road")
    print(f"kept the largest strongly connected component: {report.nodes_kept:,} nodes, "
          f"{report.edges_kept:,} edges; dropped {report.nodes_dropped:,} nodes ({share:.1f}%)")
    print(f"simplified to {graph.n_nodes:,} nodes and {graph.n_edges:,} edges; compiled to {out}")
    return 0
