"""Compliance on crafted tracks in a metric plane: exact windows for passes within the distance,
dwells just below and above, an area entered, a line driven along and one crossed; and the
vectorised stays against a dense sampling with shapely's distance (an independent answer)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrol.compliance import Compliance, Shifts, TargetSet, compliance
from patrol.compliance_rates import shift_rates, target_rates, zone_rates
from patrol.presence import Regions, Tracks, stays

T0 = 1_764_547_200.0  # 2025-12-01 00:00 UTC, a window boundary
W = 900.0


def track(*legs: tuple[float, float, float], unit: int = 1, piece: int = 0) -> Tracks:
    """A track through (t, x, y) vertices (t seconds after T0)."""
    t, x, y = (np.array(v, float) for v in zip(*legs))
    n = len(t)
    return Tracks(np.full(n, unit), np.full(n, piece), T0 + t, x, y)


def targets(*rows: tuple[str, shapely.Geometry, float], zone: int = 5) -> TargetSet:
    """Targets numbered from 1: (kind, metric geometry, dwell seconds)."""
    kind, geom, dwell = zip(*rows)
    n = len(rows)
    return TargetSet(np.arange(1, n + 1), np.full(n, zone), np.array(kind),
                     np.array(geom, dtype=object), np.array(dwell, float), np.ones(n))


def run(tracks: Tracks, target_set: TargetSet, hours: float = 1.0, *, slack_s: float = 0.0
        ) -> Compliance:
    return compliance(tracks, target_set, start_s=T0, end_s=T0 + hours * 3600, slack_s=slack_s)


def stop_at_origin(arrive_x0_at: float, stop_s: float) -> Tracks:
    """Drive east along y = 0 at 10 m/s from x = -500, stop ``stop_s`` at x = 0, drive on to
    x = 500. Within 50 m of the origin for ``stop_s + 10`` seconds, from ``arrive_x0_at - 5``."""
    a = arrive_x0_at
    return track((a - 50, -500, 0), (a, 0, 0), (a + stop_s, 0, 0), (a + stop_s + 50, 500, 0))


@pytest.mark.parametrize(("stop_s", "slack_s", "visited"), [
    (49.0, 0.0, False), (50.0, 0.0, True), (51.0, 0.0, True), (44.9, 5.0, False),
    (45.0, 5.0, True)])
def test_a_dwell_just_below_the_target_is_no_visit(stop_s, slack_s, visited):
    # 60 s dwell: 5 s in, the stop, 5 s out within 50 m; a stay may fall short by the slack
    result = run(stop_at_origin(1000, stop_s), targets(("point", shapely.Point(0, 0), 60)),
                 slack_s=slack_s)
    assert result.visited[0].tolist() == [False, visited, False, False]
    assert result.longest_s[0, 1] == pytest.approx(stop_s + 10)
    if visited:
        assert result.first_s[0, 1] == pytest.approx(T0 + 995)
        assert result.unit[0, 1] == 1
    else:
        assert np.isnan(result.first_s[0, 1]) and result.unit[0, 1] == -1


def test_a_visit_counts_in_the_window_where_its_dwell_is_complete():
    # arrive within 50 m at 870 s, dwell of 60 s complete at 930 s: the second window
    result = run(stop_at_origin(875, 70), targets(("point", shapely.Point(0, 0), 60)))
    assert result.visited[0].tolist() == [False, True, False, False]
    assert result.first_s[0, 1] == pytest.approx(T0 + 870)
    # the stay overlaps both windows
    assert result.longest_s[0, :2] == pytest.approx([80, 80])


def test_a_car_parked_at_a_point_counts_for_every_window_it_stays():
    parked = track((100, 0, 20), (3000, 0, 20))
    result = run(parked, targets(("point", shapely.Point(0, 0), 60)))
    assert result.visited[0].tolist() == [True, True, True, True]
    assert result.first_s[0].tolist() == pytest.approx([T0 + 100] * 4)


def test_passing_beyond_the_distance_or_without_stopping_is_no_visit():
    far = track((0, -500, 51), (100, 500, 51))  # 51 m off the point
    near = track((0, -500, 0), (100, 500, 0), unit=2)  # through it at 10 m/s, no stop
    result = run(Tracks.concat([far, near]), targets(("point", shapely.Point(0, 0), 60),
                                                     ("point", shapely.Point(0, 0), 0)))
    assert not result.visited[0].any()
    assert result.longest_s[0, 0] == pytest.approx(10)  # only the car driving through
    # a point with no dwell: passing within the distance is a visit, by unit 2
    assert result.visited[1].tolist() == [True, False, False, False]
    assert result.unit[1, 0] == 2


def test_an_area_is_entered_or_not():
    square = shapely.box(1000, 1000, 1100, 1100)
    through = track((1800, 900, 1050), (1830, 1200, 1050))  # crosses the square, 10 m/s
    beside = track((2700, 900, 1200), (2730, 1200, 1200), unit=2)  # 100 m north of it
    result = run(Tracks.concat([through, beside]), targets(("area", square, 0)))
    assert result.visited[0].tolist() == [False, False, True, False]
    # entered the 50 m margin at x = 950: 5 s after 1800 s; inside the grown area 20 s
    assert result.first_s[0, 2] == pytest.approx(T0 + 1805)
    assert result.longest_s[0, 2] == pytest.approx(20)
    assert result.unit[0, 2] == 1


def test_a_line_is_driven_along_not_crossed():
    street = shapely.LineString([(0, 500), (400, 500)])
    along = track((100, -100, 505), (160, 500, 505))  # along it, 5 m off, 10 m/s
    across = track((1000, 200, 0), (1100, 200, 1000), unit=2)  # crosses its middle
    partly = track((2000, -100, 505), (2020, 100, 505), unit=3)  # only its first 100 m
    result = run(Tracks.concat([along, across, partly]), targets(("line", street, 0)))
    assert result.visited[0].tolist() == [True, False, False, False]
    assert result.unit[0, 0] == 1
    found = stays(Tracks.concat([along, across, partly]),
                  Regions(np.array(["line"]), np.array([street], dtype=object), 50.0))
    assert sorted(np.round(found.span_m).tolist()) == [0.0, 100.0, 400.0]


def test_a_break_between_pieces_ends_a_stay():
    first = track((0, 0, 0), (40, 0, 0), piece=0)
    second = track((50, 0, 0), (90, 0, 0), piece=1)  # 10 s without a matched position
    result = run(Tracks.concat([first, second]), targets(("point", shapely.Point(0, 0), 60)))
    assert not result.visited.any()
    assert result.longest_s[0, 0] == pytest.approx(40)


def test_rates_per_target_zone_and_shift():
    # two point targets; the car stops 70 s at the first in windows 0 and 2, never at the second
    legs = stop_at_origin(100, 70)
    later = stop_at_origin(1900, 70)
    result = run(Tracks.concat([legs, Tracks(later.unit, later.piece + 1, later.t, later.x,
                                             later.y)]),
                 targets(("point", shapely.Point(0, 0), 60), ("point", shapely.Point(0, 900), 60)))
    rates = target_rates(result, names={1: "一号", 2: "二号"})
    assert [(r["name"], r["visited"], r["rate"]) for r in rates] == [("一号", 2, 0.5),
                                                                   ("二号", 0, 0.0)]
    assert zone_rates(result) == [{"zone_id": 5, "targets": 2, "target_windows": 8,
                                   "visited": 2, "rate": 0.25, "weighted_rate": 0.25}]
    # T0 is 08:00 at UTC+8: the hour lies in the 08:00-16:00 shift
    (row,) = shift_rates(result, Shifts())
    assert (row["local_start_h"], row["windows"], row["rate"]) == (8.0, 4, 0.25)
    assert row["shift_start"] == "2025-12-01T00:00:00Z"
    assert row["shift_end"] == "2025-12-01T08:00:00Z"


def test_shifts_split_the_local_day():
    shifts = Shifts((6.0, 18.0), utc_offset_h=8)
    # 2025-12-01 05:00 local is before the first start: the previous day's night shift
    day, shift = shifts.of(np.array([T0 - 3 * 3600, T0]))
    assert shift.tolist() == [1, 0]
    assert day[0] == day[1] - 1
    assert shifts.start_of(int(day[1]), 0) == T0 - 2 * 3600
    with pytest.raises(ValueError, match="ascending"):
        Shifts((8.0, 0.0))


def test_stays_agree_with_dense_sampling():
    """Random drives among random points, lines and areas: stays found exactly against
    positions sampled every 0.05 s and shapely's distance to each target."""
    rng = np.random.default_rng(7)
    kinds, geoms = [], []
    for _ in range(12):
        x, y = rng.uniform(0, 2000, 2)
        kind = rng.choice(["point", "line", "area"])
        geoms.append(shapely.Point(x, y) if kind == "point" else
                     shapely.LineString([(x, y), (x + rng.uniform(-400, 400), y + 300)])
                     if kind == "line" else shapely.box(x, y, x + 150, y + 80))
        kinds.append(kind)
    regions = Regions(np.array(kinds), np.array(geoms, dtype=object), 50.0)
    parts = []
    for unit in range(6):
        n = 40
        t = np.cumsum(rng.uniform(1, 20, n))
        xy = np.cumsum(rng.normal(0, 60, (n, 2)), axis=0) + rng.uniform(0, 2000, 2)
        parts.append(Tracks(np.full(n, unit), np.zeros(n, int), t, xy[:, 0], xy[:, 1]))
    tracks = Tracks.concat(parts)
    found = stays(tracks, regions)
    for unit in range(6):
        mine = tracks.unit == unit
        ts = np.arange(tracks.t[mine][0], tracks.t[mine][-1], 0.05)
        xs, ys = np.interp(ts, tracks.t[mine], tracks.x[mine]), np.interp(ts, tracks.t[mine],
                                                                          tracks.y[mine])
        for i, geom in enumerate(geoms):
            inside = shapely.distance(shapely.points(xs, ys), geom) <= 50.0
            if kinds[i] == "area":
                inside |= shapely.contains_xy(geom, xs, ys)
            sampled = inside.sum() * 0.05
            exact = ((found.target == i) & (found.unit == unit))
            total = float((found.end[exact] - found.start[exact]).sum())
            assert total == pytest.approx(sampled, abs=0.05 * (2 * exact.sum() + 2)), (unit, i)
