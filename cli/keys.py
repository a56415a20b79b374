"""``patrol keys``: API keys."""

from __future__ import annotations

import argparse
import sys

from cli.common import database
from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``keys create``."""
    keys = commands.add_parser("keys", help="API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create_key = keys_commands.add_parser("create", help="make a new API key and print it once")
    create_key.add_argument("--role", required=True, choices=("dispatcher", "planner", "admin"))
    create_key.add_argument("--name", help="who or what the key is for")
    create_key.set_defaults(handler=cmd_keys_create)


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """A new key on standard output; only its hash is stored."""
    from zones.api_keys import create_api_key

    with database(settings) as engine, engine.begin() as conn:
        key = create_api_key(conn, args.role, name=args.name)
    print(key)
    print(f"a {args.role} key; it is shown only now (the database keeps its hash). Send it as "
          f"the X-API-Key header.", file=sys.stderr)
    return 0
