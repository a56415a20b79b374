"""What several commands share: the --graph/--speeds arguments and the road graph they open, the
point arguments, the database engine, point GeoJSON files in and JSON out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from patrol.errors import Invalid
from patrol.inputs import speed_model
from routing import SpeedModel, open_graph
from routing.compiled import RoadGraph
from settings import Settings


def network_arguments() -> argparse.ArgumentParser:
    """A parent parser with --graph and --speeds, for the commands that drive on the roads."""
    network = argparse.ArgumentParser(add_help=False)
    network.add_argument("--graph", type=Path, help="road network: source file or compiled "
                         ".graph.npz (default: the configured Wuhan network)")
    network.add_argument("--speeds", type=Path, help="TOML file overriding road class speeds")
    return network


def add_point_arguments(parser: argparse.ArgumentParser) -> None:
    """--at LON,LAT and --crs, the point a routing query starts from."""
    parser.add_argument("--at", required=True, metavar="LON,LAT",
                        help="the point, e.g. 114.2655,30.5853 (use --at=-0.1,51.5 for a "
                             "negative longitude)")
    parser.add_argument("--crs", default="wgs84", help="coordinate system of --at: wgs84, gcj02 "
                        "or bd09 (default wgs84)")


def speeds_of(args: argparse.Namespace, settings: Settings) -> SpeedModel:
    """The speed model of --speeds, else of the settings."""
    return speed_model(args.speeds or settings.speed_config)


def graph_of(args: argparse.Namespace, settings: Settings, *,
             speeds: SpeedModel | None = None) -> RoadGraph:
    """The road graph of --graph, else of the settings, compiled with ``speeds`` (default: the
    speed model of --speeds or the settings)."""
    return open_graph(args.graph or settings.graph, speeds or speeds_of(args, settings),
                      settings.cache_dir)


@contextmanager
def database(settings: Settings) -> Iterator[sa.Engine]:
    """An engine on the configured database, disposed (connections closed) afterwards."""
    from zones.database import database_url

    engine = sa.create_engine(database_url(settings))
    try:
        yield engine
    finally:
        engine.dispose()


def read_points(path: Path) -> list[dict]:
    """The point features of a GeoJSON file; other geometries are skipped with a warning."""
    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not JSON, or not UTF-8
        raise Invalid(f"{path}: not a GeoJSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise Invalid(f"{path}: expected a GeoJSON FeatureCollection")
    points = [f for f in data.get("features", [])
              if isinstance(f, dict) and (f.get("geometry") or {}).get("type") == "Point"]
    skipped = len(data.get("features", [])) - len(points)
    if skipped:
        warn(f"{path}: skipped {skipped} features that are not points")
    if not points:
        raise Invalid(f"{path}: holds no point features")
    return points


def write_json(result: object, *, output: Path | None = None) -> None:
    """``result`` as JSON to ``output``, or to standard output when it is None."""
    text = json.dumps(result, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)


def warn(message: str) -> None:
    """One warning line on standard error."""
    print(f"patrol: warning: {message}", file=sys.stderr)
