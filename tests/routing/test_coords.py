"""GCJ-02 / BD-09 conversion, checked against the WGS-84 columns shipped with the Wuhan POIs."""

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod

from conftest import POI_DIR
from routing.coords import (bd09_to_gcj02, from_wgs84, gcj02_to_bd09, gcj02_to_wgs84,
                            parse_coord_system, to_wgs84, wgs84_to_gcj02, _gcj02_offset)
from routing.errors import CoordinateError

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def police():
    """Every row of police.geojson: GCJ-02 points and the author's WGS-84 conversion."""
    frame = gpd.read_file(POI_DIR / "police.geojson")
    gcj = np.column_stack([frame.geometry.x, frame.geometry.y])
    shipped = frame[["wgs84经ti", "wgs84纬ti"]].astype(float).to_numpy()
    return gcj, shipped


def metres(a, b):
    return GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]


def test_gcj02_inverse_is_exact_on_every_police_row(police):
    gcj, _ = police
    wgs = np.column_stack(gcj02_to_wgs84(gcj[:, 0], gcj[:, 1]))
    back = np.column_stack(wgs84_to_gcj02(wgs[:, 0], wgs[:, 1]))
    assert np.max(metres(back, gcj)) < 0.001


def test_shipped_wgs84_columns_agree_up_to_their_own_one_step_error(police):
    """The shipped columns come from the one-step inverse ``gcj - offset(gcj)``, which is off
    by about a metre; the exact inverse differs from them by precisely that error."""
    gcj, shipped = police
    ours = np.column_stack(gcj02_to_wgs84(gcj[:, 0], gcj[:, 1]))
    distance_to_shipped = metres(ours, shipped)
    assert np.median(distance_to_shipped) < 1.1
    assert np.max(distance_to_shipped) < 3.0
    # The shipped value's own error: how far its forward transform lands from the GCJ-02 input.
    shipped_error = metres(np.column_stack(wgs84_to_gcj02(shipped[:, 0], shipped[:, 1])), gcj)
    assert np.max(np.abs(distance_to_shipped - shipped_error)) < 0.05
    dlon, dlat = _gcj02_offset(gcj[:, 0], gcj[:, 1])
    one_step = np.column_stack([gcj[:, 0] - dlon, gcj[:, 1] - dlat])
    assert np.median(metres(one_step, shipped)) < 0.1


def test_bd09_round_trip_and_offset_size(police):
    gcj, _ = police
    bd = np.column_stack(gcj02_to_bd09(gcj[:, 0], gcj[:, 1]))
    back = np.column_stack(bd09_to_gcj02(bd[:, 0], bd[:, 1]))
    assert np.max(metres(back, gcj)) < 0.001
    assert 400 < np.median(metres(bd, gcj)) < 1200  # Baidu's shift is several hundred metres


def test_to_and_from_wgs84_by_name():
    lon, lat = 114.3055, 30.5928
    for system in ("wgs84", "gcj02", "bd09"):
        x, y = from_wgs84(lon, lat, system)
        back = to_wgs84(x, y, system)
        assert abs(float(back[0]) - lon) < 1e-9 and abs(float(back[1]) - lat) < 1e-9
    gx, gy = from_wgs84(lon, lat, "gcj02")
    assert 300 < metres(np.array([[lon, lat]]), np.array([[float(gx), float(gy)]]))[0] < 800


def test_bd09_at_the_antimeridian_and_the_poles_converts_into_range():
    lon, lat = to_wgs84(np.array([-180.0, 180.0, 0.0, 0.0]), np.array([0.0, 0.0, 90.0, -90.0]),
                        "bd09")
    assert np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)
    assert 179.99 < lon[0] < 180  # 0.0065 degrees west of -180 is just east of 180
    x, y = from_wgs84(np.array([180.0, 0.0]), np.array([0.0, 90.0]), "bd09")
    assert np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90)


def test_outside_china_is_unchanged():
    x, y = wgs84_to_gcj02(np.array([24.94, -0.1]), np.array([60.17, 51.5]))
    assert np.array_equal(x, [24.94, -0.1]) and np.array_equal(y, [60.17, 51.5])


@pytest.mark.parametrize("name, expected", [("WGS-84", "wgs84"), ("gcj-02", "gcj02"),
                                            ("BD09", "bd09"), ("EPSG:4326", "wgs84")])
def test_parse_coord_system_aliases(name, expected):
    assert parse_coord_system(name).value == expected


def test_unknown_coord_system_is_named():
    with pytest.raises(CoordinateError, match="unknown coordinate system 'mars'.*wgs84, gcj02, bd09"):
        parse_coord_system("mars")


@pytest.mark.parametrize("lon, lat, match", [
    (181, 30, "longitude 181.0 is out of range"), (114, -91, "latitude -91.0 is out of range"),
    (float("nan"), 30, "longitude nan"), ("east", 30, "must be numbers")])
def test_bad_coordinates_are_named(lon, lat, match):
    with pytest.raises(CoordinateError, match=match):
        to_wgs84(lon, lat, "wgs84")
