"""A discrete-event replay of incidents on the fleet, on a simulated clock.

Each incident is decided as the dispatch service decides an alarm: the dispatchable units are
ranked by drive time to the incident on the compiled road graph (``routing.search.rank``, as
the alarm path does) and :func:`patrol.dispatch.decide` picks the fastest one that can be
claimed. A recommendation (priority below the auto-dispatch level) counts as confirmed by the
dispatcher at once. An incident no unit can take waits, most urgent first, for the next unit
to clear a scene. The unit drives there (the ranked drive time), stays on scene for the
incident's service time, then drives back to its home station; driving back, or driving to a
waiting point it was moved to, it can be dispatched from wherever it has got to. Response
time = waiting for a unit + driving (call taking is not modelled).

With a move-up policy, after every dispatch and every unit clearing a scene the policy is
shown the fleet (:class:`FleetView`) and the moves it returns are carried out (a moved unit
drives to its waiting point, ``relocating``). One unit never holds two incidents: a unit
leaves the dispatchable states when it is sent and returns to them only when it clears.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from patrol.dispatch import Candidate, DispatchPolicy, decide
from patrol.simulation_fleet import RELOCATING, RETURNING, DISPATCHABLE, SimFleet, SimUnit
from patrol.simulation_incidents import Incidents
from routing import RoadGraph, Snap, Snapped
from routing.search import rank

# Event kinds, in the order they are handled when they fall on the same second.
_CLEAR, _ARRIVE, _REACH, _INCIDENT = range(4)


@dataclass(frozen=True)
class Move:
    """Send a dispatchable unit to wait at ``target`` (a road position)."""

    unit_id: int
    target: Snap


@dataclass(frozen=True)
class FleetView:
    """What a move-up policy is shown after an event at ``now_s``: ``"dispatch"`` (unit
    ``subject`` was sent to an incident) or ``"clear"`` (it cleared a scene), every unit's id, state (see ``patrol.simulation_fleet``), road position now,
    where it is bound (where it stands, drives to, or its incident's place) and its home
    station's road position."""

    now_s: float
    event: str
    subject: int
    unit_id: NDArray[np.int64]
    state: NDArray[np.str_]
    positions: Snapped
    bound_for: Snapped
    home: Snapped


#: A move-up policy: the moves to make given the fleet (none: an empty list).
MovePolicy = Callable[[FleetView], list[Move]]


@dataclass
class Replay:
    """The outcome: one record per incident (in order of receipt) and one per move."""

    incidents: list[dict]
    moves: list[dict] = field(default_factory=list)
    ignored_moves: int = 0  # moves of units that were not dispatchable


def replay(graph: RoadGraph, units: list[SimUnit], incidents: Incidents, *,
           policy: MovePolicy | None = None, dispatch: DispatchPolicy = DispatchPolicy()
           ) -> Replay:
    """Replay ``incidents`` on ``units`` (standing where they are given), with the move-up
    ``policy`` (None: units only return home). Runs until every incident has a unit on
    scene."""
    return _Run(graph, units, incidents, policy, dispatch).run()


class _Run:
    def __init__(self, graph: RoadGraph, units: list[SimUnit], incidents: Incidents,
                 policy: MovePolicy | None, dispatch: DispatchPolicy) -> None:
        self.graph, self.incidents, self.policy, self.dispatch = graph, incidents, policy, dispatch
        self.fleet = SimFleet(graph, units)
        self.events: list[tuple] = []
        self.waiting: list[tuple[int, float, int]] = []  # (priority, received_s, incident)
        self.result = Replay([_record(incidents, i) for i in range(len(incidents))])
        self.reached = 0
        self.sequence = 0
        for i, received in enumerate(incidents.received_s):
            self._push(float(received), _INCIDENT, i)

    def run(self) -> Replay:
        while self.events and self.reached < len(self.incidents):
            now, kind, _, unit_id, payload = heapq.heappop(self.events)
            if kind == _INCIDENT:
                heapq.heappush(self.waiting, (int(self.incidents.priority[payload]),
                                              now, payload))
                sent = self._dispatch_waiting(now)
                if sent is not None:
                    self._move_up(now, "dispatch", sent)
            elif kind == _ARRIVE:
                self._arrive(now, self.fleet.units[unit_id], payload)
            elif kind == _CLEAR:
                self._clear(now, self.fleet.units[unit_id])
            elif self.fleet.units[unit_id].trip == payload:  # _REACH of its current drive
                self.fleet.reach(self.fleet.units[unit_id])
        return self.result

    def _push(self, at: float, kind: int, payload: int, unit_id: int = -1) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, kind, self.sequence, unit_id, payload))

    def _dispatch_waiting(self, now: float) -> int | None:
        """Give units to waiting incidents, most urgent first; the last unit sent (None:
        none)."""
        sent, passed = None, []
        while self.waiting:
            entry = heapq.heappop(self.waiting)
            unit_id = self._send(now, entry[2])
            if unit_id is not None:
                sent = unit_id
            else:
                passed.append(entry)
                if not any(u.state in DISPATCHABLE for u in self.fleet.units.values()):
                    break
        for entry in passed:
            heapq.heappush(self.waiting, entry)
        return sent

    def _send(self, now: float, i: int) -> int | None:
        """Rank the dispatchable units for incident ``i`` and send the one decided on; its id
        (None: none could go)."""
        ready, snaps = self.fleet.dispatchable(now)
        if not ready:
            return None
        ranking = rank(self.graph, self.incidents.snaps.snap(i), snaps,
                       k=self.dispatch.candidates)
        ranked = [Candidate(ready[r.index].unit_id, ready[r.index].callsign, r.seconds,
                            r.metres, False) for r in ranking.top]
        priority = int(self.incidents.priority[i])
        decision = decide(priority, ranked, {u.unit_id for u in ready}, self.dispatch)
        if decision.chosen is None:
            return None
        unit = self.fleet.units[decision.chosen.unit_id]
        record = self.result.incidents[i]
        record.update(unit_id=unit.unit_id, callsign=unit.callsign, unit_was=unit.state,
                      dispatched_s=now, drive_s=decision.chosen.seconds,
                      drive_m=decision.chosen.metres, mode=decision.mode)
        self.fleet.send_to_scene(unit, self.incidents.snaps.snap(i), now)
        self._push(now + decision.chosen.seconds, _ARRIVE, i, unit.unit_id)
        return unit.unit_id

    def _arrive(self, now: float, unit: SimUnit, i: int) -> None:
        self.fleet.on_scene(unit)
        record = self.result.incidents[i]
        record.update(arrived_s=now, response_s=now - record["received_s"],
                      cleared_s=now + float(self.incidents.service_s[i]))
        self.reached += 1
        self._push(record["cleared_s"], _CLEAR, i, unit.unit_id)

    def _clear(self, now: float, unit: SimUnit) -> None:
        """The unit is done on scene: it takes a waiting incident, else drives home."""
        self.fleet.reach(unit)  # standing at the scene, available
        self._dispatch_waiting(now)
        if unit.state in DISPATCHABLE:
            self._drive(now, unit, unit.home, RETURNING)
        self._move_up(now, "clear", unit.unit_id)

    def _drive(self, now: float, unit: SimUnit, target: Snap, state: str) -> float:
        seconds = self.fleet.drive(unit, target, now, state=state)
        self._push(now + seconds, _REACH, unit.trip, unit.unit_id)
        return seconds

    def _move_up(self, now: float, event: str, subject: int) -> None:
        if self.policy is None:
            return
        units = list(self.fleet.units.values())
        view = FleetView(now, event, subject, np.array([u.unit_id for u in units], np.int64),
                         np.array([u.state for u in units]),
                         Snapped.of([u.position(now) for u in units]),
                         Snapped.of([u.destination or u.at for u in units]),
                         Snapped.of([u.home for u in units]))
        for move in self.policy(view):
            unit = self.fleet.units.get(move.unit_id)
            if unit is None or unit.state not in DISPATCHABLE:
                self.result.ignored_moves += 1
                continue
            start = unit.position(now)
            seconds = self._drive(now, unit, move.target, RELOCATING)
            self.result.moves.append({"at_s": now, "event": event, "unit_id": unit.unit_id,
                                      "callsign": unit.callsign, "drive_s": seconds,
                                      "from": start.lonlat(self.graph),
                                      "to": move.target.lonlat(self.graph)})


def _record(incidents: Incidents, i: int) -> dict:
    return {"incident": i, "received_s": float(incidents.received_s[i]),
            "priority": int(incidents.priority[i]), "source": str(incidents.source[i]),
            "lon": float(incidents.lon[i]), "lat": float(incidents.lat[i]),
            "service_s": float(incidents.service_s[i])}
