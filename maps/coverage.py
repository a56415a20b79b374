"""The planners' coverage map (folium): response circles, stations, 三圈 hotspots, zones, grid.

It draws a :class:`patrol.coverage.CoverageData`; it neither queries nor serves. Whole-city
layers are simplified upstream and coordinates rounded to 5 decimals (about 1 m) so that the page
stays small. Leaflet itself (from the ``django-js-lib-leaflet`` package) is inlined, so the page
works without reaching any CDN: only the base map tiles come from the network. The tile layer is configurable (offline deployments run their own tile server); with
``coords="gcj02"`` every geometry is shifted to GCJ-02 so that it lines up with Chinese tile sets.
"""

from __future__ import annotations

import html
import json

import folium
import h3
import numpy as np
import shapely
from branca.element import Element, MacroElement, Template

from maps.leaflet import leaflet_assets
from patrol.coverage import OUTSIDE, CoverageData
from routing.coords import from_wgs84

RING_STYLE = {60: ("1 minute", "#1a9850"), 180: ("3 minutes", "#fdae61"),
              300: ("5 minutes", "#d73027")}
TIER_COLOURS = {"1": "#1a9850", "3": "#fdae61", "5": "#d73027", "beyond": "#4d4d4d"}
#: Places and stations outside the road data (farther than the snapping limit from any road):
#: hollow, a white fill inside a grey ring; not gaps, so never coloured as one.
OUTSIDE_FILL, OUTSIDE_RING = "#ffffff", "#737373"
OUTSIDE_LABEL = "outside the road data (not counted)"
KIND_COLOURS = {"police_station": "#08519c", "police_post": "#6baed6", "sub_bureau": "#54278f",
                "city_unit": "#000000", "armed_patrol_point": "#a50f15"}
CATEGORY_NAMES = {"school": "school 校圈", "hospital": "hospital 医圈", "mall": "mall 商圈",
                  "metro_station": "metro station", "transport_hub": "transport hub"}
LOOP_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf")
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"


def coverage_map(data: CoverageData, *, tiles: str | None = "OpenStreetMap",
                 attribution: str | None = None, coords: str = "wgs84") -> folium.Map:
    """Build the map. ``tiles``: "OpenStreetMap", a URL template, or None for no base map."""
    shift = _shifter(coords)
    centre = _centre(data)
    fmap = folium.Map(location=shift_point(shift, *centre)[::-1], zoom_start=11,
                      tiles=None, control_scale=True, prefer_canvas=True)
    inline_leaflet(fmap)
    if tiles:
        folium.TileLayer(tiles, attr=attribution or OSM_ATTRIBUTION, name="base map").add_to(fmap)
    for seconds in sorted(data.rings, reverse=True):
        label, colour = RING_STYLE.get(seconds, (f"{seconds / 60:g} minutes", "#999999"))
        layer = folium.FeatureGroup(name=f"reached within {label}")
        folium.GeoJson(_geojson(shift(data.rings[seconds])),
                       style_function=lambda _, c=colour: {"color": c, "weight": 1,
                                                           "fillColor": c, "fillOpacity": 0.25},
                       tooltip=f"reached from the nearest station within {label}").add_to(layer)
        layer.add_to(fmap)
    _add_zones(fmap, data, shift)
    _add_grid(fmap, data, shift)
    _add_points(fmap, "stations and posts", data.stations, shift,
                colour=lambda s: KIND_COLOURS.get(s["kind"], "#08519c")
                if s.get("on_network", True) else OUTSIDE_FILL,
                outside=lambda s: not s.get("on_network", True), radius=3,
                fields=["name", "kind"])
    _add_points(fmap, "三圈 hotspots by best tier", data.hotspots, shift,
                colour=lambda h: OUTSIDE_FILL if h["tier"] == OUTSIDE else TIER_COLOURS[h["tier"]],
                outside=lambda h: h["tier"] == OUTSIDE, radius=5,
                fields=["name", "category", "seconds", "tier"])
    _add_incident_density(fmap, data, shift)
    _add_patrol(fmap, data, shift)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _legend().add_to(fmap)
    if len(data.zones) == 1:  # a zone's map shows the zone
        west, south, east, north = shift(data.zones[0]["geometry"]).bounds
        fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def _add_points(fmap: folium.Map, name: str, rows: list[dict], shift, *, colour, outside,
                radius: int, fields: list[str]) -> None:
    """Points filled with ``colour(row)``, ringed in white, or in grey where ``outside(row)``
    (outside the road data)."""
    if not rows:
        return
    features = []
    for row in rows:
        x, y = shift_point(shift, row["lon"], row["lat"])
        props = {k: row.get(k) for k in fields}
        if "category" in props:
            props["category"] = CATEGORY_NAMES.get(props["category"], props["category"])
        props = {**_escaped(props), "colour": colour(row),
                 "ring": OUTSIDE_RING if outside(row) else "#ffffff"}
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [round(x, 6),
                                                                       round(y, 6)]}})
    layer = folium.FeatureGroup(name=name)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        marker=folium.CircleMarker(radius=radius, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": f["properties"]["ring"],
                                  "weight": 1 if f["properties"]["ring"] == "#ffffff" else 2,
                                  "fillColor": f["properties"]["colour"]},
        popup=folium.GeoJsonPopup(fields=fields),
    ).add_to(layer)
    layer.add_to(fmap)


