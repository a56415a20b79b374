"""The planners' coverage map, opened as a person would: in headless Chromium."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from branca.element import Element

from maps.coverage import coverage_map
from patrol.analysis_report import report_html
from patrol.coverage import gather
from browser_support import chromium
from conftest import named_database
from tests_api_support import make_city


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


HOSTILE = "<img src=x onerror=alert(1)>"
#: Run first in a page: an alert marks the body instead of blocking.
ALERT_TRAP = "<script>window.alert = () => document.documentElement.dataset.xss = 'ran';</script>"
#: Run once a map page has loaded: show every layer, open every popup and tooltip, and copy
#: their contents into the page.
OPEN_EVERYTHING = """<script>window.addEventListener('load', () => {
const layers = Object.values(window).filter(v => v instanceof L.GeoJSON);
const map = Object.values(window).find(v => v instanceof L.Map);
for (const group of layers) {
  map.addLayer(group);
  group.eachLayer(layer => {
    const latlng = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
    for (const [event, shown] of [['mouseover', group.getTooltip()], ['click', group.getPopup()]]) {
      if (!shown) { continue; }
      layer.fire(event, {latlng: latlng}, true);
      const text = document.createElement('p');
      text.className = 'shown';
      text.innerHTML = (shown.getElement() || {}).innerHTML;
      document.body.appendChild(text);
    }
  });
}
});</script>"""


def run_page(page: Path) -> str:
    """The page's DOM after Chromium has run it (its scripts and any events they cause)."""
    dom = chromium(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def test_names_from_files_run_no_script_in_the_map(city_data, tmp_path):
    """Hotspot, station, zone and target names holding markup: every popup and tooltip shows
    them as text and no script runs."""
    data = dataclasses.replace(
        city_data,
        hotspots=[{**h, "name": HOSTILE} for h in city_data.hotspots],
        stations=[{**s, "name": HOSTILE} for s in city_data.stations],
        zones=[{**z, "name": HOSTILE, "station": HOSTILE} for z in city_data.zones],
        targets=[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.27, 30.6]},
                  "properties": {"name": HOSTILE, "kind": "point", "dwell_s": 60,
                                 "weight": 1}}])
    page = tmp_path / "hostile.html"
    fmap = coverage_map(data, tiles=None)
    fmap.get_root().header.add_child(Element(ALERT_TRAP), name="alert_trap")
    fmap.get_root().html.add_child(Element(OPEN_EVERYTHING), name="open_everything")
    fmap.save(str(page))
    dom = run_page(page)
    assert 'data-xss="ran"' not in dom
    shown = re.findall(r'<p class="shown">(.*?)</p>', dom, re.S)
    hostile = [text for text in shown if "onerror" in text]
    assert len(hostile) > len(data.hotspots)
    assert all("&lt;img src=x onerror=alert(1)&gt;" in text for text in hostile)  # as text


def test_names_from_files_run_no_script_in_the_report(tmp_path):
    share = {60: 0.5, 180: 0.7, 300: 0.9}
    counted = {HOSTILE: {"on_network": 1, "outside_network": 0}}
    summary = {"hotspots": 1, "grid_cells": 1, "road_segments": 1, "map": None,
               "hotspots_outside_network": 0, "grid_cells_outside_network": 0,
               "stations_outside_network": 0,
               "hotspot_share_by_category": {HOSTILE: share},
               "hotspot_share_by_district": {HOSTILE: share},
               "hotspot_counts_by_category": counted, "hotspot_counts_by_district": counted,
               "grid_cell_share": share, "road_length_share": share,
               "hotspot_gaps_beyond_300s": [{"name": HOSTILE, "category": HOSTILE,
                                             "nearest_station": HOSTILE, "seconds": 400}],
               "grid_cell_gaps_beyond_180s": []}
    page = tmp_path / "report.html"
    page.write_text(report_html(summary, np.array([30.0, 400.0]), horizon_s=600).replace(
        "<head>", "<head>" + ALERT_TRAP, 1))
    dom = run_page(page)
    assert 'data-xss="ran"' not in dom and dom.count("&lt;img src=x") == 5
