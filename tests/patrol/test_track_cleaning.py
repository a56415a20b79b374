"""Cleaning crafted bad tracks: duplicates, time going backwards, jumps, GCJ-02 input."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.errors import Invalid
from patrol.track_cleaning import FixStatus, clean_track
from routing.coords import from_wgs84
from routing.errors import CoordinateError

OK, DUP, BACK, JUMP = FixStatus.OK, FixStatus.DUPLICATE, FixStatus.BACKWARDS, FixStatus.JUMP
#: A drive east along latitude 30.6 at 36 km/h (10 m/s): one fix every 10 s, 100 m apart.
LAT = 30.6
DEG_PER_100M = 100.0 / (111_320.0 * np.cos(np.radians(LAT)))


def drive(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n) * 10.0
    return t, 114.27 + np.arange(n) * DEG_PER_100M, np.full(n, LAT)


def test_a_clean_drive_is_all_good():
    t, lon, lat = drive(6)
    track = clean_track(t, lon, lat)
    assert track.status == [OK] * 6
    assert np.allclose(track.speed_kph[1:], 36.0, rtol=0.01)
    assert track.for_matching.all()


def test_duplicates_are_dropped_and_time_going_backwards_is_rejected():
    t, lon, lat = drive(5)
    order = [0, 1, 1, 2, 0, 3, 4]  # fix 1 sent twice, fix 0 resent late
    times, lons, lats = t[order], lon[order], lat[order]
    times[4] = 15.0  # a fix that claims a time before the last kept one (20 s)
    track = clean_track(times, lons, lats)
    assert track.status == [OK, OK, DUP, OK, BACK, OK, OK]
    assert track.kept.tolist() == [True, True, False, True, False, True, True]
    assert track.counts() == {"ok": 5, "duplicate": 1, "backwards": 1, "jump": 0}


def test_an_impossible_jump_is_flagged_and_the_next_good_fix_is_measured_from_before_it():
    t, lon, lat = drive(6)
    lon[3] += 10 * DEG_PER_100M  # 1 km off in 10 s: 360 km/h
    track = clean_track(t, lon, lat)
    assert track.status == [OK, OK, OK, JUMP, OK, OK]
    assert track.kept[3] and not track.for_matching[3]
    assert track.speed_kph[3] > 300
    assert track.speed_kph[4] == pytest.approx(36.0, rel=0.01)  # from fix 2, not the jump


def test_the_speed_limit_is_configurable():
    t, lon, lat = drive(3)
    assert clean_track(t, lon, lat, max_speed_kph=30.0).status == [OK, JUMP, JUMP]
    assert clean_track(t, lon, lat, max_speed_kph=40.0).status == [OK, OK, OK]
    with pytest.raises(Invalid, match="positive"):
        clean_track(t, lon, lat, max_speed_kph=0.0)


def test_a_continued_track_is_judged_against_the_last_stored_fix():
    t, lon, lat = drive(4)
    track = clean_track(t[2:], lon[2:], lat[2:], last=(t[2], lon[2], lat[2]))
    assert track.status == [DUP, OK]
    late = clean_track(t[:2], lon[:2], lat[:2], last=(t[3], lon[3], lat[3]))
    assert late.status == [BACK, BACK]


def test_gcj02_fixes_are_converted_to_wgs84_before_judging():
    t, lon, lat = drive(5)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    track = clean_track(t, glon, glat, crs="gcj02")
    assert np.allclose(track.lon, lon, atol=1e-8) and np.allclose(track.lat, lat, atol=1e-8)
    assert track.status == [OK] * 5
    shifted = clean_track(t, glon, glat)  # the same numbers taken as WGS-84 lie ~500 m away
    assert np.abs(shifted.lon - lon).max() > 1e-3


def test_bad_input_is_a_sentence():
    with pytest.raises(CoordinateError, match="latitude"):
        clean_track([0.0], [114.0], [95.0])
    with pytest.raises(Invalid, match="same length"):
        clean_track([0.0, 1.0], [114.0], [30.0])
    with pytest.raises(Invalid, match="finite time"):
        clean_track([np.nan], [114.0], [30.0])
    with pytest.raises(CoordinateError, match="unknown coordinate system"):
        clean_track([0.0], [114.0], [30.0], crs="utm")
