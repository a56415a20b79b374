"""Chinese coordinate systems: WGS-84, GCJ-02 and BD-09, vectorised with numpy.

OpenStreetMap and GPS receivers use WGS-84 (EPSG:4326). Chinese maps and phone apps (Amap/高德,
Tencent, Google China) publish GCJ-02, an obfuscated datum that shifts points by a few hundred
metres; Baidu adds a further offset on top of GCJ-02 (BD-09). The forward transform WGS-84 → GCJ-02
is the published algorithm; its inverse has no closed form and is solved here by fixed-point
iteration to below 1e-9 degrees (about 0.1 mm). Outside China GCJ-02 equals WGS-84.

All functions take and return longitude/latitude in degrees, as scalars or numpy arrays.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from routing.errors import CoordinateError

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02, metres
_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE_DEG = 1e-10
_INVERSE_MAX_ITERATIONS = 30


class CoordSystem(str, Enum):
    """The coordinate systems the product accepts."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def parse_coord_system(name: str | CoordSystem) -> CoordSystem:
    """Return the coordinate system called ``name`` (case and hyphens ignored, e.g. "GCJ-02")."""
    if isinstance(name, CoordSystem):
        return name
    key = str(name).strip().lower().replace("-", "").replace("_", "").replace(":", "")
    if key == "epsg4326":
        key = "wgs84"
    try:
        return CoordSystem(key)
    except ValueError:
        accepted = ", ".join(c.value for c in CoordSystem)
        raise CoordinateError(f"unknown coordinate system {name!r}; use one of {accepted}") from None


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``lon, lat`` as float arrays, or raise :class:`CoordinateError` naming the bad value.

    Longitude must lie in [-180, 180] and latitude in [-90, 90] degrees, both finite.
    """
    try:
        lon_arr = np.asarray(lon, dtype=np.float64)
        lat_arr = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError):
        raise CoordinateError(f"coordinates must be numbers, got lon={lon!r}, lat={lat!r}") from None
    bad_lon = ~np.isfinite(lon_arr) | (np.abs(lon_arr) > 180.0)
    bad_lat = ~np.isfinite(lat_arr) | (np.abs(lat_arr) > 90.0)
    if bad_lon.any():
        value = np.atleast_1d(lon_arr)[np.atleast_1d(bad_lon)][0]
        raise CoordinateError(f"longitude {value} is out of range: it must lie in [-180, 180]")
    if bad_lat.any():
        value = np.atleast_1d(lat_arr)[np.atleast_1d(bad_lat)][0]
        raise CoordinateError(f"latitude {value} is out of range: it must lie in [-90, 90]")
    return lon_arr, lat_arr


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: CoordSystem | str) -> tuple[NDArray, NDArray]:
    """Convert lon/lat degrees from ``system`` to WGS-84, checking their range first; the
    result is in range too (see :func:`on_the_globe`)."""
    system = parse_coord_system(system)
    lon_arr, lat_arr = check_lonlat(lon, lat)
    if system is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lon_arr, lat_arr)
    if system is CoordSystem.BD09:
        return on_the_globe(*gcj02_to_wgs84(*bd09_to_gcj02(lon_arr, lat_arr)))
    return lon_arr, lat_arr


def from_wgs84(lon: ArrayLike, lat: ArrayLike, system: CoordSystem | str) -> tuple[NDArray, NDArray]:
    """Convert WGS-84 lon/lat degrees to ``system`` (in range, see :func:`on_the_globe`)."""
    system = parse_coord_system(system)
    lon_arr, lat_arr = check_lonlat(lon, lat)
    if system is CoordSystem.GCJ02:
        return wgs84_to_gcj02(lon_arr, lat_arr)
    if system is CoordSystem.BD09:
        return on_the_globe(*gcj02_to_bd09(*wgs84_to_gcj02(lon_arr, lat_arr)))
    return lon_arr, lat_arr


def on_the_globe(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """Longitudes wrapped into [-180, 180] and latitudes held to [-90, 90] (degrees).

    Baidu's offset (about 0.0065 degrees) applies everywhere, so a BD-09 point within that of
    the antimeridian or a pole converts to a longitude past ±180 (the same place, across the
    antimeridian) or a latitude past ±90 (the pole)."""
    lon = np.where(lon > 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    return lon, np.where(lat > 90.0, 90.0, np.where(lat < -90.0, -90.0, lat))


def outside_china(lon: NDArray, lat: NDArray) -> NDArray[np.bool_]:
    """True where a point lies outside the rough bounding box in which GCJ-02 applies."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """The published WGS-84 → GCJ-02 transform (degrees in, degrees out)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _gcj02_offset(lon, lat)
    keep = outside_china(lon, lat)
    return np.where(keep, lon, lon + dlon), np.where(keep, lat, lat + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration, to below 1e-9 degrees."""
    return _invert(wgs84_to_gcj02, np.asarray(lon, np.float64), np.asarray(lat, np.float64))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Baidu's GCJ-02 → BD-09 transform (degrees in, degrees out)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Invert :func:`gcj02_to_bd09` by fixed-point iteration, to below 1e-9 degrees."""
    return _invert(gcj02_to_bd09, np.asarray(lon, np.float64), np.asarray(lat, np.float64))


def _invert(forward, lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """Solve ``forward(x, y) == (lon, lat)`` for x, y; ``forward`` is a small shift, so x ≈ lon."""
    x, y = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if np.all(np.abs(ex) < _INVERSE_TOLERANCE_DEG) and np.all(np.abs(ey) < _INVERSE_TOLERANCE_DEG):
            break
    return x, y


def _gcj02_offset(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """The GCJ-02 shift (degrees) at WGS-84 lon/lat."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat
