"""The speed model: class defaults, tagged maxspeed, TOML overrides and congestion."""

from datetime import time

import pytest

from routing.errors import RoutingError
from routing.speeds import DEFAULT_SPEEDS_KPH, SpeedModel, parse_maxspeed


def test_defaults_are_the_published_table():
    model = SpeedModel()
    assert DEFAULT_SPEEDS_KPH == {
        "motorway": 80, "motorway_link": 50, "trunk": 60, "trunk_link": 40, "primary": 50,
        "primary_link": 35, "secondary": 40, "secondary_link": 30, "tertiary": 35,
        "tertiary_link": 25, "unclassified": 30, "residential": 25, "living_street": 10,
        "service": 15}
    assert model.class_speed_kph("road") == 20
    assert model.edge_speed_kph(["primary", "residential"]) == pytest.approx(37.5)


@pytest.mark.parametrize("tag, kph", [("50", 50), ("30 mph", 48.28032), ("40;60", 50), (70, 70),
                                      ("CN:urban", None), ("none", None), ("walk", None),
                                      (None, None), ("0", None)])
def test_parse_maxspeed(tag, kph):
    assert parse_maxspeed(tag) == (pytest.approx(kph) if kph else None)


def test_tagged_maxspeed_wins_over_class():
    assert SpeedModel().edge_speed_kph("residential", "40") == 40
    assert SpeedModel().edge_speed_kph("residential", "CN:urban") == 25


def test_toml_overrides_and_congestion(tmp_path):
    config = tmp_path / "speeds.toml"
    config.write_text('[speeds_kph]\nprimary = 45\nother = 12\n\n[[congestion]]\n'
                      'start = "07:00"\nend = "09:00"\nfactor = 1.5\nclasses = ["primary"]\n'
                      '\n[[congestion]]\nstart = "22:00"\nend = "02:00"\nfactor = 0.9\n')
    model = SpeedModel.from_toml(config)
    assert model.class_speed_kph("primary") == 45 and model.class_speed_kph("track") == 12
    assert model.class_speed_kph("secondary") == 40
    assert model.congestion_factors(["primary", "residential"], time(8, 0)) == [1.5, 1.0]
    assert model.congestion_factors(["primary", "residential"], time(9, 0)) == [1.0, 1.0]
    assert model.congestion_factors(["primary"], time(1, 0)) == [0.9]  # wraps past midnight
    assert model.fingerprint() != SpeedModel().fingerprint()


@pytest.mark.parametrize("text, match", [
    ("[speeds_kph]\nprimary = -5\n", "speed of 'primary' must be a number"),
    ("[speeds_kph\n", "not valid TOML"),
    ('[[congestion]]\nstart = "7am"\nend = "09:00"\nfactor = 2\n', "needs start and end"),
    ('[[congestion]]\nstart = "07:00"\nend = "09:00"\nfactor = 50\n', "outside"),
])
def test_bad_speed_config_is_explained(tmp_path, text, match):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(RoutingError, match=match):
        SpeedModel.from_toml(config)


def test_missing_speed_config():
    with pytest.raises(RoutingError, match="does not exist"):
        SpeedModel.from_toml("/nonexistent/speeds.toml")