def _add_zones(fmap: folium.Map, data: CoverageData, shift) -> None:
    if not data.zones:
        return
    features = [{"type": "Feature",
                 "properties": _escaped({"zone": z["name"], "station": z["station"]}),
                 "geometry": json.loads(_geojson(shift(z["geometry"])))} for z in data.zones]
    layer = folium.FeatureGroup(name="patrol zones (责任区)", show=False)
    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   style_function=lambda _: {"color": "#3f007d", "weight": 1,
                                             "fillOpacity": 0.0},
                   tooltip=folium.GeoJsonTooltip(fields=["zone", "station"])).add_to(layer)
    layer.add_to(fmap)


def _add_grid(fmap: folium.Map, data: CoverageData, shift) -> None:
    if data.grid is None:
        return
    layer = folium.FeatureGroup(name="grid cells (网格)", show=False)
    folium.GeoJson(_geojson(shift(data.grid)),
                   style_function=lambda _: {"color": "#737373", "weight": 0.5}).add_to(layer)
    layer.add_to(fmap)


def _add_incident_density(fmap: folium.Map, data: CoverageData, shift) -> None:
    """Incidents per H3 cell (resolution 8, ~0.7 km²), shaded by count: the heat layer, drawn
    with plain Leaflet polygons so that it needs no plugin from a CDN."""
    if not data.incidents:
        return
    counts: dict[str, int] = {}
    for lon, lat in data.incidents:
        cell = h3.latlng_to_cell(lat, lon, 8)
        counts[cell] = counts.get(cell, 0) + 1
    top = max(counts.values())
    features = [{"type": "Feature", "properties": {"incidents": n, "share": n / top},
                 "geometry": json.loads(_geojson(shift(shapely.Polygon(
                     [(x, y) for y, x in h3.cell_to_boundary(cell)]))))}
                for cell, n in counts.items()]
    layer = folium.FeatureGroup(name="incidents (heat)", show=False)
    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   style_function=lambda f: {"color": "#bd0026", "weight": 0,
                                             "fillColor": "#bd0026",
                                             "fillOpacity": 0.15 + 0.6 * f["properties"]["share"]},
                   tooltip=folium.GeoJsonTooltip(fields=["incidents"])).add_to(layer)
    layer.add_to(fmap)


