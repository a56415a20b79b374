"""The dispatch consoles' live state: units, open incidents and the recommended moves, pushed as
changes.

Each API worker runs one :class:`ConsoleHub` for all the consoles connected to it. While one is
connected, the hub reads the database's change feeds every :data:`POLL_S` seconds (the fleet's,
``zones.alarm_store.fleet_changes``, and the incidents', ``zones.console_feed``, which also
names the shown incidents deleted since; and the open moves, a handful of rows) on a pool of
its own, so that an alarm never waits for a console, and sends every console only what changed
since the last read. Each worker reads the database, not its own requests, so consoles on
different workers see the same changes, whichever worker wrote them.

What changes with time alone is left to the page, which is given the rules in the first message
(:meth:`LiveState.snapshot`): a unit's fix turning stale (older than ``stale_after_s``), an
incident's blue/yellow/red warning (``patrol.deadlines``). Nothing is sent for them.

A console that reads too slowly (:data:`QUEUE_LENGTH` messages behind) is dropped; its page
reconnects and starts again from a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

from patrol import deadlines
from zones.alarm_store import fleet_changes
from zones.console_feed import incident_changes, open_moves
from zones.database import LoopPool

#: Seconds between two reads of the change feeds while a console is connected.
POLL_S = 0.25
#: Messages a console may be behind before it is dropped.
QUEUE_LENGTH = 64
#: A unit as sent: [id, callsign, status, lon, lat, fix_at] (WGS-84 degrees; seconds since the
#: Unix epoch, None without a fix: then lon/lat are its home station's).
UNIT_FIELDS = ("id", "callsign", "status", "lon", "lat", "fix_at")

log = logging.getLogger(__name__)


class LiveState:
    """The units and the incidents not closed, as the consoles were last sent them."""

    def __init__(self) -> None:
        self.units: dict[int, list] = {}
        self.incidents: dict[int, dict] = {}
        self.moves: list[dict] = []

    def apply_fleet(self, changes: dict, *, whole: bool) -> tuple[list[list], list[int]]:
        """Take the feed's ``changes`` (``whole``: every unit, so the missing ones are gone);
        returns the units that look different now and the ids of those gone."""
        rows = _unit_rows(changes)
        changed = [row for row in rows if self.units.get(row[0]) != row]
        gone = sorted(set(self.units) - {row[0] for row in rows}) if whole else []
        for row in changed:
            self.units[row[0]] = row
        for unit_id in gone:
            del self.units[unit_id]
        return changed, gone

    def apply_incidents(self, rows: list[dict], *, deleted: list[int] | tuple = ()
                        ) -> tuple[list[dict], list[int]]:
        """Take changed incidents and the ids of deleted ones; returns those that look
        different and the ids of those that were shown and are closed or deleted now."""
        changed, gone = [], [i for i in deleted if self.incidents.pop(i, None) is not None]
        for row in rows:
            known = self.incidents.get(row["id"])
            if row["status"] == "closed":
                if known is not None:
                    del self.incidents[row["id"]]
                    gone.append(row["id"])
            elif known != row:
                self.incidents[row["id"]] = row
                changed.append(row)
        return changed, gone

    def apply_moves(self, rows: list[dict]) -> bool:
        """Take the open moves; returns whether they look different."""
        changed, self.moves = rows != self.moves, rows
        return changed

    def snapshot(self, *, stale_after_s: float, deadlines_s: dict[int, int]) -> dict:
        """Everything, with what the page needs to age it: the server's clock (seconds since
        the Unix epoch), when a fix turns stale (seconds), the arrival deadlines by priority
        (seconds) and the share of a deadline at which each warning starts."""
        return {"now": time.time(), "stale_after_s": stale_after_s, "unit_fields": UNIT_FIELDS,
                "deadlines_s": deadlines_s,
                "warnings": {"blue": deadlines.BLUE_AT, "yellow": deadlines.YELLOW_AT,
                             "red": deadlines.RED_AT},
                "units": list(self.units.values()), "incidents": list(self.incidents.values()),
                "moves": self.moves}


def _unit_rows(changes: dict) -> list[list]:
    """The feed's columns as rows of :data:`UNIT_FIELDS`: the fix if there is one, else the
    home station (lon/lat rounded to 1e-6 degrees, about 0.1 m; times to 0.1 s)."""
    if not changes["id"]:
        return []
    rows = []
    for unit_id, callsign, status, lon, lat, fix_at, home_lon, home_lat in zip(
            changes["id"], changes["callsign"], changes["status"], changes["lon"],
            changes["lat"], changes["fix_at"], changes["home_lon"], changes["home_lat"]):
        if lon is None:
            lon, lat, fix_at = home_lon, home_lat, None
        rows.append([unit_id, callsign, status, _round(lon, 6), _round(lat, 6),
                     _round(fix_at, 1)])
    return rows


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class ConsoleHub:
    """One worker's consoles: reads the change feeds on ``pool`` while any is connected and
    hands each the changes, encoded once for all of them."""

    def __init__(self, pool: LoopPool, *, stale_after_s: float, deadlines_s: dict[int, int],
                 poll_s: float = POLL_S) -> None:
        self._pool = pool
        self._stale_after_s = stale_after_s
        self._deadlines_s = deadlines_s
        self._poll_s = poll_s
        self._queues: set[asyncio.Queue] = set()
        self._poller: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._opened = False
        self._state = LiveState()

    async def events(self, *, idle_s: float | None = None) -> AsyncIterator[tuple[str, str]]:
        """(event name, JSON text) for one console: a ``snapshot`` first, then ``units``
        (``changed`` rows of :data:`UNIT_FIELDS`, ``gone`` ids), ``incidents`` (``changed``,
        ``gone``: closed or deleted) and ``moves`` (``moves``: all those open) as they happen, and ``idle`` (no text; not for the console) after ``idle_s``
        seconds without any (None: never). Ends when the console falls too far behind."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LENGTH)
        self._queues.add(queue)
        try:
            await self._start()
            await self._ready.wait()
            yield "snapshot", json.dumps(self._state.snapshot(
                stale_after_s=self._stale_after_s, deadlines_s=self._deadlines_s))
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), idle_s)
                except TimeoutError:
                    yield "idle", ""
                    continue
                if message is None:
                    break
                yield message
        finally:
            self._queues.discard(queue)

    @property
    def consoles(self) -> int:
        return len(self._queues)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._opened:
            await self._pool.close()

    async def _start(self) -> None:
        if self._poller is None or self._poller.done():
            if not self._opened:
                await self._pool.open()
                self._opened = True
            self._ready.clear()
            self._state = LiveState()
            self._poller = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        """Read the feeds until no console is left (then the next one starts afresh)."""
        fleet_since = incidents_since = 0
        epoch = None
        while self._queues:
            try:
                async with self._pool.connection() as conn:
                    fleet = await fleet_changes(conn, since=fleet_since)
                    whole = fleet_since == 0 or fleet["epoch"] != epoch
                    if whole and fleet_since != 0:  # units deleted or stations changed
                        fleet = await fleet_changes(conn, since=0)
                    horizon, incidents, deleted = await incident_changes(
                        conn, since=incidents_since, shown=list(self._state.incidents))
                    moves = await open_moves(conn)
            except Exception:  # the database is away: keep the consoles, try again
                log.warning("console feed: reading the changes failed", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            fleet_since, incidents_since, epoch = fleet["horizon"], horizon, fleet["epoch"]
            self._publish(*self._state.apply_fleet(fleet, whole=whole),
                          *self._state.apply_incidents(incidents, deleted=deleted),
                          moves=self._state.apply_moves(moves))
            self._ready.set()
            await asyncio.sleep(self._poll_s)

    def _publish(self, units: list, units_gone: list, incidents: list,
                 incidents_gone: list, *, moves: bool) -> None:
        messages = []
        if units or units_gone:
            messages.append(("units", json.dumps({"changed": units, "gone": units_gone})))
        if incidents or incidents_gone:
            messages.append(("incidents", json.dumps({"changed": incidents,
                                                      "gone": incidents_gone})))
        if moves:
            messages.append(("moves", json.dumps({"moves": self._state.moves})))
        if not self._ready.is_set():
            return  # the first read: consoles start from the snapshot
        for queue in list(self._queues):
            for message in messages:
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:  # too slow: drop it, its page reconnects
                    self._queues.discard(queue)
                    while not queue.empty():
                        queue.get_nowait()
                    queue.put_nowait(None)
                    break
