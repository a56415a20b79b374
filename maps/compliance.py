"""The compliance map (folium): every must-patrol target coloured by its visit rate (见警率)
over the range, with its name, kind and windows visited. It draws GeoJSON Features given to
it; it neither queries nor serves. Leaflet is inlined and every name escaped, as on the
coverage map."""

from __future__ import annotations

import folium
import numpy as np
import shapely

from maps.coverage import OSM_ATTRIBUTION, _escaped, inline_leaflet

#: (lowest rate, colour, label), from the best band down.
RATE_BANDS = ((1.0, "#1a9850", "every window"), (0.8, "#a6d96a", "80% of windows or more"),
              (0.5, "#fdae61", "50% to 80%"), (0.0, "#d73027", "under 50%"))
NO_DATA = "#969696"
FIELDS = ["name", "kind", "zone_id", "visited", "windows", "rate"]


def rate_colour(rate: float | None) -> str:
    """The colour of a visit rate (grey: no windows)."""
    if rate is None or not np.isfinite(rate):
        return NO_DATA
    return next(c for lowest, c, _ in RATE_BANDS if rate >= lowest - 1e-9)


def compliance_map(features: list[dict], *, tiles: str | None = "OpenStreetMap",
                   attribution: str | None = None) -> folium.Map:
    """The map of ``features`` (WGS-84 target geometries whose properties hold
    :data:`FIELDS`). ``tiles``: "OpenStreetMap", a URL template, or None for no base map."""
    fmap = folium.Map(location=_centre(features), zoom_start=13, tiles=None,
                      control_scale=True, prefer_canvas=True)
    inline_leaflet(fmap)
    if tiles:
        folium.TileLayer(tiles, attr=attribution or OSM_ATTRIBUTION, name="base map").add_to(fmap)
    shown = [{**f, "properties": {**_escaped({k: f["properties"].get(k) for k in FIELDS}),
                                  "colour": rate_colour(f["properties"].get("rate"))}}
             for f in features]
    layer = folium.FeatureGroup(name="must-patrol targets by visit rate (见警率)")
    if shown:
        folium.GeoJson({"type": "FeatureCollection", "features": shown},
                       marker=folium.CircleMarker(radius=6, weight=1, fill=True,
                                                  fill_opacity=0.9),
                       style_function=lambda f: {"color": f["properties"]["colour"],
                                                 "fillColor": f["properties"]["colour"],
                                                 "weight": 4, "fillOpacity": 0.5},
                       tooltip=folium.GeoJsonTooltip(fields=FIELDS)).add_to(layer)
    layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend()))
    return fmap


def _legend() -> str:
    rows = "".join(f'<div><span style="background:{c}"></span>{label}</div>'
                   for _, c, label in RATE_BANDS)
    return (f'<div id="compliance-legend" style="position:fixed;bottom:24px;left:12px;'
            f'z-index:9999;background:white;padding:8px 10px;border:1px solid #999;'
            f'border-radius:4px;font:12px sans-serif"><b>Windows visited (见警率)</b>{rows}'
            f'<div><span style="background:{NO_DATA}"></span>no window</div>'
            f'<style>#compliance-legend span{{display:inline-block;width:12px;height:12px;'
            f'margin-right:6px;vertical-align:middle}}</style></div>')


def _centre(features: list[dict]) -> list[float]:
    if not features:
        return [30.59, 114.30]
    geoms = [shapely.geometry.shape(f["geometry"]) for f in features]
    lon0, lat0, lon1, lat1 = shapely.total_bounds(geoms)
    return [(lat0 + lat1) / 2, (lon0 + lon1) / 2]
