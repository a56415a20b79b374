"""The dispatch decision (``patrol.dispatch.decide``) as a plain function: no HTTP, no database.

Priorities run from 1 (most urgent) to 5; at or above the auto-dispatch level a unit is sent,
below it one is only recommended. Either way the choice is the fastest ranked unit that can
still be claimed.
"""

from __future__ import annotations

import pytest

from patrol.dispatch import Candidate, DispatchPolicy, decide

POLICY = DispatchPolicy(auto_dispatch_level=2, candidates=5)


def candidates(*seconds: float) -> list[Candidate]:
    """Candidates with ids 1, 2, … at these drive times, fastest first as ranking gives them."""
    return [Candidate(unit_id=i, callsign=f"C-{i}", seconds=s, metres=s * 10.0,
                      at_home_station=False)
            for i, s in enumerate(seconds, start=1)]


@pytest.mark.parametrize(("priority", "mode"), [(1, "auto"), (2, "auto"),
                                                (3, "recommendation"), (5, "recommendation")])
def test_priority_at_or_above_the_level_dispatches_below_it_recommends(priority, mode):
    ranked = candidates(42.0, 90.0)
    decision = decide(priority, ranked, {1, 2}, POLICY)
    assert decision.mode == mode
    assert decision.chosen == ranked[0]
    verb = "dispatched" if mode == "auto" else "recommended"
    assert decision.reason == f"{verb} the fastest available unit (42 s away)"


def test_the_level_is_the_policys():
    ranked = candidates(42.0)
    assert decide(1, ranked, {1}, DispatchPolicy(auto_dispatch_level=0)).mode == "recommendation"
    assert decide(5, ranked, {1}, DispatchPolicy(auto_dispatch_level=5)).mode == "auto"


def test_a_unit_claimed_elsewhere_is_passed_over_for_the_next_fastest():
    ranked = candidates(30.0, 75.0, 200.0)
    decision = decide(1, ranked, {3, 2}, POLICY)
    assert decision.chosen.unit_id == 2
    assert decision.reason == "dispatched the fastest available unit (75 s away)"
    assert decide(4, ranked, {3}, POLICY).chosen.unit_id == 3


def test_the_ranking_order_decides_not_the_unit_ids():
    ranked = [Candidate(9, "C-9", 50.0, 500.0, True), Candidate(1, "C-1", 80.0, 800.0, False)]
    assert decide(1, ranked, {1, 9}, POLICY).chosen.unit_id == 9


def test_no_candidate_leaves_the_incident_open():
    decision = decide(1, [], set(), POLICY)
    assert (decision.mode, decision.chosen) == ("auto", None)
    assert decision.reason == ("no available unit of the requested kind can reach the incident; "
                               "it stays open")
    assert decide(4, [], set(), POLICY).mode == "recommendation"


def test_every_candidate_claimed_elsewhere_leaves_the_incident_open():
    decision = decide(2, candidates(30.0, 60.0), {7}, POLICY)
    assert decision.chosen is None
    assert decision.reason == "every ranked unit was claimed by other incidents; it stays open"


def test_candidate_view_rounds_and_names_its_ring():
    unit = Candidate(unit_id=3, callsign="C-3", seconds=60.04, metres=512.345,
                     at_home_station=True)
    assert unit.as_dict() == {"unit_id": 3, "callsign": "C-3", "eta_seconds": 60.0,
                              "distance_m": 512.3, "ring": "3", "at_home_station": True}
