"""The ``patrol`` command line.

Commands call the same engine functions as the HTTP API. Bad input ends with one sentence on
stderr and exit code 2; nothing prints a traceback unless ``PATROL_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from patrol.circles import CircleOptions, circles_around
from patrol.coverage import CoverageMaps
from patrol.inputs import (parse_category, parse_lonlat, parse_minutes, parse_time_of_day,
                           speed_model, tile_layer)
from routing import (Direction, RoutingError, SpeedModel, Weights, open_graph,
                     parse_coord_system, rank_to, snap_point, snap_points, to_wgs84)
from routing.compiled import RoadGraph
from routing.graph_store import compiled_path, import_graph
from patrol.errors import DispatchError
from settings import Settings
from zones.cluster import ClusterError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the database could not be reached or started


class UsageError(RoutingError):
    """A command-line value that is not of the expected form."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    logging.basicConfig(format="patrol: %(message)s", level=logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"patrol: error: bad setting in the environment ({problems})", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.handler(args, settings)
    except (RoutingError, DispatchError) as exc:
        print(f"patrol: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ClusterError as exc:
        print(f"patrol: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"patrol: error: cannot reach the database ({reason})", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one sentence, not a traceback
        if os.environ.get("PATROL_DEBUG") == "1":
            raise
        print(f"patrol: internal error ({type(exc).__name__}: {exc}); "
              f"set PATROL_DEBUG=1 for the traceback", file=sys.stderr)
        return EXIT_INTERNAL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patrol", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    network = argparse.ArgumentParser(add_help=False)
    network.add_argument("--graph", type=Path, help="road network: source file or compiled "
                         ".graph.npz (default: the configured Wuhan network)")
    network.add_argument("--speeds", type=Path, help="TOML file overriding road class speeds")

    graph = commands.add_parser("graph", help="road graph commands")
    graph_commands = graph.add_subparsers(dest="graph_command", required=True)
    imp = graph_commands.add_parser("import", parents=[network], help="import and compile a road "
                                    "network (OSM XML/PBF or an OSMnx edge table)")
    imp.add_argument("path", type=Path)
    imp.add_argument("-o", "--output", type=Path, help="compiled file (default: the cache)")
    imp.set_defaults(handler=cmd_graph_import)

    circles = commands.add_parser("circles", parents=[network],
                                  help="1/3/5-minute response circles around a point")
    _add_point_args(circles)
    circles.add_argument("--minutes", default="1,3,5", help="ring times, e.g. 1,3,5")
    circles.add_argument("--arrive", action="store_true",
                         help="from where the point is reached (a hotspot's circle) instead of "
                              "where a unit at the point can get")
    circles.add_argument("--at-time", help="time of day HH:MM for congestion periods")
    circles.add_argument("-o", "--output", type=Path, help="GeoJSON file (default: stdout)")
    circles.set_defaults(handler=cmd_circles)

    nearest = commands.add_parser("nearest", parents=[network],
                                  help="rank the points of a GeoJSON file by drive time to a point")
    _add_point_args(nearest)
    nearest.add_argument("--from", dest="points", type=Path, required=True,
                         help="GeoJSON FeatureCollection of points")
    nearest.add_argument("--from-crs", default="wgs84",
                         help="coordinate system of the points file: wgs84, gcj02 or bd09")
    nearest.add_argument("-k", type=int, default=3, help="how many to list (default 3)")
    nearest.set_defaults(handler=cmd_nearest)

    load = commands.add_parser("load", help="load stations and hotspots into the database")
    load_commands = load.add_subparsers(dest="load_command", required=True)
    wuhan = load_commands.add_parser("wuhan", parents=[network], help="the Wuhan demo data in "
                                     "data/poi (Amap POIs, GCJ-02), then grid cells and zones")
    wuhan.add_argument("--grid-resolution", type=int, default=9, choices=range(6, 12),
                       metavar="6..11", help="H3 resolution of the generated grid cells "
                       "(9: about 0.1 km² each; default 9)")
    wuhan.set_defaults(handler=cmd_load_wuhan)
    for name, helptext in (("stations", "police stations, posts, bureaus (kind from a 'kind' "
                                        "column or from the name)"),
                           ("hotspots", "hotspots (parts of one place are merged)")):
        sub = load_commands.add_parser(name, help=helptext)
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

    map_parser = commands.add_parser("map", help="maps for planners")
    map_commands = map_parser.add_subparsers(dest="map_command", required=True)
    coverage = map_commands.add_parser("coverage", parents=[network],
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

    analysis = commands.add_parser("coverage", parents=[network],
                                   help="coverage-gap analysis of the whole city (batch)")
    analysis.add_argument("-o", "--output", type=Path, help="output folder")
    analysis.add_argument("--category", help="only hotspots of this category")
    analysis.add_argument("--scheduler", help="run on Dask distributed: a scheduler address "
                          "(tcp://host:8786) or 'local' for a local cluster")
    analysis.add_argument("--no-map", action="store_true", help="skip the report's map")
    analysis.add_argument("--partitions", type=int, default=8,
                          help="pieces per place set and tier on Dask (default 8)")
    analysis.set_defaults(handler=cmd_coverage)
    analysis_commands = analysis.add_subparsers(dest="coverage_command")
    siting = analysis_commands.add_parser(
        "recommend", parents=[network], help="where K new posts would cover the most hotspots "
        "within a tier (maximal covering location problem, greedy)")
    siting.add_argument("--add", type=int, required=True, help="how many new posts (K)")
    siting.add_argument("--tier", type=int, choices=(1, 3, 5), default=3, help="minutes")
    siting.set_defaults(handler=cmd_recommend)
    whatif = analysis_commands.add_parser(
        "whatif", parents=[network], help="coverage change if stations are added, moved or "
        "removed")
    whatif.add_argument("--add", action="append", default=[], metavar="LON,LAT[,TIER]",
                        help="a new station (tier 1 unless given); repeatable")
    whatif.add_argument("--remove", action="append", default=[], type=int, metavar="ID",
                        help="a station to take away; repeatable")
    whatif.add_argument("--move", action="append", default=[], metavar="ID:LON,LAT",
                        help="a station moved; repeatable")
    whatif.add_argument("--with-units", action="store_true", help="count the available patrol "
                        "cars as 1-minute responders where they are now")
    whatif.add_argument("--remove-unit", action="append", default=[], type=int, metavar="ID",
                        help="a unit to take away (with --with-units); repeatable")
    whatif.add_argument("--move-unit", action="append", default=[], metavar="ID:LON,LAT",
                        help="a unit moved (with --with-units); repeatable")
    whatif.add_argument("--from-file", type=Path, help="GeoJSON of stations to add (a 'tier' "
                        "property, default 1)")
    whatif.add_argument("--crs", default="wgs84", help="of the coordinates given: wgs84, gcj02, "
                        "bd09")
    whatif.set_defaults(handler=cmd_whatif)

    keys = commands.add_parser("keys", help="API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create_key = keys_commands.add_parser("create", help="make a new API key and print it once")
    create_key.add_argument("--role", required=True, choices=("dispatcher", "planner", "admin"))
    create_key.add_argument("--name", help="who or what the key is for")
    create_key.set_defaults(handler=cmd_keys_create)

    fleet = commands.add_parser("fleet", help="the simulated demo fleet (marked simulated)")
    fleet_commands = fleet.add_subparsers(dest="fleet_command", required=True)
    fleet_create = fleet_commands.add_parser("create", parents=[network],
                                             help="make simulated patrol cars at the stations")
    fleet_create.add_argument("--count", type=int, default=500)
    fleet_create.set_defaults(handler=cmd_fleet_create)
    fleet_sim = fleet_commands.add_parser("simulate", parents=[network],
                                          help="move the simulated cars and report them to the API")
    fleet_sim.add_argument("--api", default="http://127.0.0.1:8000", help="the API's base URL")
    fleet_sim.add_argument("--key", required=True, help="a dispatcher or admin API key")
    fleet_sim.add_argument("--interval", type=float, default=5.0, help="seconds between reports")
    fleet_sim.add_argument("--ticks", type=int, help="stop after this many reports")
    fleet_sim.set_defaults(handler=cmd_fleet_simulate)

    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="the database: the embedded local cluster or DATABASE_URL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("up", help="start the embedded cluster (unless DATABASE_URL is set) "
                           "and migrate to the latest schema").set_defaults(handler=cmd_db_up)
    db_commands.add_parser("down", help="stop the embedded cluster").set_defaults(
        handler=cmd_db_down)
    return parser


def _add_point_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", required=True, metavar="LON,LAT",
                        help="the point, e.g. 114.2655,30.5853 (use --at=-0.1,51.5 for a "
                             "negative longitude)")
    parser.add_argument("--crs", default="wgs84", help="coordinate system of --at: wgs84, gcj02 "
                        "or bd09 (default wgs84)")


def cmd_graph_import(args: argparse.Namespace, settings: Settings) -> int:
    speeds = _speed_model(args, settings)
    out = args.output or compiled_path(args.path, speeds, settings.cache_dir)
    graph, report = import_graph(args.path, speeds, out)
    for warning in report.warnings:
        print(f"patrol: warning: {warning}", file=sys.stderr)
    share = 100.0 * report.nodes_dropped / max(report.nodes_read, 1)
    print(f"imported {args.path}: {report.nodes_read:,} nodes and {report.edges_read:,} directed "
          f"edges of drivable road")
    print(f"kept the largest strongly connected component: {report.nodes_kept:,} nodes, "
          f"{report.edges_kept:,} edges; dropped {report.nodes_dropped:,} nodes ({share:.1f}%)")
    print(f"simplified to {graph.n_nodes:,} nodes and {graph.n_edges:,} edges; compiled to {out}")
    return 0


def cmd_circles(args: argparse.Namespace, settings: Settings) -> int:
    minutes = parse_minutes(args.minutes, name="--minutes")
    crs = parse_coord_system(args.crs)
    lon, lat = parse_lonlat(args.at, name="--at")
    speeds = _speed_model(args, settings)
    graph = _open(args, settings, speeds)
    weights = Weights.at(graph, speeds, parse_time_of_day(args.at_time, name="--at-time"))
    result = circles_around(graph, lon, lat, minutes=minutes, crs=crs, weights=weights,
                            direction=Direction.ARRIVE if args.arrive else Direction.DEPART,
                            options=CircleOptions.of(settings))
    _write_json(result, args.output)
    return 0


def cmd_nearest(args: argparse.Namespace, settings: Settings) -> int:
    if args.k < 1:
        raise UsageError(f"-k must be at least 1, got {args.k}")
    crs = parse_coord_system(args.crs)
    lon, lat = parse_lonlat(args.at, name="--at")
    features = _read_points(args.points)
    speeds = _speed_model(args, settings)
    graph = _open(args, settings, speeds)
    target = snap_point(graph, lon, lat, crs=crs, limit_m=settings.snap_limit_m)
    xs = np.array([f["geometry"]["coordinates"][0] for f in features], dtype=float)
    ys = np.array([f["geometry"]["coordinates"][1] for f in features], dtype=float)
    snaps, _ = snap_points(graph, xs, ys, crs=parse_coord_system(args.from_crs),
                           limit_m=settings.snap_limit_m)
    on_network = [i for i, s in enumerate(snaps) if s is not None]
    if len(on_network) < len(snaps):
        print(f"patrol: warning: {len(snaps) - len(on_network)} of {len(snaps)} points lie more "
              f"than {settings.snap_limit_m:.0f} m from a road and were not ranked", file=sys.stderr)
    ranked = rank_to(graph, target, [snaps[i] for i in on_network], k=args.k)
    result = [{"rank": r + 1, "properties": features[on_network[item.index]].get("properties"),
               "seconds": round(item.seconds, 2), "metres": round(item.metres, 1)}
              for r, item in enumerate(ranked)]
    _write_json(result, None)
    return 0


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


def cmd_load_wuhan(args: argparse.Namespace, settings: Settings) -> int:
    from settings import DATA_DIR

    from zones.loading import load_generated_grid

    with _database(settings) as engine:
        for name, kind, category in WUHAN_FILES:
            _print_load(_load_one(engine, kind, DATA_DIR / "poi" / name, "gcj02", category,
                                  settings.station_tiers))
        graph = open_graph(settings.graph, _speed_model(args, settings), settings.cache_dir)
        print(load_generated_grid(engine, graph, resolution=args.grid_resolution,
                                  snap_limit_m=settings.snap_limit_m))
    return 0


def cmd_load_files(args: argparse.Namespace, settings: Settings) -> int:
    from zones.boundary_loading import load_boundaries

    with _database(settings) as engine:
        for path in args.files:
            if args.kind == "zones":
                _print_load(load_boundaries(engine, path, level=args.level, crs=args.crs))
            else:
                _print_load(_load_one(engine, args.kind, path, args.crs,
                                      getattr(args, "category", None), settings.station_tiers))
    return 0


def _load_one(engine, kind: str, path: Path, crs: str, category: str | None,
              tiers: dict[str, int] | None = None):
    from zones.loading import load_hotspots, load_stations

    if kind == "stations":
        return load_stations(engine, path, crs=crs, tiers=tiers)
    return load_hotspots(engine, path, category=category, crs=crs)


def _print_load(report) -> None:
    print(report.summary())
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)


@contextmanager
def _database(settings: Settings) -> Iterator:
    """An engine on the configured database, disposed (connections closed) afterwards."""
    import sqlalchemy as sa

    from zones.database import database_url

    engine = sa.create_engine(database_url(settings))
    try:
        yield engine
    finally:
        engine.dispose()


def cmd_map_coverage(args: argparse.Namespace, settings: Settings) -> int:
    category = parse_category(args.category)
    graph = _open(args, settings, _speed_model(args, settings))
    with _database(settings) as engine:
        fmap, data = CoverageMaps(engine, graph, options=CircleOptions.of(settings),
                                  tiles=tile_layer(args.tiles), attribution=args.attribution
                                  ).draw(zone_id=args.zone, category=category, coords=args.coords)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(args.output))
    size = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size:.1f} MB): {len(data.stations)} stations and posts, "
          f"{len(data.hotspots)} hotspots, rings {sorted(data.rings)} s")
    return 0


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:
    from patrol.analysis import ANALYSIS_STEPS, run_analysis

    if args.output is None:
        raise UsageError("patrol coverage needs -o FOLDER for its files (or the subcommand "
                         "recommend)")
    parse_category(args.category)
    speeds = _speed_model(args, settings)
    graph = _open(args, settings, speeds)
    progress = _progress_bar(ANALYSIS_STEPS + (0 if args.no_map else 1))
    with _database(settings) as engine, _dask(args, settings, speeds) as times_for:
        summary = run_analysis(engine, graph, args.output, category=args.category,
                               progress=progress, times_for=times_for,
                               map_file=None if args.no_map else "coverage_map.html")
        if not args.no_map:
            progress("the coverage map")
            fmap, _ = CoverageMaps(engine, graph, options=CircleOptions.of(settings),
                                   tiles=tile_layer(settings.map_tiles),
                                   attribution=settings.map_attribution
                                   ).draw(category=args.category)
            fmap.save(str(args.output / "coverage_map.html"))
    for name, share in summary["hotspot_share_by_category"].items():
        print(f"{name}: " + ", ".join(f"{s // 60} min {v:.0%}" for s, v in share.items()))
    print(f"{len(summary['hotspot_gaps_beyond_300s'])} hotspots beyond 5 minutes, "
          f"{len(summary['grid_cell_gaps_beyond_180s'])} grid cells beyond 3 minutes; "
          f"files and report.html in {args.output}")
    return 0


