"""The dispatch console's page: one HTML file with Leaflet, its style and script inlined, so that
it works without reaching any CDN (only the base map tiles come from the network).

The page is a static template (``maps/templates/console.*``; the script in modules, inlined in
the order of :data:`SCRIPTS`: the coordinates, the track player the replay page shares, the
core (sign-in, stream, units, incidents, queue), then one per panel); what differs between deployments
is put in as JSON: the tile URL (None: no base map), its attribution, where the map starts, and
the coordinates the map shows (``gcj02`` for Chinese tile sets: every point is shifted on the
page, and a clicked point is sent to the API as GCJ-02). It holds no data: the page signs in and
reads everything from the API.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from maps.leaflet import leaflet_assets
from patrol.live_rings import CHANGED_EVERY_S

#: The tile URL template "OpenStreetMap" stands for, and its attribution.
OSM_TILES = ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
             "&copy; OpenStreetMap contributors")
#: The page's scripts, in the order they run; each is a closure that shares what it needs
#: through ``window.PatrolConsole`` (the first makes it, the core starts the stream).
SCRIPTS = ("console_coords.js", "track_player.js", "console.js", "console_overlay.js",
           "console_moves.js", "console_track.js")
#: Where the map starts (lon, lat, WGS-84) before it is fitted to the fleet: central Wuhan.
DEFAULT_CENTRE = (114.27, 30.60)


def console_page(*, tiles: str | None, attribution: str | None = None, coords: str = "wgs84",
                 centre: tuple[float, float] = DEFAULT_CENTRE) -> str:
    """The console as an HTML page. ``tiles``: "OpenStreetMap", a URL template ({z}/{x}/{y}) or
    None; ``coords``: "wgs84" or "gcj02" (what the tiles are drawn in)."""
    if coords not in ("wgs84", "gcj02"):
        raise ValueError(f"coords must be wgs84 or gcj02, got {coords!r}")
    if tiles == "OpenStreetMap":
        tiles, attribution = OSM_TILES[0], attribution or OSM_TILES[1]
    config = {"tiles": tiles, "attribution": attribution, "coords": coords,
              "centre": list(centre), "overlayHeldS": CHANGED_EVERY_S}
    css, js = leaflet_assets()
    parts = {"LEAFLET_CSS": css, "LEAFLET_JS": js, "CONSOLE_CSS": _template("console.css"),
             "CONSOLE_JS": "\n".join(map(_template, SCRIPTS)) + "\nPatrolConsole.start();\n",
             "CONFIG": json.dumps(config).replace("</", "<\\/")}
    return re.sub(r"/\*([A-Z_]+)\*/", lambda found: parts[found.group(1)],
                  _template("console.html"))


def _template(name: str) -> str:
    return (resources.files("maps") / "templates" / name).read_text(encoding="utf-8")
