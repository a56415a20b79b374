"""``patrol coverage``: the city's coverage report, and where new posts (``recommend``) or
changed stations (``whatif``) would close its gaps."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.common import database, graph_of, network_arguments, read_points, speeds_of
from patrol.circles import CircleOptions
from patrol.coverage import CoverageMaps
from patrol.errors import Invalid
from patrol.inputs import parse_category, parse_move, parse_station, tile_layer
from patrol.whatif import UNIT_ID_OFFSET, StationChange
from routing import CoordSystem, SpeedModel, parse_coord_system, snap_points
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``coverage`` and its subcommands ``recommend`` and ``whatif``."""
    network = network_arguments()
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
    _register_whatif(analysis_commands, network)


def _register_whatif(analysis_commands: argparse._SubParsersAction,
                     network: argparse.ArgumentParser) -> None:
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


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:
    """The report folder: CSV, GeoJSON, summary.json, report.html and the coverage map."""
    from patrol.coverage_run import coverage_steps, run_coverage

    if args.output is None:
        raise Invalid("patrol coverage needs -o FOLDER for its files (or the subcommand "
                      "recommend)")
    category = parse_category(args.category)
    speeds = speeds_of(args, settings)
    graph = graph_of(args, settings, speeds=speeds)
    with database(settings) as engine, _dask(args, settings, speeds) as times_for:
        maps = None if args.no_map else CoverageMaps(
            engine, graph, options=CircleOptions.of(settings),
            tiles=tile_layer(settings.map_tiles), attribution=settings.map_attribution)
        progress = _progress_bar(coverage_steps(with_map=maps is not None))
        summary = run_coverage(engine, graph, args.output, maps=maps, category=category,
                               progress=progress, times_for=times_for,
                               snap_limit_m=settings.snap_limit_m)
    counts = summary["hotspot_counts_by_category"]
    for name, share in summary["hotspot_share_by_category"].items():
        print(f"{name}: " + ", ".join(f"{s // 60} min {v:.0%}" for s, v in share.items())
              + f" (of {counts[name]['on_network']:,} on the road network)")
    print(f"{len(summary['hotspot_gaps_beyond_300s'])} hotspots beyond 5 minutes, "
          f"{len(summary['grid_cell_gaps_beyond_180s'])} grid cells beyond 3 minutes; "
          f"{summary['hotspots_outside_network']} hotspots outside the road network, not counted"
          f"{_also_outside(summary)}; files and report.html in {args.output}")
    return 0


def _also_outside(summary: dict) -> str:
    """" (3 grid cells and 2 stations outside it too)": what else lies outside the network."""
    parts = [f"{summary[key]} {what}" for key, what in (
        ("grid_cells_outside_network", "grid cells"), ("stations_outside_network", "stations"))
        if summary[key]]
    return f" ({' and '.join(parts)} outside it too)" if parts else ""


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
                           dashboard_address=":0") if args.scheduler == "local" else None
    try:
        # A remote scheduler answers at once or not at all; local workers may take a while.
        client = Client(cluster if cluster is not None else args.scheduler,
                        timeout=60 if cluster is not None else 10)
    except OSError as exc:
        raise Invalid(f"cannot reach the Dask scheduler at {args.scheduler} ({exc})") from None
    try:
        yield lambda tiers, places: dask_times(client, graph_file, tiers, places,
                                               args.partitions)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    """The --add posts that would bring the most hotspot weight within --tier minutes."""
    from patrol.analysis import hotspots
    from patrol.siting import recommend
    from zones.lookups import station_points

    category = parse_category(args.category)
    graph = graph_of(args, settings)
    with database(settings) as engine, engine.connect() as conn:
        stations = station_points(conn)
        places = hotspots(conn, category=category)
    if not stations:
        raise Invalid("no stations are loaded: load stations first")
    snaps, _ = snap_points(graph, places.lon, places.lat, limit_m=settings.snap_limit_m)
    result = recommend(graph, stations, places, snaps, k=args.add, tier_s=args.tier * 60.0,
                       snap_limit_m=settings.snap_limit_m)
    total = result.total_weight
    if not total:
        raise Invalid("no hotspot lies on the road network: nothing to cover")
    print(f"hotspot weight reached within {args.tier} min: {result.covered_before / total:.1%} "
          f"now, {result.covered_after / total:.1%} with {len(result.nodes)} new posts "
          f"(verified afresh: {result.verified_after / total:.1%}); greedy, within (1 - 1/e) "
          f"of the best possible; {result.outside} hotspots outside the road network, not "
          f"counted")
    for i, ((lon, lat), gain) in enumerate(zip(result.lonlat, result.gains), start=1):
        print(f"  post {i}: {lon:.6f},{lat:.6f} (WGS-84) covers {gain:g} more")
    return 0


def cmd_whatif(args: argparse.Namespace, settings: Settings) -> int:
    """Hotspot coverage before and after adding, removing and moving stations (and units)."""
    from patrol.analysis import hotspots, station_tiers
    from patrol.whatif import unit_responders, what_if

    category = parse_category(args.category)
    if (args.remove_unit or args.move_unit) and not args.with_units:
        raise Invalid("--remove-unit and --move-unit need --with-units")
    change = _station_change(args, parse_coord_system(args.crs))
    graph = graph_of(args, settings)
    with database(settings) as engine, engine.connect() as conn:
        tiers = station_tiers(conn)
        if args.with_units:
            tiers[1] = tiers[1] + unit_responders(
                conn, stale_after_s=settings.stale_position_s)
        places = hotspots(conn, category=category)
    result = what_if(graph, tiers=tiers, places=places, change=change,
                     snap_limit_m=settings.snap_limit_m)
    for name in result["before"]:
        old, new = result["before"][name], result["after"][name]
        print(f"{name}: " + ", ".join(f"{s // 60} min {old[s]:.1%} → {new[s]:.1%}" for s in old))
    print(f"gaps (beyond 5 minutes) closed: {len(result['gaps_closed'])}, opened: "
          f"{len(result['gaps_opened'])}; {result['outside_network']} hotspots outside the road "
          f"network, not counted")
    for gap in result["gaps_closed"][:20]:
        print(f"  closed: {gap['name']} ({gap['category']}) {gap['before_s']} s → "
              f"{gap['after_s']} s")
    return 0


def _station_change(args: argparse.Namespace, crs: CoordSystem) -> StationChange:
    """The edits of the command line; units get ids from ``UNIT_ID_OFFSET`` on."""
    moved = [parse_move(text, crs=crs, name="--move") for text in args.move]
    for text in args.move_unit:
        uid, lon, lat = parse_move(text, crs=crs, name="--move-unit")
        moved.append((UNIT_ID_OFFSET + uid, lon, lat))
    removed = set(args.remove) | {UNIT_ID_OFFSET + uid for uid in args.remove_unit}
    return StationChange(tuple(_added_stations(args, crs)), frozenset(removed), tuple(moved))


def _added_stations(args: argparse.Namespace, crs: CoordSystem
                    ) -> list[tuple[float, float, int]]:
    """The stations of --add and of --from-file (coordinates in ``crs``), in WGS-84 with their
    tiers."""
    added = [parse_station(text, crs=crs, name="--add") for text in args.add]
    if args.from_file is not None:
        for feature in read_points(args.from_file):
            lon, lat = feature["geometry"]["coordinates"][:2]
            tier = (feature.get("properties") or {}).get("tier", 1)
            added.append(parse_station(f"{lon},{lat},{tier}", crs=crs,
                                       name=f"{args.from_file}: a station"))
    return added