def _progress_bar(steps: int) -> Callable[[str], None]:
    """Progress on standard error: each call starts the next of ``steps`` steps and draws the
    bar, e.g. ``[########------------] 2/5 grid cells``."""
    started = 0

    def show(step: str) -> None:
        nonlocal started
        started += 1
        filled = round(20 * (started - 1) / steps)
        print(f"[{'#' * filled}{'-' * (20 - filled)}] {started}/{steps} {step}", file=sys.stderr,
              flush=True)

    return show


@contextmanager
def _dask(args: argparse.Namespace, settings: Settings, speeds: SpeedModel) -> Iterator:
    """A ``times_for`` running on Dask when --scheduler is given, else None (in-process)."""
    if not args.scheduler:
        yield None
        return
    from distributed import Client, LocalCluster

    from patrol.distributed import dask_times
    from routing.compiled import COMPILED_SUFFIX
    from routing.graph_store import compiled_path

    source = args.graph or settings.graph
    graph_file = str(source if str(source).endswith(COMPILED_SUFFIX)
                     else compiled_path(source, speeds, settings.cache_dir))
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None) if args.scheduler == "local" else None
    try:
        # A remote scheduler answers at once or not at all; local workers may take a while.
        client = Client(cluster if cluster is not None else args.scheduler,
                        timeout=60 if cluster is not None else 10)
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {args.scheduler} ({exc})") from None
    try:
        yield lambda tiers, places: dask_times(client, graph_file, tiers, places,
                                               args.partitions)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    from patrol.analysis import hotspots
    from patrol.siting import recommend
    from zones.lookups import station_points

    parse_category(args.category)
    graph = _open(args, settings, _speed_model(args, settings))
    with _database(settings) as engine, engine.connect() as conn:
        stations = station_points(conn)
        places = hotspots(conn, category=args.category)
    if not stations:
        raise UsageError("no stations are loaded: load stations first")
    snaps, _ = snap_points(graph, places.lon, places.lat)
    result = recommend(graph, stations, places, snaps, k=args.add, tier_s=args.tier * 60.0)
    total = result.total_weight
    print(f"hotspot weight reached within {args.tier} min: {result.covered_before / total:.1%} "
          f"now, {result.covered_after / total:.1%} with {len(result.nodes)} new posts "
          f"(verified afresh: {result.verified_after / total:.1%}); greedy, within (1 - 1/e) "
          f"of the best possible")
    for i, ((lon, lat), gain) in enumerate(zip(result.lonlat, result.gains), start=1):
        print(f"  post {i}: {lon:.6f},{lat:.6f} (WGS-84) covers {gain:g} more")
    return 0


