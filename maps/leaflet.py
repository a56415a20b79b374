"""Leaflet's own files (from the ``django-js-lib-leaflet`` package), for pages that inline them
so that they work without reaching any CDN."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's CSS and JavaScript, as text."""
    static = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    return (static / "leaflet.css").read_text(), (static / "leaflet.js").read_text()
