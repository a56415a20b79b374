"""``patrol map``: maps for planners."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import database, graph_of, network_arguments
from patrol.circles import CircleOptions
from patrol.coverage import OUTSIDE, CoverageMaps
from patrol.inputs import parse_category, tile_layer
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``map coverage``."""
    map_parser = commands.add_parser("map", help="maps for planners")
    map_commands = map_parser.add_subparsers(dest="map_command", required=True)
    coverage = map_commands.add_parser("coverage", parents=[network_arguments()],
                                       help="coverage map of the 三圈 hotspots (HTML)")
    coverage.add_argument("-o", "--output", type=Path, required=True, help="HTML file")
    coverage.add_argument("--zone", type=int, help="only this patrol zone")
    coverage.add_argument("--category", help="only hotspots of this category")
    coverage.add_argument("--tiles", default="OpenStreetMap", help="tile layer: OpenStreetMap, "
                          "a URL template, or none")
    coverage.add_argument("--attribution", help="attribution of a custom tile layer")
    coverage.add_argument("--coords", default="wgs84", choices=("wgs84", "gcj02"),
                          help="gcj02: shift everything to line up with Chinese tile sets")
    coverage.set_defaults(handler=cmd_map_coverage)


def cmd_map_coverage(args: argparse.Namespace, settings: Settings) -> int:
    """The coverage map of a zone or the city as one HTML file (as ``GET /maps/coverage``)."""
    category = parse_category(args.category)
    graph = graph_of(args, settings)
    with database(settings) as engine:
        fmap, data = CoverageMaps(engine, graph, options=CircleOptions.of(settings),
                                  tiles=tile_layer(args.tiles), attribution=args.attribution
                                  ).draw(zone_id=args.zone, category=category, coords=args.coords)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(args.output))
    size = args.output.stat().st_size / 1e6
    outside = sum(h["tier"] == OUTSIDE for h in data.hotspots)
    print(f"wrote {args.output} ({size:.1f} MB): {len(data.stations)} stations and posts, "
          f"{len(data.hotspots)} hotspots ({outside} outside the road network, drawn hollow), "
          f"rings {sorted(data.rings)} s")
    return 0
