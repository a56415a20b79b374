"""The track replay map (轨迹回放, folium): a unit's raw fixes, its matched road path, and a time
slider that drives a marker along the path and draws the road driven so far.

It draws the GeoJSON of :func:`patrol.track_replay.track_replay`; it neither queries nor serves.
Leaflet is inlined and the slider is plain JavaScript (``templates/track_player.js``, which the
dispatch console shares; folium's
``TimestampedGeoJson`` would load jQuery, jQuery UI, moment and Leaflet.TimeDimension from CDNs),
so the page works offline: only the base map tiles come from the network.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

import folium
from branca.element import MacroElement, Template

from maps.coverage import OSM_ATTRIBUTION, inline_leaflet

PATH_COLOUR, DRIVEN_COLOUR, FIX_COLOUR, JUMP_COLOUR = "#6baed6", "#d7301f", "#525252", "#e7298a"


def track_map(replay: dict, *, tiles: str | None = "OpenStreetMap",
              attribution: str | None = None) -> folium.Map:
    """Build the replay map of one unit's track. ``tiles``: "OpenStreetMap", a URL template, or
    None for no base map."""
    features = replay["features"]
    fixes = [f for f in features if f["properties"]["kind"] == "fix"]
    paths = [f for f in features if f["properties"]["kind"] == "path"]
    fmap = folium.Map(tiles=None, control_scale=True)
    inline_leaflet(fmap)
    if tiles:
        folium.TileLayer(tiles, attr=attribution or OSM_ATTRIBUTION, name="base map").add_to(fmap)
    _add_path(fmap, paths)
    _add_fixes(fmap, fixes)
    _Slider(_timeline(paths, fixes), title=f"{replay['callsign']} (unit {replay['unit_id']}): "
            f"{replay['from']} – {replay['to']}").add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    points = [f["geometry"]["coordinates"] for f in fixes]
    if points:
        lons, lats = zip(*points)
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return fmap


def _add_path(fmap: folium.Map, paths: list[dict]) -> None:
    layer = folium.FeatureGroup(name="matched road path")
    for path in paths:
        folium.PolyLine([(lat, lon) for lon, lat in path["geometry"]["coordinates"]],
                        color=PATH_COLOUR, weight=4, opacity=0.8).add_to(layer)
    layer.add_to(fmap)


def _add_fixes(fmap: folium.Map, fixes: list[dict]) -> None:
    layer = folium.FeatureGroup(name="GPS fixes (jumps in pink)")
    for fix in fixes:
        lon, lat = fix["geometry"]["coordinates"]
        jump = fix["properties"]["jump"]
        folium.CircleMarker((lat, lon), radius=4 if jump else 2.5,
                            color=JUMP_COLOUR if jump else FIX_COLOUR, weight=1, fill=True,
                            fill_opacity=0.9, tooltip=fix["properties"]["time"] +
                            (" jump: not matched" if jump else "")).add_to(layer)
    layer.add_to(fmap)


def _timeline(paths: list[dict], fixes: list[dict]) -> list[list[list[float]]]:
    """What the slider moves along: per matched piece, its vertices [lat, lon, ms since 1970];
    without a matched path, the good fixes as one piece."""
    if paths:
        return [[[lat, lon, _ms(t)] for (lon, lat), t in zip(
            p["geometry"]["coordinates"], p["properties"]["times"])] for p in paths]
    good = [f for f in fixes if not f["properties"]["jump"]]
    return [[[*f["geometry"]["coordinates"][::-1], _ms(f["properties"]["time"])] for f in good]]


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000.0


class _Slider(MacroElement):
    """A control with a play button and a range input over the track's time (0 to 1000, also
    set by the page's address: ``#t=500`` opens it half way); the marker sits where the unit was
    at that time (interpolated along the path) and the road driven so far is drawn over the
    path."""

    _template = Template("""
{% macro html(this, kwargs) %}
<style>.track-slider{background:#fff;padding:6px 10px;border-radius:4px;
box-shadow:0 1px 4px rgba(0,0,0,.4);font:13px sans-serif;min-width:360px}
.track-slider input[type=range]{width:100%}</style>
{% endmacro %}
{% macro script(this, kwargs) %}
{{ this.player }}
(function () {
  var start = /#t=([0-9]+)/.exec(location.hash);  // page.html#t=500: half way
  TrackPlayer.mount({{ this._parent.get_name() }}, {{ this.pieces }},
                    {title: {{ this.title }}, driven: "{{ this.driven }}",
                     step: start ? +start[1] : 0});
})();
{% endmacro %}
""")

    def __init__(self, pieces: list[list[list[float]]], *, title: str) -> None:
        super().__init__()
        self._name = "TrackSlider"
        self.pieces = json.dumps(pieces)
        self.title = json.dumps(title).replace("</", "<\\/")
        self.driven = DRIVEN_COLOUR
        self.player = (resources.files("maps") / "templates" / "track_player.js").read_text(
            encoding="utf-8")
