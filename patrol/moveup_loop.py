"""Move-up in each API worker, on the event loop: the live coverage on request, and a loop that
works the recommended moves out again whenever the fleet changed (a dispatch, a status change,
a batch of positions: whatever the worker's fleet copy took from the change feed), at most once
per interval (debounced), and stores them. The searches and the decision run on a thread."""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa

from patrol.moves import store_advice
from patrol.moveup_live import Advice, MoveUp
from patrol.service import DispatchConfig
from zones import alarm_store
from zones.database import LoopPool

#: Hints (the move that would follow each unit's dispatch) are worked out again at most this
#: often (seconds): they take one small decision per unit.
HINT_EVERY_S = 30.0
#: The city (hotspots, grid cells, waiting points, units' zones) is read again this often
#: (seconds), and the tables built anew when it changed.
CITY_EVERY_S = 60.0

log = logging.getLogger(__name__)


async def build_tables(moveup: MoveUp) -> None:
    """The worker's move-up tables, before it serves: 1–2 s of CPU for Wuhan that would
    otherwise run beside its first alarms. A failure (a database not reachable yet) leaves them
    to the loop's first refresh: move-up never keeps a worker from serving alarms."""
    try:
        await asyncio.to_thread(moveup.build)
    except Exception:  # noqa: BLE001 - advisory: logged, and the loop tries again
        log.exception("move-up tables not built at start; the loop builds them")


async def refresh_fleet(pool: LoopPool, config: DispatchConfig) -> None:
    """Bring the worker's fleet copy up to date: one round trip (the whole fleet when the copy
    cannot take the changes)."""
    fleet = config.fleet
    since = fleet.since
    async with pool.connection() as conn:
        changes = await alarm_store.fleet_changes(conn, since=since)
        if not fleet.update(since, changes, config.graph, config.snap_limit_m):
            whole = await alarm_store.fleet_changes(conn)
            fleet.update(0, whole, config.graph, config.snap_limit_m)


async def live_coverage(pool: LoopPool, config: DispatchConfig, moveup: MoveUp) -> dict:
    """The coverage of the units that may answer an alarm, as they stand now."""
    await refresh_fleet(pool, config)
    snap = moveup.snapshot(config.fleet, time.time())
    return await asyncio.to_thread(moveup.live, snap)


async def advise(pool: LoopPool, engine: sa.Engine, config: DispatchConfig, moveup: MoveUp, *,
                 hints: bool = True) -> Advice:
    """Work the moves out from the fleet now and store them (relocations settled first)."""
    at = time.time()  # before the read: the advice is of the fleet at least as of then
    await refresh_fleet(pool, config)
    snap = moveup.snapshot(config.fleet, at)
    advice = await asyncio.to_thread(moveup.advise, snap, hints=hints)
    targets, declined = await asyncio.to_thread(store_advice, engine, advice.moves)
    moveup.remember(targets=targets, declined=declined)
    return advice


async def rebalance(pool: LoopPool, engine: sa.Engine, config: DispatchConfig,
                    moveup: MoveUp) -> list[dict]:
    """Solve the double standard model for the fleet now and store its moves (reason
    ``rebalance``, replacing the last rebalance's proposals)."""
    at = time.time()
    await refresh_fleet(pool, config)
    snap = moveup.snapshot(config.fleet, at)
    moves = await asyncio.to_thread(moveup.rebalance, snap)
    targets, declined = await asyncio.to_thread(store_advice, engine, moves, reason="rebalance")
    moveup.remember(targets=targets, declined=declined)
    return moves


async def moveup_forever(pool: LoopPool, engine: sa.Engine, config: DispatchConfig,
                         moveup: MoveUp, *, interval_s: float,
                         rebalance_every_s: float = 0.0) -> None:
    """Every ``interval_s`` seconds, if the fleet changed since the last advice (or a move was
    declined here), advise again; every ``rebalance_every_s`` seconds (0: never) solve the
    rebalance; every :data:`CITY_EVERY_S` seconds rebuild the tables if the city changed.
    Failures are logged and tried again next time."""
    seen, hinted_at, rebalanced_at = None, 0.0, time.monotonic()
    city_read_at = time.monotonic()
    while True:
        await asyncio.sleep(interval_s)
        try:
            if time.monotonic() - city_read_at >= CITY_EVERY_S:
                city_read_at = time.monotonic()
                if await asyncio.to_thread(moveup.rebuild_if_changed):
                    seen = None  # advise on the new tables
            if rebalance_every_s > 0 and time.monotonic() - rebalanced_at >= rebalance_every_s:
                rebalanced_at = time.monotonic()
                await rebalance(pool, engine, config, moveup)
            await refresh_fleet(pool, config)
            version = (config.fleet.version(), moveup.declines)
            if version == seen:
                continue
            hints = time.monotonic() - hinted_at >= HINT_EVERY_S
            await advise(pool, engine, config, moveup, hints=hints)
            hinted_at = time.monotonic() if hints else hinted_at
            seen = version
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the loop must outlive one bad refresh
            log.exception("move-up refresh failed; trying again in %.1f s", interval_s)