def cmd_whatif(args: argparse.Namespace, settings: Settings) -> int:
    from patrol.analysis import hotspots, station_tiers
    from patrol.whatif import UNIT_ID_OFFSET, StationChange, unit_responders, what_if

    parse_category(args.category)
    crs = parse_coord_system(args.crs)
    added = [_parse_station(text, crs) for text in args.add]
    if args.from_file is not None:
        for feature in _read_points(args.from_file):
            lon, lat = feature["geometry"]["coordinates"][:2]
            tier = int((feature.get("properties") or {}).get("tier", 1))
            added.append(_parse_station(f"{lon},{lat},{tier}", crs))
    if (args.remove_unit or args.move_unit) and not args.with_units:
        raise UsageError("--remove-unit and --move-unit need --with-units")
    moved = [_parse_move(text, crs, "--move") for text in args.move]
    moved += [(UNIT_ID_OFFSET + uid, lon, lat) for uid, lon, lat in
              (_parse_move(text, crs, "--move-unit") for text in args.move_unit)]
    removed = set(args.remove) | {UNIT_ID_OFFSET + uid for uid in args.remove_unit}
    change = StationChange(tuple(added), frozenset(removed), tuple(moved))
    graph = _open(args, settings, _speed_model(args, settings))
    with _database(settings) as engine, engine.connect() as conn:
        tiers = station_tiers(conn)
        if args.with_units:
            tiers[1] = tiers[1] + unit_responders(
                conn, stale_after_s=settings.stale_position_s)
        places = hotspots(conn, category=args.category)
    result = what_if(graph, tiers=tiers, places=places, change=change)
    for category in result["before"]:
        old, new = result["before"][category], result["after"][category]
        print(f"{category}: " + ", ".join(f"{s // 60} min {old[s]:.1%} → {new[s]:.1%}"
                                          for s in old))
    print(f"gaps (beyond 5 minutes) closed: {len(result['gaps_closed'])}, opened: "
          f"{len(result['gaps_opened'])}")
    for gap in result["gaps_closed"][:20]:
        print(f"  closed: {gap['name']} ({gap['category']}) {gap['before_s']} s → "
              f"{gap['after_s']} s")
    return 0


