"""The planners' coverage map, opened as a person would: in headless Chromium."""

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from maps.coverage import coverage_map
from patrol.coverage import gather
from conftest import named_database
from tests_api_support import make_city

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1200,800",
                  "--virtual-time-budget=8000"]


@pytest.fixture(scope="module")
def city_data(server_url, wuhan_central):
    with named_database(server_url, "test_maps") as url:
        city = make_city(url, wuhan_central.graph, fleet=3)
        with city.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO incidents (category, priority, geom) SELECT 'theft', 3, "
                "ST_SetSRID(ST_MakePoint(114.26 + random() * 0.03, 30.59 + random() * 0.02),"
                " 4326) FROM generate_series(1, 40)"))
        yield gather(city.engine, wuhan_central.graph)
        city.engine.dispose()


def chromium(page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="patrol-chromium-")
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra,
                           page.as_uri()], capture_output=True, text=True, timeout=120)


def test_data_covers_hotspots_with_tiers(city_data):
    assert set(city_data.rings) == {60, 180, 300}
    assert city_data.rings[60].area < city_data.rings[180].area < city_data.rings[300].area
    tiers = {h["tier"] for h in city_data.hotspots}
    assert tiers <= {"1", "3", "5", "beyond", "outside"} and {"1", "outside"} <= tiers
    for h in city_data.hotspots:
        if h["seconds"] is not None:
            assert h["tier"] == ("1" if h["seconds"] <= 60 else "3" if h["seconds"] <= 180
                                 else "5" if h["seconds"] <= 300 else "beyond")


def test_page_loads_without_errors_and_has_the_layers(city_data, tmp_path):
    page = tmp_path / "coverage.html"
    coverage_map(city_data, tiles=None).save(str(page))
    html = page.read_text()
    assert "cdn.jsdelivr.net" not in html and "cdnjs" not in html  # works offline
    dom = chromium(page, "--dump-dom", "--enable-logging=stderr", "--v=0")
    assert dom.returncode == 0
    for layer in ("reached within 1 minute", "reached within 3 minutes",
                  "reached within 5 minutes", "patrol zones", "grid cells",
                  "stations and posts", "hotspots by best tier", "incidents (heat)"):
        assert layer in dom.stdout
    assert "leaflet-control-layers" in dom.stdout and "coverage-legend" in dom.stdout
    assert "outside the road data (not counted)" in dom.stdout  # their own style, named
    errors = [line for line in dom.stderr.splitlines()
              if "CONSOLE" in line and re.search(r"Uncaught|Error", line)]
    assert errors == []
    shot = tmp_path / "coverage.png"
    chromium(page, f"--screenshot={shot}")
    assert shot.stat().st_size > 20_000  # drawn, not blank


def test_gcj02_display_shifts_geometry(city_data, tmp_path):
    plain = coverage_map(city_data, tiles=None).get_root().render()
    shifted = coverage_map(city_data, tiles=None, coords="gcj02").get_root().render()
    assert plain != shifted
    with pytest.raises(ValueError, match="wgs84 or gcj02"):
        coverage_map(city_data, coords="bd09")
