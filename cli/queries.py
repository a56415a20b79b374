"""Routing queries from a point: ``patrol circles`` and ``patrol nearest``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cli.common import (add_point_arguments, graph_of, network_arguments, read_points,
                        speeds_of, warn, write_json)
from patrol.circles import CircleOptions, circles_around
from patrol.errors import Invalid
from patrol.inputs import parse_lonlat, parse_minutes, parse_time_of_day
from routing import Direction, Weights, parse_coord_system, rank_to, snap_point, snap_points
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``circles`` and ``nearest``."""
    network = network_arguments()
    circles = commands.add_parser("circles", parents=[network],
                                  help="1/3/5-minute response circles around a point")
    add_point_arguments(circles)
    circles.add_argument("--minutes", default="1,3,5", help="ring times, e.g. 1,3,5")
    circles.add_argument("--arrive", action="store_true",
                         help="from where the point is reached (a hotspot's circle) instead of "
                              "where a unit at the point can get")
    circles.add_argument("--at-time", help="time of day HH:MM for congestion periods")
    circles.add_argument("-o", "--output", type=Path, help="GeoJSON file (default: stdout)")
    circles.set_defaults(handler=cmd_circles)

    nearest = commands.add_parser("nearest", parents=[network],
                                  help="rank the points of a GeoJSON file by drive time to a point")
    add_point_arguments(nearest)
    nearest.add_argument("--from", dest="points", type=Path, required=True,
                         help="GeoJSON FeatureCollection of points")
    nearest.add_argument("--from-crs", default="wgs84",
                         help="coordinate system of the points file: wgs84, gcj02 or bd09")
    nearest.add_argument("-k", type=int, default=3, help="how many to list (default 3)")
    nearest.set_defaults(handler=cmd_nearest)


def cmd_circles(args: argparse.Namespace, settings: Settings) -> int:
    """The rings around --at as GeoJSON (the same as ``GET /circles``)."""
    minutes = parse_minutes(args.minutes, name="--minutes")
    crs = parse_coord_system(args.crs)
    lon, lat = parse_lonlat(args.at, name="--at")
    speeds = speeds_of(args, settings)
    graph = graph_of(args, settings, speeds=speeds)
    weights = Weights.at(graph, speeds, parse_time_of_day(args.at_time, name="--at-time"))
    result = circles_around(graph, lon, lat, minutes=minutes, crs=crs, weights=weights,
                            direction=Direction.ARRIVE if args.arrive else Direction.DEPART,
                            options=CircleOptions.of(settings))
    write_json(result, output=args.output)
    return 0


def cmd_nearest(args: argparse.Namespace, settings: Settings) -> int:
    """The -k points of the --from file that reach --at soonest, as JSON."""
    if args.k < 1:
        raise Invalid(f"-k must be at least 1, got {args.k}")
    crs = parse_coord_system(args.crs)
    lon, lat = parse_lonlat(args.at, name="--at")
    features = read_points(args.points)
    graph = graph_of(args, settings)
    target = snap_point(graph, lon, lat, crs=crs, limit_m=settings.snap_limit_m)
    xs = np.array([f["geometry"]["coordinates"][0] for f in features], dtype=float)
    ys = np.array([f["geometry"]["coordinates"][1] for f in features], dtype=float)
    snaps, _ = snap_points(graph, xs, ys, crs=parse_coord_system(args.from_crs),
                           limit_m=settings.snap_limit_m)
    on_network = [i for i, s in enumerate(snaps) if s is not None]
    if len(on_network) < len(snaps):
        warn(f"{len(snaps) - len(on_network)} of {len(snaps)} points lie more than "
             f"{settings.snap_limit_m:.0f} m from a road and were not ranked")
    ranked = rank_to(graph, target, [snaps[i] for i in on_network], k=args.k)
    write_json([{"rank": r + 1, "properties": features[on_network[item.index]].get("properties"),
                 "seconds": round(item.seconds, 2), "metres": round(item.metres, 1)}
                for r, item in enumerate(ranked)])
    return 0