def _parse_move(text: str, crs, flag: str) -> tuple[int, float, float]:
    """ID:LON,LAT → (id, WGS-84 lon, lat)."""
    ident, _, where = text.partition(":")
    try:
        lon, lat, _ = _parse_station(where, crs)
        return int(ident), lon, lat
    except (ValueError, UsageError):
        raise UsageError(f"{flag} must be ID:LON,LAT, got {text!r}") from None


def _parse_station(text: str, crs) -> tuple[float, float, int]:
    """LON,LAT[,TIER] in ``crs`` → WGS-84 lon, lat and the tier (1 unless given)."""
    parts = text.split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lon, lat = float(parts[0]), float(parts[1])
        tier = int(parts[2]) if len(parts) == 3 else 1
    except ValueError:
        raise UsageError(f"a station must be LON,LAT[,TIER], got {text!r}") from None
    x, y = to_wgs84(lon, lat, crs)
    return float(x), float(y), tier


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from zones.api_keys import create_api_key

    with _database(settings) as engine, engine.begin() as conn:
        key = create_api_key(conn, args.role, name=args.name)
    print(key)
    print(f"a {args.role} key; it is shown only now (the database keeps its hash). Send it as "
          f"the X-API-Key header.", file=sys.stderr)
    return 0


def cmd_fleet_create(args: argparse.Namespace, settings: Settings) -> int:
    from patrol.simulator import create_fleet

    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    graph = _open(args, settings, _speed_model(args, settings))
    with _database(settings) as engine:
        added = create_fleet(engine, graph, args.count)
    print(f"simulated fleet: {added} patrol cars added ({args.count - added} already there); "
          f"all marked simulated")
    return 0


