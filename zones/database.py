"""Which database the product talks to (``DATABASE_URL``, else the embedded local cluster), and
the API's pools of connections to it."""

from __future__ import annotations

import select
import time

import psycopg
import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool

from settings import Settings
from zones.cluster import LocalCluster

#: A pooled connection unused for longer than this (seconds) is pinged before it is lent out.
PING_AFTER_IDLE_S = 10.0


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the configured database (the embedded cluster must be up)."""
    if settings.database_url:
        return _with_psycopg(settings.database_url)
    return LocalCluster(settings.pg_dir).url()


def _with_psycopg(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def service_engine(settings: Settings) -> sa.Engine:
    """The API's pool for what runs on the thread pool (all but alarms and positions). A
    connection is checked before it is lent out (see :func:`_check_on_checkout`), so a database
    that restarted costs no failed request."""
    engine = sa.create_engine(database_url(settings), pool_size=5, max_overflow=15,
                              pool_timeout=5, connect_args={"connect_timeout": 3})
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _check_on_checkout)
    return engine


def loop_pool(settings: Settings) -> AsyncConnectionPool:
    """The API's pool for what runs on the event loop, alarms and unit positions: psycopg's
    async connections, no thread hand-over per request. In autocommit mode: each of these
    statements is a transaction of its own (``zones.records``). Opened by the caller (``await
    pool.open()``); a connection is checked as :func:`service_engine`'s are; a caller waits at
    most ``timeout`` seconds for one (the database being down: ``PoolTimeout``)."""
    url = sa.make_url(database_url(settings)).set(drivername="postgresql")
    return AsyncConnectionPool(url.render_as_string(hide_password=False), open=False,
                               min_size=4, max_size=20, timeout=3, check=_check_loop_connection,
                               kwargs={"autocommit": True, "connect_timeout": 3})


async def _check_loop_connection(connection: psycopg.AsyncConnection) -> None:
    """As :func:`_check_on_checkout`: ping only a connection the server has written to."""
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    if readable:
        await connection.execute("SELECT 1")


def _note_checkin(dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_on_checkout(dbapi_connection, record, proxy) -> None:
    """Ping a pooled connection only when it may be dead: the server has written to it while
    it sat idle (a server shutting down or a backend ending says so and closes the socket), or
    it sat idle for longer than :data:`PING_AFTER_IDLE_S`. The usual checkout costs no round trip,
    unlike SQLAlchemy's ``pool_pre_ping``, which pings on every checkout. A failed ping makes
    the pool replace the connection."""
    idle_s = time.monotonic() - record.info.get("idle_since", 0.0)
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if not readable and idle_s <= PING_AFTER_IDLE_S:
            return
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # psycopg.Error, or the driver refusing a broken connection
        raise sa.exc.DisconnectionError(f"stale pooled connection: {error}") from error
