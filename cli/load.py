"""``patrol load``: stations, hotspots and boundaries into the database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import database, graph_of, network_arguments
from settings import DATA_DIR, Settings

#: The Wuhan demo files: (file in data/poi, what it loads as, hotspot category).
WUHAN_FILES = (
    ("police.geojson", "stations", None),
    ("hospitals_grade3a.geojson", "hotspots", "hospital"),
    ("universities.geojson", "hotspots", "school"),
    ("middle_schools.geojson", "hotspots", "school"),
    ("primary_schools.geojson", "hotspots", "school"),
    ("malls_shopping_centres.geojson", "hotspots", "mall"),
    ("malls_department.geojson", "hotspots", "mall"),
    ("malls_general.geojson", "hotspots", "mall"),
    ("metro_stations.geojson", "hotspots", "metro_station"),
)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``load wuhan``, ``load stations``, ``load hotspots``, ``load zones`` and
    ``load targets``."""
    load = commands.add_parser("load", help="load stations and hotspots into the database")
    load_commands = load.add_subparsers(dest="load_command", required=True)
    wuhan = load_commands.add_parser("wuhan", parents=[network_arguments()], help="the Wuhan "
                                     "demo data in data/poi (Amap POIs, GCJ-02), then grid cells "
                                     "and zones")
    wuhan.add_argument("--grid-resolution", type=int, default=9, choices=range(6, 12),
                       metavar="6..11", help="H3 resolution of the generated grid cells "
                       "(9: about 0.1 km² each; default 9)")
    wuhan.set_defaults(handler=cmd_load_wuhan)
    for name, helptext in (("stations", "police stations, posts, bureaus (kind from a 'kind' "
                                        "column or from the name); says how many lie outside "
                                        "the road network"),
                           ("hotspots", "hotspots (parts of one place are merged)")):
        sub = load_commands.add_parser(name, help=helptext, parents=[network_arguments()]
                                       if name == "stations" else [])
        sub.add_argument("files", type=Path, nargs="+")
        sub.add_argument("--crs", default="wgs84", help="wgs84, gcj02 or bd09 (files cannot say "
                         "GCJ-02 or BD-09 themselves)")
        if name == "hotspots":
            sub.add_argument("--category", help="category of every row (else a 'category' column)")
        sub.set_defaults(handler=cmd_load_files, kind=name)

    boundaries = load_commands.add_parser("zones", help="official boundaries: areas of a level "
                                          "or patrol zones; they take precedence over generated ones")
    boundaries.add_argument("files", type=Path, nargs="+")
    boundaries.add_argument("--level", required=True, help="district, street, community, grid, "
                            "city, or zone (patrol zones with a 'station' column)")
    boundaries.add_argument("--crs", default="wgs84", help="wgs84, gcj02 or bd09")
    boundaries.set_defaults(handler=cmd_load_files, kind="zones")

    targets = load_commands.add_parser("targets", help="must-patrol points, lines and areas "
                                       "(必巡点/线/区) of the patrol zones, from files or from "
                                       "the zones' hotspots")
    targets.add_argument("files", type=Path, nargs="*", help="GeoJSON, GeoPackage or shapefiles "
                         "with a 'name' column (optional: zone_id, dwell_s, weight, two_way, id)")
    targets.add_argument("--crs", default="wgs84", help="wgs84, gcj02 or bd09")
    targets.add_argument("--from-hotspots", action="store_true", help="a point target at every "
                         "三圈 hotspot and metro station, in the zone that contains it")
    targets.add_argument("--zone", type=int, help="with --from-hotspots: only this zone")
    targets.set_defaults(handler=cmd_load_targets)


def cmd_load_wuhan(args: argparse.Namespace, settings: Settings) -> int:
    """The demo stations and hotspots (GCJ-02 files), then H3 grid cells and patrol zones."""
    from zones.loading import load_generated_grid

    with database(settings) as engine:
        for name, kind, category in WUHAN_FILES:
            _load_file(engine, DATA_DIR / "poi" / name, kind=kind, crs="gcj02",
                       category=category, settings=settings)
        graph = graph_of(args, settings)
        print(_stations_outside(engine, graph, settings))
        print(load_generated_grid(engine, graph, resolution=args.grid_resolution,
                                  snap_limit_m=settings.snap_limit_m))
    return 0


def _stations_outside(engine, graph, settings: Settings) -> str:
    """A sentence: how many of the loaded stations lie outside the road network of ``graph``
    (farther than the snapping limit from every road: they draw no circles and get no zone)."""
    from patrol.analysis import stations_outside
    from zones.lookups import station_points

    with engine.connect() as conn:
        stations = station_points(conn)
    outside = stations_outside(graph, stations, limit_m=settings.snap_limit_m)
    return (f"stations: {len(outside)} of {len(stations)} outside the road network (more than "
            f"{settings.snap_limit_m:g} m from any road): no circles, no zones")


def cmd_load_files(args: argparse.Namespace, settings: Settings) -> int:
    """Each file of the command line, as stations, hotspots or boundaries."""
    with database(settings) as engine:
        for path in args.files:
            _load_file(engine, path, kind=args.kind, crs=args.crs, settings=settings,
                       category=getattr(args, "category", None),
                       level=getattr(args, "level", None))
        if args.kind == "stations":
            print(_stations_outside(engine, graph_of(args, settings), settings))
    return 0


def cmd_load_targets(args: argparse.Namespace, settings: Settings) -> int:
    """Targets from each file, or generated from the hotspots of every zone (or of --zone)."""
    from patrol.errors import Invalid
    from zones.targets import targets_from_hotspots

    if bool(args.files) == args.from_hotspots:
        raise Invalid("give target files or --from-hotspots (one of them)")
    with database(settings) as engine:
        if args.from_hotspots:
            added = targets_from_hotspots(engine, zone_id=args.zone)
            print(f"targets from hotspots: {added} added")
        for path in args.files:
            _load_file(engine, path, kind="targets", crs=args.crs, settings=settings)
    return 0


def _load_file(engine, path: Path, *, kind: str, crs: str, settings: Settings,
               category: str | None = None, level: str | None = None) -> None:
    """Load one file and print its report: a summary line, then each problem on stderr."""
    from zones.boundary_loading import load_boundaries
    from zones.loading import load_hotspots, load_stations
    from zones.targets import load_targets

    if kind == "targets":
        report = load_targets(engine, path, crs=crs)
    elif kind == "stations":
        report = load_stations(engine, path, crs=crs, tiers=settings.station_tiers)
    elif kind == "hotspots":
        report = load_hotspots(engine, path, category=category, crs=crs)
    else:
        report = load_boundaries(engine, path, level=level, crs=crs)
    print(report.summary())
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
