"""Which database the product talks to (``DATABASE_URL``, else the embedded local cluster), and
the API's pools of connections to it."""

from __future__ import annotations

import asyncio
import contextlib
import select
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from settings import Settings
from zones.cluster import SERVICE_ROLE, LocalCluster

#: A pooled connection unused for longer than this (seconds) is pinged before it is lent out.
PING_AFTER_IDLE_S = 10.0
#: Give up connecting after this many seconds.
CONNECT_TIMEOUT_S = 3
#: Connections of the service's pool (all but alarms, positions and key lookups), kept open:
#: a connection opened under load costs its request some 50 ms (a new server process, and
#: PostGIS loaded into it), so the pool never opens one for a single request and closes it
#: after (no overflow).
SERVICE_CONNECTIONS = 20
#: Seconds a request waits for a free connection of the service's pool, and of a loop pool,
#: before it is answered that the service is overloaded.
SERVICE_POOL_TIMEOUT_S = 5.0
LOOP_POOL_TIMEOUT_S = 3.0
#: Run on every new connection, before it is lent out: loads PostGIS into the server process
#: (some 50 ms, otherwise paid by the first request that touches a geometry on it; a database
#: without PostGIS is left to say so to that request).
WARM_UP_SQL = "SELECT NULL::geometry"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the configured database (the embedded cluster must be up)."""
    if settings.database_url:
        return _with_psycopg(settings.database_url)
    return LocalCluster(settings.pg_dir).url()


def service_database_url(settings: Settings) -> str:
    """Where the API connects: ``settings.service_database_url``, else the configured
    database as the role :data:`SERVICE_ROLE` (no password: the embedded cluster trusts local
    connections)."""
    if settings.service_database_url:
        return _with_psycopg(settings.service_database_url)
    return service_role_url(database_url(settings))


def service_role_url(url: str) -> str:
    """``url`` with the user :data:`SERVICE_ROLE` and no password."""
    service = sa.make_url(url).set(username=SERVICE_ROLE, password=None)
    return service.render_as_string(hide_password=False)


def _with_psycopg(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def service_engine(settings: Settings) -> sa.Engine:
    """The API's pool for what runs on the thread pool (all but alarms and positions): at most
    :data:`SERVICE_CONNECTIONS`, opened when first needed and kept, each warmed up when opened.
    A connection is checked before it is lent out (see :func:`_check_on_checkout`), so a
    database that restarted costs no failed request."""
    engine = sa.create_engine(service_database_url(settings), pool_size=SERVICE_CONNECTIONS,
                              max_overflow=0, pool_timeout=SERVICE_POOL_TIMEOUT_S,
                              connect_args=session_options(settings, name="patrol service"))
    sa.event.listen(engine, "connect", _warm_up)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _check_on_checkout)
    return engine


def ping(engine: sa.Engine) -> None:
    """Ask the database for one trivial answer; raises SQLAlchemy's error when it does not
    answer."""
    with engine.connect() as conn:
        conn.execute(sa.select(sa.literal(1)))


def session_options(settings: Settings, *, name: str) -> dict:
    """psycopg's connection options for the API's pools: give up connecting after
    :data:`CONNECT_TIMEOUT_S`, cancel a statement after ``settings.statement_timeout_s`` and a
    wait for a lock after ``settings.lock_timeout_s``, and show ``name`` in
    ``pg_stat_activity``."""
    limits = (f"-c statement_timeout={round(settings.statement_timeout_s * 1000)} "
              f"-c lock_timeout={round(settings.lock_timeout_s * 1000)}")
    return {"connect_timeout": CONNECT_TIMEOUT_S, "options": limits, "application_name": name}


def loop_pool(settings: Settings, *, name: str = "patrol alarms", size: int = 20) -> LoopPool:
    """A pool of at most ``size`` connections for what runs on the event loop: alarms and unit
    positions, and, in a small one of their own, API key lookups (see :class:`LoopPool`)."""
    url = sa.make_url(service_database_url(settings)).set(drivername="postgresql")
    return LoopPool(url.render_as_string(hide_password=False), size=size,
                    options={"autocommit": True, **session_options(settings, name=name)})


class LoopPool:
    """psycopg's async connections, no thread hand-over per request, in autocommit mode: each
    statement is a transaction of its own (``zones.alarm_store``).

    It answers for a database that restarted or went away, which psycopg's pool alone answers
    slowly: it checks its idle connections one by one with growing pauses between them, and
    after failed attempts it reconnects only after a growing delay (1, 2, 4... seconds), so a
    database back after a minute's outage would stay unused for another minute. Here, the
    first connection found dead (or no connection within ``timeout_s`` while none is lent
    out and none came back working lately: a busy pool is not a dead one) makes one
    direct connection attempt. If it fails, the database counts as down: callers get
    ``psycopg.OperationalError``, each after an attempt of its own or of one made while it
    waited (one at a time). If it succeeds, a fresh pool replaces the stale one."""

    def __init__(self, conninfo: str, *, size: int = 20, timeout_s: float = LOOP_POOL_TIMEOUT_S,
                 options: dict | None = None):
        self._conninfo = conninfo
        self._options = options or {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}
        self._size = size
        self._timeout_s = timeout_s
        self._pool = self._new_pool()
        self._lent = 0
        self._working_at = -timeout_s   # when a working connection last came back (monotonic s)
        self._suspect = False           # the pool's connections are known to be dead
        self._failed_attempts = 0
        self._replacing = asyncio.Lock()
        self._closing: set[asyncio.Task] = set()

    def _new_pool(self) -> AsyncConnectionPool:
        return AsyncConnectionPool(self._conninfo, open=False, min_size=min(4, self._size),
                                   max_size=self._size,
                                   timeout=self._timeout_s, kwargs=self._options,
                                   configure=_warm_up_async)

    async def open(self) -> None:
        """Start connecting in the background; callers may ask for connections at once."""
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()
        await asyncio.gather(*self._closing)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A working connection, returned to its pool afterwards (a broken one is replaced)."""
        pool, conn = await self._lend()
        self._lent += 1
        try:
            yield conn
        finally:
            self._lent -= 1
            if not conn.broken:
                self._working_at = time.monotonic()
            await pool.putconn(conn)

    async def _lend(self) -> tuple[AsyncConnectionPool, psycopg.AsyncConnection]:
        pool = self._pool
        if not self._suspect:
            conn = await self._take(pool)
            if conn is not None:
                return pool, conn
        await self._replace(pool)
        return self._pool, await self._pool.getconn()

    async def _take(self, pool: AsyncConnectionPool) -> psycopg.AsyncConnection | None:
        """A live connection from ``pool``; None when the pool looks dead: the connection it
        lent was dead, or it had none within the timeout while none was lent out and none came
        back working during the wait or the timeout before it. (On a saturated event loop a connection handed to a waiter is
        in nobody's hands until that waiter runs, so none may be lent out at that instant.)"""
        asked = time.monotonic()
        try:
            conn = await pool.getconn()
        except PoolTimeout:
            if self._lent or self._working_at > asked - self._timeout_s:
                raise                   # busy rather than dead: nothing to replace
            return None
        if await _is_alive(conn):
            return conn
        await pool.putconn(conn)        # closed: the pool lets it go
        return None

    async def _replace(self, stale: AsyncConnectionPool) -> None:
        """One direct connection attempt; on success a fresh pool replaces ``stale`` (unless
        another caller has done so already), on failure ``psycopg.OperationalError``."""
        failed_before = self._failed_attempts
        async with self._replacing:
            if self._pool is not stale:
                return
            if self._failed_attempts != failed_before:
                raise psycopg.OperationalError("the database did not answer a moment ago")
            try:
                probe = await psycopg.AsyncConnection.connect(self._conninfo, **self._options)
            except psycopg.OperationalError:
                self._suspect = True
                self._failed_attempts += 1
                raise
            await probe.close()
            self._pool, self._suspect = self._new_pool(), False
            await self._pool.open(wait=False)
            task = asyncio.create_task(stale.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _warm_up(dbapi_connection, record) -> None:
    with contextlib.suppress(psycopg.errors.UndefinedObject), dbapi_connection.cursor() as cursor:
        cursor.execute(WARM_UP_SQL)
    dbapi_connection.rollback()


async def _warm_up_async(connection: psycopg.AsyncConnection) -> None:
    with contextlib.suppress(psycopg.errors.UndefinedObject):
        await connection.execute(WARM_UP_SQL)


async def _is_alive(connection: psycopg.AsyncConnection) -> bool:
    """As :func:`_check_on_checkout`: ping only a connection the server has written to."""
    if not _server_has_written(connection.fileno()):
        return True
    try:
        await connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _server_has_written(fd: int) -> bool:
    """Whether the socket ``fd`` has something to read (or was closed), without waiting.
    ``poll`` rather than ``select``: a server may hold more than 1024 descriptors."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _note_checkin(dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_on_checkout(dbapi_connection, record, proxy) -> None:
    """Ping a pooled connection only when it may be dead: the server has written to it while
    it sat idle (a server shutting down or a backend ending says so and closes the socket), or
    it sat idle for longer than :data:`PING_AFTER_IDLE_S`. The usual checkout costs no round trip,
    unlike SQLAlchemy's ``pool_pre_ping``, which pings on every checkout. A failed ping makes
    the pool replace all its connections."""
    idle_s = time.monotonic() - record.info.get("idle_since", 0.0)
    try:
        if not _server_has_written(dbapi_connection.fileno()) and idle_s <= PING_AFTER_IDLE_S:
            return
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:  # psycopg.Error, or the driver refusing a broken connection
        # A server that restarted has closed every pooled connection: replace them all.
        raise sa.exc.InvalidatePoolError(f"stale pooled connection: {error}") from error
