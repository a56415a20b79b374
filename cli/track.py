"""GPS tracks: ``patrol track match`` (clean a fixes CSV and match it to the roads, offline) and
``patrol track show`` (a stored track's replay map)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from cli.common import database, graph_of, network_arguments, write_json
from maps.track_replay import track_map
from patrol.errors import Invalid
from patrol.inputs import tile_layer
from patrol.track_cleaning import MAX_SPEED_KPH
from patrol.track_replay import track_replay
from patrol.tracks import match_fixes, read_fixes_csv, track_geojson
from routing import parse_coord_system
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``track match`` and ``track show``."""
    track = commands.add_parser("track", help="GPS tracks")
    track_commands = track.add_subparsers(dest="track_command", required=True)
    match = track_commands.add_parser(
        "match", parents=[network_arguments()],
        help="clean a CSV of fixes (time, lon, lat) and match it to the road network")
    match.add_argument("--fixes", type=Path, required=True,
                       help="CSV with the columns time (ISO 8601), lon and lat")
    match.add_argument("--crs", default="wgs84",
                       help="coordinate system of the fixes: wgs84, gcj02 or bd09 (default wgs84)")
    match.add_argument("--max-speed", type=float, default=MAX_SPEED_KPH,
                       help=f"fixes reached faster than this (km/h) are jumps, left out of "
                            f"matching (default {MAX_SPEED_KPH:.0f})")
    match.add_argument("-o", "--output", type=Path,
                       help="GeoJSON file: the matched path and every fix (default: stdout)")
    match.set_defaults(handler=cmd_track_match)
    show = track_commands.add_parser(
        "show", parents=[network_arguments()],
        help="a unit's stored track as a map with a time slider (HTML)")
    show.add_argument("unit", type=int, help="unit id")
    show.add_argument("--from", dest="start", type=_moment, required=True,
                      help="first time (ISO 8601 with its zone, e.g. 2026-11-21T08:00+08:00)")
    show.add_argument("--to", dest="end", type=_moment, required=True,
                      help="end time (excluded), at most 24 hours after --from")
    show.add_argument("-o", "--output", type=Path, required=True, help="HTML file")
    show.add_argument("--tiles", default="OpenStreetMap", help="tile layer: OpenStreetMap, "
                      "a URL template, or none")
    show.add_argument("--attribution", help="attribution of a custom tile layer")
    show.set_defaults(handler=cmd_track_show)


def cmd_track_match(args: argparse.Namespace, settings: Settings) -> int:
    """The matched path (LineStrings with per-vertex times) and each fix's road position."""
    crs = parse_coord_system(args.crs)
    times, lon, lat = read_fixes_csv(args.fixes)
    if not args.max_speed > 0:
        raise Invalid(f"--max-speed must be a positive number of km/h, got {args.max_speed}")
    graph = graph_of(args, settings)
    matched = match_fixes(graph, times, lon, lat, crs=crs, max_speed_kph=args.max_speed)
    counts = ", ".join(f"{n} {status}" for status, n in matched.track.counts().items() if n)
    pieces = [p for p in matched.match.pieces if len(p.lonlat) >= 2]
    print(f"{len(times)} fixes ({counts}); {int(matched.match.matched.sum())} matched in "
          f"{len(pieces)} piece(s), {sum(p.length_m for p in pieces) / 1000:.2f} km of road",
          file=sys.stderr)
    write_json(track_geojson(graph, matched), output=args.output)
    return 0


def cmd_track_show(args: argparse.Namespace, settings: Settings) -> int:
    """The replay map of a unit's stored track (as ``GET /units/{id}/track`` returns it)."""
    graph = graph_of(args, settings)
    with database(settings) as engine:
        replay = track_replay(engine, graph, args.unit, start=args.start, end=args.end)
    fmap = track_map(replay, tiles=tile_layer(args.tiles), attribution=args.attribution)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(args.output))
    kinds = [f["properties"] for f in replay["features"]]
    fixes = [k for k in kinds if k["kind"] == "fix"]
    print(f"wrote {args.output}: {len(fixes)} fixes ({sum(k['jump'] for k in fixes)} jumps), "
          f"{sum(k['kind'] == 'path' for k in kinds)} matched piece(s)")
    return 0


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-11-21T08:00+08:00)") from None
