"""The dispatch decision: a plain function of the incident's priority, the ranked candidate
units and which of them could still be claimed.

Priorities run from 1 (most urgent, 一级警情) to 5. Incidents at or above the auto-dispatch level
(priority number at most ``auto_dispatch_level``) get the fastest claimable unit; others get a
recommendation only, for a dispatcher to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The rapid-response rings, seconds.
RING_SECONDS = (60, 180, 300)


def ring_of(seconds: float) -> str:
    """Which response ring an arrival time falls in: "1", "3", "5" (minutes) or "beyond"."""
    for limit in RING_SECONDS:
        if seconds <= limit:
            return str(limit // 60)
    return "beyond"


@dataclass(frozen=True)
class Candidate:
    """A unit that could go: its drive time (seconds) and distance (metres) to the incident."""

    unit_id: int
    callsign: str
    seconds: float
    metres: float
    at_home_station: bool  # its last position was too old, so it was placed at its station

    @property
    def ring(self) -> str:
        return ring_of(self.seconds)

    def as_dict(self) -> dict:
        return {"unit_id": self.unit_id, "callsign": self.callsign,
                "eta_seconds": round(self.seconds, 1), "distance_m": round(self.metres, 1),
                "ring": self.ring, "at_home_station": self.at_home_station}


@dataclass(frozen=True)
class DispatchPolicy:
    """How dispatch decides: the auto-dispatch level and how many candidates to list."""

    auto_dispatch_level: int = 2
    candidates: int = 5


@dataclass(frozen=True)
class Decision:
    """What was decided: the mode, the chosen candidate (None: none) and why."""

    mode: str  # "auto" or "recommendation"
    chosen: Candidate | None
    reason: str


def decide(priority: int, ranked: list[Candidate], claimable: set[int],
           policy: DispatchPolicy) -> Decision:
    """Choose the fastest candidate that can still be claimed, or recommend one.

    ``ranked`` is fastest first; ``claimable`` holds the unit ids that are still available and
    not being claimed by another incident at this moment.
    """
    auto = priority <= policy.auto_dispatch_level
    mode = "auto" if auto else "recommendation"
    for candidate in ranked:
        if candidate.unit_id in claimable:
            verb = "dispatched" if auto else "recommended"
            return Decision(mode, candidate, f"{verb} the fastest available unit "
                                             f"({candidate.seconds:.0f} s away)")
    if not ranked:
        return Decision(mode, None, "no available unit of the requested kind can reach the "
                                    "incident; it stays open")
    return Decision(mode, None, "every ranked unit was claimed by other incidents; it stays open")
