"""The live 1/3/5-minute circles of the units that may answer an alarm: the dispatch console's
coverage overlay (``GET /coverage/live/rings``).

The units are those an alarm may take now (available or relocating patrol cars, each where the
worker's fleet copy places it: at its fix, or at its home station when the fix is stale), and
their circles are the coverage map's (:func:`patrol.coverage.dissolved_rings`): one search from
all of them, so each ring is their circles dissolved.

The answer is kept per fleet state: it is worked out again when a unit joined or left the set
(a dispatch, a status change) once it is :data:`CHANGED_EVERY_S` seconds old, and when units
only moved (to another road, or :data:`patrol.cover_tables.RESEARCH_M` metres along their road,
as move-up's tables count a move) once it is :data:`MOVED_EVERY_S` seconds old: many consoles
asking after each push cost one computation, and neither a fleet reporting every few seconds
nor a city changing some unit's status every second redraws the city each time (the whole of
Wuhan with 500 units takes 1–2 s of CPU). One computation at a time per worker, on a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime, timezone

import numpy as np

from patrol.circles import CircleOptions
from patrol.cover_tables import position_key
from patrol.coverage import dissolved_rings
from patrol.moveup_live import UNIT_KIND
from patrol.moveup_loop import refresh_fleet
from patrol.service import DispatchConfig
from routing import Direction, RoadGraph, Snapped
from routing.circles import rings_geojson
from zones.database import LoopPool


#: Seconds the rings are kept while the same units only move.
MOVED_EVERY_S = 15.0
#: Seconds the rings are kept after units joined or left the set (the console asks again this
#: long after the last change it was told of, so the held-back state is drawn then).
CHANGED_EVERY_S = 5.0


class LiveRings:
    """One worker's overlay: the last answer and the fleet state it was worked out for."""

    def __init__(self, graph: RoadGraph, *, options: CircleOptions) -> None:
        self.graph, self.options = graph, options
        self.computed = 0  # how many times the rings were worked out (not served from memory)
        self._kept: tuple[tuple, str, dict, float] | None = None  # key, tag, answer, when
        self._lock = asyncio.Lock()

    async def read(self, pool: LoopPool, config: DispatchConfig) -> tuple[str, dict]:
        """The rings of the units that may answer an alarm now, as a GeoJSON FeatureCollection
        (WGS-84, smallest first; see :func:`routing.circles.rings_geojson`) with
        ``computed_at`` (the fleet's moment), ``unit_ids`` (the units counted) and
        ``fleet_state``, and that tag alone (an HTTP entity tag of the fleet state they are
        of: the same in every worker)."""
        async with self._lock:
            await refresh_fleet(pool, config)
            now = time.time()
            positions, snaps, _ = config.fleet.placed(UNIT_KIND, now, config.stale_after_s)
            ids = positions.unit_id
            key = tuple((u, position_key(self.graph, snaps, i))
                        for i, u in enumerate(ids.tolist()))
            if self._stale(key):
                read_at = time.monotonic()  # the rings' age counts from the fleet they are of
                answer = await asyncio.to_thread(self._compute, snaps, ids, now)
                tag = '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'
                answer["fleet_state"] = tag
                self._kept = (key, tag, answer, read_at)
                self.computed += 1
            return self._kept[1:3]

    def _stale(self, key: tuple) -> bool:
        """Whether the kept answer is to be worked out again for the fleet state ``key``: other
        units and the answer :data:`CHANGED_EVERY_S` seconds old, or the same units moved and
        the answer :data:`MOVED_EVERY_S` seconds old."""
        if self._kept is None:
            return True
        kept, _, _, when = self._kept
        if kept == key:
            return False
        same_units = [u for u, _ in kept] == [u for u, _ in key]
        return time.monotonic() - when >= (MOVED_EVERY_S if same_units else CHANGED_EVERY_S)

    def _compute(self, snaps: Snapped, ids: np.ndarray, at_s: float) -> dict:
        _, rings = dissolved_rings(self.graph, snaps, buffer_m=self.options.buffer_m,
                                   cell_m=self.options.cell_m)
        answer = rings_geojson(self.graph, rings, direction=Direction.DEPART)
        answer["computed_at"] = datetime.fromtimestamp(at_s, timezone.utc)
        answer["unit_ids"] = sorted(ids.tolist())
        return answer
