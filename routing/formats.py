"""Road network source formats, told apart by file name (used by both the compile cache and the
readers)."""

from __future__ import annotations

from pathlib import Path

from routing.errors import GraphImportError

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf")
TABLE_SUFFIXES = (".parquet", ".geoparquet", ".gpkg")


def source_kind(path: Path) -> str:
    """``"osm"`` or ``"table"`` by file name, or raise :class:`GraphImportError`."""
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES):
        return "osm"
    if name.endswith(TABLE_SUFFIXES):
        return "table"
    raise GraphImportError(
        f"{path}: unknown road network format; expected OSM XML/PBF ({', '.join(OSM_SUFFIXES)}) "
        f"or an edge table ({', '.join(TABLE_SUFFIXES)})")


def check_source(path: Path) -> None:
    """Raise :class:`GraphImportError` unless ``path`` is an existing file of a known format."""
    if not path.is_file():
        raise GraphImportError(f"{path}: no such file")
    source_kind(path)
