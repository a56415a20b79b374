"""``patrol db``: the embedded local PostGIS cluster, or the server of DATABASE_URL."""

from __future__ import annotations

import argparse

from settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``db up`` and ``db down``."""
    db = commands.add_parser("db", help="the database: the embedded local cluster or DATABASE_URL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("up", help="start the embedded cluster (unless DATABASE_URL is set) "
                           "and migrate to the latest schema").set_defaults(handler=cmd_db_up)
    db_commands.add_parser("down", help="stop the embedded cluster").set_defaults(
        handler=cmd_db_down)


def cmd_db_up(args: argparse.Namespace, settings: Settings) -> int:
    """Start the local cluster unless DATABASE_URL is set, then migrate to the latest schema."""
    import sqlalchemy as sa

    from zones.cluster import LocalCluster
    from zones.database import database_url
    from zones.migrate import upgrade

    if not settings.database_url:
        LocalCluster(settings.pg_dir).up()
    url = database_url(settings)
    upgrade(url)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    print(f"database ready at {shown} (schema at the latest migration)")
    return 0


def cmd_db_down(args: argparse.Namespace, settings: Settings) -> int:
    """Stop the local cluster (an external server is left alone)."""
    from zones.cluster import LocalCluster

    if settings.database_url:
        print("DATABASE_URL names an external server; nothing to stop")
        return 0
    LocalCluster(settings.pg_dir).down()
    print(f"stopped the local database in {settings.pg_dir}")
    return 0
