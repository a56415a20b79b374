"""The event loop's pool (``zones.database.LoopPool``) on a real PostgreSQL: connections the
server ended are all replaced before one is lent, and a busy pool is not taken for a dead one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from zones.database import LoopPool


def plain(url: str) -> str:
    return url.replace("+psycopg", "")


@asynccontextmanager
async def opened(pool: LoopPool) -> AsyncIterator[LoopPool]:
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


async def backend_pid(pool: LoopPool) -> int:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
        return conn.info.backend_pid


async def hold(pool: LoopPool, stack: AsyncExitStack, n: int) -> set[int]:
    """Borrow ``n`` connections at once (kept until ``stack`` closes); their backends' pids."""
    conns = [await stack.enter_async_context(pool.connection()) for _ in range(n)]
    return {conn.info.backend_pid for conn in conns}


def test_connections_the_server_ended_are_replaced_at_once(fresh_database):
    """All the pool's idle connections (four or more) ended by the server, as by a restart:
    the next caller gets a new, working one at once; psycopg's pool alone checked the dead ones one by one with
    growing pauses and gave up after its 3 s."""
    url = plain(fresh_database())

    async def run() -> tuple[set[int], int]:
        async with opened(LoopPool(url)) as pool:
            async with AsyncExitStack() as stack:
                held = await hold(pool, stack, 4)
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
                cursor = await admin.execute(
                    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                ended = {pid for pid, _ in await cursor.fetchall()}
            assert held <= ended
            await asyncio.sleep(0.2)            # the servers' goodbyes reach the sockets
            return ended, await backend_pid(pool)

    ended, pid = asyncio.run(run())
    assert pid not in ended


def test_a_busy_pool_is_not_taken_for_a_dead_one(fresh_database):
    """All 20 connections lent out: the 21st caller waits and is refused (``PoolTimeout``),
    rather than a second pool being opened beside the busy one; the same backends serve
    afterwards."""
    url = plain(fresh_database())

    async def run() -> tuple[set[int], int]:
        async with opened(LoopPool(url, timeout_s=0.5)) as pool:
            async with AsyncExitStack() as stack:
                busy = await hold(pool, stack, 20)
                with pytest.raises(PoolTimeout):
                    await backend_pid(pool)
            return busy, await backend_pid(pool)

    busy, pid = asyncio.run(run())
    assert len(busy) == 20 and pid in busy


def test_connections_in_transit_are_not_taken_for_a_dead_database(fresh_database):
    """On a saturated event loop a returned connection is handed to a waiter that runs only
    later, so a caller may time out while no connection is lent out at all. A connection came
    back working within the timeout: the caller is refused as by a busy pool (``PoolTimeout``,
    answered as overloaded), and no direct connection attempt replaces the pool (under load that
    attempt can take longer than the connect timeout, and its failure was answered as
    "database unavailable")."""
    url = plain(fresh_database())

    async def run() -> None:
        async with opened(LoopPool(url, size=1, timeout_s=0.5)) as pool:
            inner = pool._pool
            first = await backend_pid(pool)
            in_transit = await inner.getconn()  # handed out, but to no caller yet
            try:
                with pytest.raises(PoolTimeout):
                    await backend_pid(pool)
            finally:
                await inner.putconn(in_transit)
            assert pool._pool is inner
            assert await backend_pid(pool) == first

    asyncio.run(run())
