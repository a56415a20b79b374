"""``patrol simulate``: replay simulated incidents on the simulated fleet, with and without
move-up, on the city model in PostGIS (what came of it: ``patrol.simulation_report``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from patrol.dispatch import DispatchPolicy
from patrol.errors import Invalid
from patrol.simulation import MovePolicy, Replay, replay
from patrol.simulation_fleet import SimUnit, units_at_home
from patrol.simulation_incidents import IncidentMix, Incidents, Places, draw_incidents
from patrol.simulation_report import comparison, summarise
from routing import RoadGraph, snap_many
from zones.coverage_inputs import hotspot_rows
from zones.simulation_inputs import grid_centres, simulated_fleet

#: Builds the move-up policy for a run (a fresh one per run: policies may keep state).
PolicyFactory = Callable[[], MovePolicy]


@dataclass(frozen=True)
class SimulationInputs:
    """How much to simulate: ``hours`` of incidents at ``rate_per_h`` per hour, ``seed``."""

    hours: float
    rate_per_h: float
    seed: int = 0
    mix: IncidentMix = IncidentMix()

    def check(self) -> None:
        """:class:`Invalid` naming the first value out of range."""
        if not self.hours > 0:
            raise Invalid(f"--hours must be more than 0, got {self.hours:g}")
        if not self.rate_per_h > 0:
            raise Invalid(f"--rate must be more than 0 incidents per hour, got "
                          f"{self.rate_per_h:g}")


def read_city(engine: sa.Engine, graph: RoadGraph, *, snap_limit_m: float
              ) -> tuple[list[tuple[int, str, float, float]], Places]:
    """The simulated fleet (id, callsign, home station lon, lat) and the places incidents
    happen at (hotspots off the road network left out); :class:`Invalid` when either is
    missing."""
    with engine.connect() as conn:
        fleet = simulated_fleet(conn)
        hotspots = hotspot_rows(conn)
        cells = grid_centres(conn)
    if not fleet:
        raise Invalid("the database holds no simulated patrol cars with a home station; make "
                      "them with `patrol fleet create --count 500`")
    if not cells:
        raise Invalid("the database holds no grid cells to place incidents in; load the city "
                      "with `patrol load wuhan`")
    lonlat = np.array([(h[4], h[5]) for h in hotspots], np.float64).reshape(-1, 2)
    on_road = snap_many(graph, lonlat[:, 0], lonlat[:, 1], limit_m=snap_limit_m).on_road
    places = Places(lonlat[on_road], np.array([h[2] for h in hotspots], dtype=str)[on_road],
                    np.array(cells, np.float64))
    return fleet, places


def simulate_runs(graph: RoadGraph, fleet: list[tuple[int, str, float, float]],
                  places: Places, inputs: SimulationInputs, *,
                  policies: dict[str, PolicyFactory | None], snap_limit_m: float = 500.0,
                  dispatch: DispatchPolicy = DispatchPolicy()
                  ) -> tuple[dict, dict[str, Replay]]:
    """One replay per entry of ``policies`` (name → policy factory, None: no move-up) on the
    same incidents; returns the summary (inputs, each run's figures and seconds taken, and the
    comparison when both "off" and "on" ran) and the replays. Each run's time is given as
    wall and as CPU seconds of this process (on a shared machine the CPU time is nearer what a
    quiet one takes)."""
    inputs.check()
    incidents = draw_incidents(graph, places, hours=inputs.hours, rate_per_h=inputs.rate_per_h,
                               seed=inputs.seed, mix=inputs.mix, snap_limit_m=snap_limit_m)
    units = units_at_home(graph, fleet, snap_limit_m=snap_limit_m)
    if not units:
        raise Invalid("no simulated unit's home station lies on the road network")
    runs, figures = {}, {}
    for name, factory in policies.items():
        started, cpu = time.perf_counter(), time.process_time()
        runs[name] = replay(graph, _fresh(units), incidents,
                            policy=factory() if factory else None, dispatch=dispatch)
        figures[name] = {**summarise(runs[name]),
                         "wall_s": round(time.perf_counter() - started, 2),
                         "cpu_s": round(time.process_time() - cpu, 2)}
    summary = {"inputs": _inputs(inputs, incidents, len(units)), "runs": figures}
    if "off" in figures and "on" in figures:
        summary["comparison"] = comparison(figures["off"], figures["on"])
    return summary, runs


def _fresh(units: list[SimUnit]) -> list[SimUnit]:
    """The units standing at home again, for another run."""
    return [SimUnit(u.unit_id, u.callsign, u.home, u.home) for u in units]


def _inputs(inputs: SimulationInputs, incidents: Incidents, units: int) -> dict:
    mix = inputs.mix
    return {"hours": inputs.hours, "rate_per_h": inputs.rate_per_h, "seed": inputs.seed,
            "units": units, "incidents": len(incidents),
            "dropped_off_network": incidents.dropped,
            "mix": {"hotspot_share": mix.hotspot_share, "category_weight": mix.category_weight,
                    "priority_share": list(mix.priority_share),
                    "service_median_s": mix.service_median_s,
                    "service_sigma": mix.service_sigma}}
