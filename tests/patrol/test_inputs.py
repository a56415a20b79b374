"""Values typed by people: the station and move forms of a what-if, parsed for every entrance."""

import pytest

from patrol.errors import Invalid
from patrol.inputs import parse_move, parse_station
from routing import to_wgs84


def test_a_station_is_lon_lat_and_an_optional_tier_converted_to_wgs84():
    assert parse_station("114.27,30.6") == (114.27, 30.6, 1)
    lon, lat, tier = parse_station("114.27,30.6,3", crs="gcj02")
    assert tier == 3 and (lon, lat) == tuple(float(v) for v in to_wgs84(114.27, 30.6, "gcj02"))
    # GCJ-02 is offset from WGS-84 by a few hundred metres in Wuhan, never by nothing.
    assert 1e-4 < abs(lon - 114.27) < 1e-2 and 1e-4 < abs(lat - 30.6) < 1e-2


@pytest.mark.parametrize("text", ["east,north", "114.27", "114.27,30.6,3,4", "nan,30.6",
                                  "114.27,30.6,x"])
def test_a_bad_station_names_the_input(text):
    with pytest.raises(Invalid, match=r"^--add must be LON,LAT\[,TIER\], got"):
        parse_station(text, name="--add")


def test_a_move_is_an_id_and_a_point():
    assert parse_move("17:114.27,30.6") == (17, 114.27, 30.6)
    for text in ("x:114.27,30.6", "17:114.27", "17;114.27,30.6", "17:114.27,30.6,3", "17:200,30"):
        with pytest.raises(Invalid, match="^--move must be ID:LON,LAT, got"):
            parse_move(text, name="--move")
