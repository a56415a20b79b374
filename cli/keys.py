"""``patrol keys``: API keys (create, list, revoke)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone

from cli.common import database
from patrol.errors import Invalid, NotFound
from settings import Settings

ROLES = ("dispatcher", "planner", "admin", "unit")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``keys create``, ``keys list`` and ``keys revoke``."""
    keys = commands.add_parser("keys", help="API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create_key = keys_commands.add_parser("create", help="make a new API key and print it once")
    create_key.add_argument("--role", required=True, choices=ROLES,
                            help="unit: an in-car terminal, reporting only its unit's position "
                            "and status")
    create_key.add_argument("--unit", type=int, help="the unit a unit key reports for")
    create_key.add_argument("--name", help="who or what the key is for")
    create_key.add_argument("--expires-in-days", type=float,
                            help="the key stops working after this many days (default: never)")
    create_key.set_defaults(handler=cmd_keys_create)
    keys_commands.add_parser("list", help="every key: id, role, name, unit, dates (never the "
                             "key)").set_defaults(handler=cmd_keys_list)
    revoke = keys_commands.add_parser("revoke", help="stop a key from working")
    revoke.add_argument("key_id", type=int, help="the key's id (patrol keys list)")
    revoke.set_defaults(handler=cmd_keys_revoke)


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """A new key on standard output; only its hash is stored."""
    import sqlalchemy as sa

    from zones.api_keys import create_api_key

    if (args.role == "unit") != (args.unit is not None):
        raise Invalid("--unit is needed for a unit key, and only for one")
    if args.expires_in_days is not None and not args.expires_in_days > 0:
        raise Invalid(f"--expires-in-days must be positive, got {args.expires_in_days}")
    expires = (None if args.expires_in_days is None else
               datetime.now(timezone.utc) + timedelta(days=args.expires_in_days))
    try:
        with database(settings) as engine, engine.begin() as conn:
            key = create_api_key(conn, args.role, name=args.name, unit_id=args.unit,
                                 expires_at=expires)
    except sa.exc.IntegrityError:
        raise NotFound(f"no unit {args.unit}") from None
    print(key)
    until = f"valid until {expires:%Y-%m-%d %H:%M} UTC" if expires else "valid until revoked"
    print(f"a {args.role} key, {until}; it is shown only now (the database keeps its hash). "
          f"Send it as the X-API-Key header.", file=sys.stderr)
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    """One line per key, tab-separated, with a header."""
    from zones.api_keys import list_api_keys

    with database(settings) as engine, engine.connect() as conn:
        rows = list_api_keys(conn)
    columns = ("id", "role", "name", "unit_id", "created_at", "expires_at", "revoked_at")
    print("\t".join(columns))
    for row in rows:
        print("\t".join(_cell(row[c]) for c in columns))
    return 0


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a key by id."""
    from zones.api_keys import revoke_api_key

    with database(settings) as engine, engine.begin() as conn:
        revoked = revoke_api_key(conn, args.key_id)
    if revoked is None:
        raise NotFound(f"no API key {args.key_id} (patrol keys list shows them)")
    print(f"key {args.key_id} revoked ({revoked:%Y-%m-%d %H:%M %Z}); a running API stops "
          f"accepting it within 30 s")
    return 0
