"""The fleet on the simulation's clock: what each unit is doing and where it is at a given
simulated second. A unit driving back to its station or to a waiting point moves along its
fastest road path (``routing.paths``) and can be dispatched from wherever it has got to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing import RoadGraph, Snap, Snapped, snap_many
from routing.paths import DrivePath, drive_path

#: Standing where it waits; driving back after an incident; driving to a waiting point
#: (a move). Units in these states can be dispatched.
AVAILABLE, RETURNING, RELOCATING = "available", "returning", "relocating"
#: Driving to an incident; working on scene. Units in these states cannot.
TO_SCENE, ON_SCENE = "to_scene", "on_scene"
DISPATCHABLE = (AVAILABLE, RETURNING, RELOCATING)


@dataclass
class SimUnit:
    """One unit: its home station's road position, its state, where it stands (or where its
    drive began), and its drive (None: standing). ``trip`` counts its drives: an event of an
    earlier drive is out of date."""

    unit_id: int
    callsign: str
    home: Snap
    at: Snap
    state: str = AVAILABLE
    path: DrivePath | None = None
    departed_s: float = 0.0
    destination: Snap | None = None
    trip: int = 0

    def position(self, now_s: float) -> Snap:
        """Its road position at ``now_s`` simulated seconds."""
        if self.path is None:
            return self.at
        return self.path.position_at(now_s - self.departed_s)


class SimFleet:
    """Every unit of the simulation, by unit id, in the order given."""

    def __init__(self, graph: RoadGraph, units: list[SimUnit]) -> None:
        self.graph = graph
        self.units = {u.unit_id: u for u in units}

    def dispatchable(self, now_s: float) -> tuple[list[SimUnit], Snapped]:
        """The units that can be dispatched at ``now_s`` and their road positions then."""
        ready = [u for u in self.units.values() if u.state in DISPATCHABLE]
        return ready, Snapped.of([u.position(now_s) for u in ready])

    def send_to_scene(self, unit: SimUnit, scene: Snap, now_s: float) -> None:
        """The unit leaves for an incident at ``now_s`` (its drive there is not tracked: it
        cannot be dispatched again before it has cleared the scene)."""
        unit.state, unit.path, unit.destination = TO_SCENE, None, scene
        unit.at, unit.departed_s, unit.trip = unit.position(now_s), now_s, unit.trip + 1

    def on_scene(self, unit: SimUnit) -> None:
        unit.state, unit.at = ON_SCENE, unit.destination

    def drive(self, unit: SimUnit, destination: Snap, now_s: float, *, state: str) -> float:
        """Start ``unit`` driving from where it is to ``destination`` (``state``: returning or
        relocating); returns the drive's time, seconds."""
        start = unit.position(now_s)
        unit.path = drive_path(self.graph, start, destination)
        unit.at, unit.departed_s, unit.destination = start, now_s, destination
        unit.state, unit.trip = state, unit.trip + 1
        return unit.path.seconds

    def reach(self, unit: SimUnit) -> None:
        """The unit has arrived where it drove and stands there, available."""
        unit.at, unit.path, unit.state = unit.destination, None, AVAILABLE


def units_at_home(graph: RoadGraph, fleet: list[tuple[int, str, float, float]], *,
                  snap_limit_m: float = 500.0) -> list[SimUnit]:
    """Units (id, callsign, home station lon, lat), each standing at its station's road
    position; units whose station is off the road network are left out."""
    if not fleet:
        return []
    lonlat = np.array([(lon, lat) for _, _, lon, lat in fleet], dtype=np.float64)
    snaps = snap_many(graph, lonlat[:, 0], lonlat[:, 1], limit_m=snap_limit_m).snaps()
    return [SimUnit(unit_id, callsign, snap, snap)
            for (unit_id, callsign, _, _), snap in zip(fleet, snaps) if snap is not None]