def _add_patrol(fmap: folium.Map, data: CoverageData, shift) -> None:
    """The stored patrol loops (one colour per loop number) and the must-patrol targets."""
    if data.loops:
        layer = folium.FeatureGroup(name="patrol loops (巡逻环线)")
        folium.GeoJson(_shifted({"type": "FeatureCollection", "features": data.loops}, shift),
                       style_function=lambda f: {
                           "color": LOOP_COLOURS[(f["properties"]["loop"] - 1)
                                                 % len(LOOP_COLOURS)],
                           "weight": 3, "opacity": 0.8},
                       tooltip=folium.GeoJsonTooltip(
                           fields=["zone_id", "loop", "unit_id", "minutes", "stops"])
                       ).add_to(layer)
        layer.add_to(fmap)
    if data.targets:
        layer = folium.FeatureGroup(name="must-patrol targets (必巡点/线/区)")
        folium.GeoJson(_shifted({"type": "FeatureCollection", "features": data.targets}, shift),
                       marker=folium.CircleMarker(radius=4, weight=2, fill=True,
                                                  fill_opacity=0.9),
                       style_function=lambda _: {"color": "#000000", "fillColor": "#ffff33",
                                                 "weight": 2, "fillOpacity": 0.4},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "kind", "dwell_s",
                                                             "weight"])).add_to(layer)
        layer.add_to(fmap)


def _escaped(properties: dict) -> dict:
    """``properties`` with their text made safe to show as HTML: folium's popups and tooltips
    insert values as markup, and names come from imported files and from users."""
    return {k: html.escape(v) if isinstance(v, str) else v for k, v in properties.items()}


def _shifted(collection: dict, shift) -> dict:
    """A FeatureCollection with every geometry shifted (a no-op for WGS-84) and its properties
    escaped (see :func:`_escaped`)."""
    features = [{**f, "properties": _escaped(f.get("properties") or {}),
                 "geometry": json.loads(_geojson(shift(shapely.from_geojson(
                     json.dumps(f["geometry"])))))} for f in collection["features"]]
    return {"type": "FeatureCollection", "features": features}


def inline_leaflet(fmap: folium.Map) -> None:
    """Put Leaflet's JS and CSS into the page instead of folium's CDN links."""
    css, js = leaflet_assets()
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js")


def _legend() -> MacroElement:
    rows = "".join(f'<div><span style="background:{c};opacity:.6"></span>{label}</div>'
                   for _, (label, c) in sorted(RING_STYLE.items()))
    tiers = "".join(f'<div><span style="background:{c};border-radius:50%"></span>'
                    f'{"beyond 5 minutes" if t == "beyond" else t + "-minute tier"}</div>'
                    for t, c in TIER_COLOURS.items())
    tiers += (f'<div><span style="background:{OUTSIDE_FILL};border:2px solid {OUTSIDE_RING};'
              f'border-radius:50%;box-sizing:border-box"></span>{OUTSIDE_LABEL}</div>')
    html = f"""{{% macro html(this, kwargs) %}}
<div id="coverage-legend" style="position:fixed;bottom:24px;left:12px;z-index:9999;
 background:white;padding:8px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif">
<b>Reached from the nearest station</b>{rows}
<b>三圈 hotspots: best tier</b>{tiers}
<style>#coverage-legend span{{display:inline-block;width:12px;height:12px;margin-right:6px;
vertical-align:middle}}</style></div>
{{% endmacro %}}"""
    legend = MacroElement()
    legend._template = Template(html)
    return legend


def _geojson(geometry: shapely.Geometry) -> str:
    return shapely.to_geojson(shapely.set_precision(geometry, 1e-5))


def _shifter(coords: str):
    if coords == "wgs84":
        return lambda geometry: geometry
    if coords != "gcj02":
        raise ValueError(f"coords must be wgs84 or gcj02, got {coords!r}")
    return lambda geometry: shapely.transform(
        geometry, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], "gcj02")))


def shift_point(shift, lon: float, lat: float) -> tuple[float, float]:
    point = shift(shapely.Point(lon, lat))
    return float(point.x), float(point.y)


def _centre(data: CoverageData) -> tuple[float, float]:
    points = [(s["lon"], s["lat"]) for s in data.stations] or [(114.30, 30.59)]
    lon, lat = np.median(np.array(points), axis=0)
    return float(lon), float(lat)