def cmd_fleet_simulate(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from patrol.simulator import simulate

    graph = _open(args, settings, _speed_model(args, settings))
    try:
        simulate(args.api, args.key, graph, interval_s=args.interval, ticks=args.ticks)
    except httpx.HTTPStatusError as exc:
        raise UsageError(f"the API refused the fleet's report: {exc.response.status_code} "
                         f"{exc.response.text}") from None
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot reach the API at {args.api} ({exc})") from None
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    uvicorn.run("api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", access_log=args.access_log)
    return 0


def cmd_db_up(args: argparse.Namespace, settings: Settings) -> int:
    from zones.cluster import LocalCluster
    from zones.database import database_url
    from zones.migrate import upgrade

    if not settings.database_url:
        LocalCluster(settings.pg_dir).up()
    url = database_url(settings)
    upgrade(url)
    print(f"database ready at {url} (schema at the latest migration)")
    return 0


def cmd_db_down(args: argparse.Namespace, settings: Settings) -> int:
    from zones.cluster import LocalCluster

    if settings.database_url:
        print("DATABASE_URL names an external server; nothing to stop")
        return 0
    LocalCluster(settings.pg_dir).down()
    print(f"stopped the local database in {settings.pg_dir}")
    return 0


def _open(args: argparse.Namespace, settings: Settings, speeds: SpeedModel) -> RoadGraph:
    return open_graph(args.graph or settings.graph, speeds, settings.cache_dir)


def _speed_model(args: argparse.Namespace, settings: Settings) -> SpeedModel:
    return speed_model(args.speeds or settings.speed_config)


def _read_points(path: Path) -> list[dict]:
    """The point features of a GeoJSON file; other geometries are skipped with a warning."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a GeoJSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise UsageError(f"{path}: expected a GeoJSON FeatureCollection")
    points = [f for f in data.get("features", [])
              if isinstance(f, dict) and (f.get("geometry") or {}).get("type") == "Point"]
    skipped = len(data.get("features", [])) - len(points)
    if skipped:
        print(f"patrol: warning: {path}: skipped {skipped} features that are not points",
              file=sys.stderr)
    if not points:
        raise UsageError(f"{path}: holds no point features")
    return points


def _write_json(result: object, output: Path | None) -> None:
    text = json.dumps(result, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
