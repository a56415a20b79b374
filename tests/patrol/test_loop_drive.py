"""A car driving its loop on the plan's timetable: stops its dwell at each target, keeps the
round's time, and skips a target only in the rounds asked for."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.loop_drive import LoopDrive, Skip

T0 = 1_764_547_200.0


@pytest.fixture(scope="module")
def square(wuhan_central):
    """A 400 m square loop (metric), stops at its 2nd and 3rd corners: 40 s, 60 s dwell."""
    graph = wuhan_central.graph
    x0, y0 = graph.to_metric.transform(114.27, 30.59)
    xy = np.array([[0, 0], [400, 0], [400, 400], [0, 400], [0, 0]], float) + [x0, y0]
    lon, lat = graph.to_lonlat.transform(xy[:, 0], xy[:, 1])
    path = np.column_stack([lon, lat])
    # 10 m/s: corner 2 reached at 40 s, leaves at 80 s; corner 3 at 120 s, leaves at 180 s
    stops = [{"target_id": 7, "lon": lon[1], "lat": lat[1], "arrive_s": 40.0},
             {"target_id": 8, "lon": lon[2], "lat": lat[2], "arrive_s": 120.0}]
    return graph, path, stops, xy


def test_the_car_waits_its_dwell_at_each_stop(square):
    graph, path, stops, xy = square
    drive = LoopDrive(graph, path, stops, {7: 40, 8: 60}, 260.0, start_s=T0)
    x, y = drive.metric_positions(T0 + np.array([20, 40, 79, 100, 150, 220, 260, 280]))
    got = np.column_stack([x, y]) - xy[0]
    expected = [[200, 0], [400, 0], [400, 0], [400, 200], [400, 400], [0, 400], [0, 0],
                [200, 0]]
    assert got == pytest.approx(np.array(expected, float), abs=0.01)


def test_a_skipped_stop_is_driven_past_and_its_dwell_spent_before_it(square):
    graph, path, stops, xy = square
    # skip target 8 in the second round only (it is reached at 260 + 120 s)
    drive = LoopDrive(graph, path, stops, {7: 40, 8: 60}, 260.0, start_s=T0,
                      skip=(Skip(8, T0 + 300, T0 + 400),))
    times = T0 + np.array([150, 260 + 40, 260 + 130, 260 + 140, 260 + 180, 260 + 220])
    x, y = drive.metric_positions(times)
    got = np.column_stack([x, y]) - xy[0]
    # round 1 waits at corner 3; round 2 waits 100 s at corner 2, drives past corner 3 at 180 s
    expected = [[400, 400], [400, 0], [400, 0], [400, 0], [400, 400], [0, 400]]
    assert got == pytest.approx(np.array(expected, float), abs=0.01)
    lon, lat = drive.positions(times[:1])
    assert drive.advance(150.0) == pytest.approx((lon[0], lat[0]))
