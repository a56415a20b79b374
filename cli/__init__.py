"""The ``patrol`` command line.

Commands call the same engine functions as the HTTP API. Bad input ends with one sentence on
stderr and exit code 2; nothing prints a traceback unless ``PATROL_DEBUG=1`` is set.
Each command group lives in its own module with a ``register(commands)`` function.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from cli import (compliance, coverage, db, fleet, graph, keys, load, maps, plans, queries, serve,
                 simulate, track)
from patrol.errors import DispatchError
from routing import RoutingError
from settings import Settings
from zones.cluster import ClusterError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the database could not be reached or started

#: The command groups in the order ``patrol --help`` lists them.
GROUPS = (graph, queries, track, load, maps, coverage, plans, compliance, keys, fleet, simulate,
          serve, db)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    logging.basicConfig(format="patrol: %(message)s", level=logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _fail(f"bad setting in the environment ({problems})", EXIT_BAD_INPUT)
    try:
        return args.handler(args, settings)
    except (RoutingError, DispatchError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except ClusterError as exc:
        return _fail(str(exc), EXIT_UNAVAILABLE)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return _fail(f"cannot reach the database ({reason})", EXIT_UNAVAILABLE)
    except OSError as exc:  # a file given cannot be read or written (a directory, no permission)
        if exc.filename is None:
            return _internal(exc)
        why = "not a folder" if isinstance(exc, FileExistsError) else exc.strerror or exc
        return _fail(f"{exc.filename}: {why}", EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one sentence, not a traceback
        return _internal(exc)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``handler(args, settings) -> exit code``."""
    parser = argparse.ArgumentParser(prog="patrol", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def _internal(exc: Exception) -> int:
    """One sentence naming an unexpected error (the traceback with ``PATROL_DEBUG=1``)."""
    if os.environ.get("PATROL_DEBUG") == "1":
        raise exc
    print(f"patrol: internal error ({type(exc).__name__}: {exc}); "
          f"set PATROL_DEBUG=1 for the traceback", file=sys.stderr)
    return EXIT_INTERNAL


def _fail(message: str, code: int) -> int:
    print(f"patrol: error: {message}", file=sys.stderr)
    return code
