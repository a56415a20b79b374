"""Settings of the product, read from ``PATROL_*`` environment variables.

Settings are passed to the functions that need them, never imported as globals, so that a test
can build its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, PositiveFloat
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent
DATA_DIR = PROJECT_DIR / "data"


class Settings(BaseSettings):
    """Paths and limits; every field can be set as ``PATROL_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PATROL_")

    graph: Path = Field(DATA_DIR / "osm" / "wuhan_roads_osm.parquet",
                        description="road network: a source file or its compiled .graph.npz")
    cache_dir: Path = Field(DATA_DIR / "cache", description="where compiled graphs are kept")
    speed_config: Path | None = Field(None, description="TOML file overriding road class speeds")
    snap_limit_m: PositiveFloat = Field(500.0, description="largest point-to-road distance, metres")
    circle_buffer_m: PositiveFloat = Field(50.0, description="buffer around reachable roads, metres")
    circle_cell_m: PositiveFloat = Field(25.0, description="raster cell of circle outlines, metres")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "PATROL_DATABASE_URL"),
        description="PostgreSQL + PostGIS server; unset: the embedded cluster in pg_dir")
    service_database_url: str | None = Field(
        None, description="where the API connects, as the role patrol_service (which may not "
        "change or delete audit rows); unset: the database above with the user patrol_service")
    pg_dir: Path = Field(DATA_DIR / "pg", description="where the embedded cluster lives")
    auto_dispatch_level: int = Field(2, ge=0, le=5, description="priorities 1..this are "
                                     "dispatched automatically (1 is most urgent)")
    dispatch_candidates: int = Field(5, ge=1, le=50, description="ranked units shown per incident")
    stale_position_s: PositiveFloat = Field(120.0, description="older GPS fixes place a unit at "
                                            "its home station, seconds")
    reconcile_after_s: PositiveFloat = Field(3.0, description="an incident stored this long "
                                             "without a decision is decided by the reconciler, "
                                             "seconds")
    ranking: Literal["compiled", "networkx"] = Field(
        "compiled", description="networkx: the plain baseline ranking, for benchmarks only")
    statement_timeout_s: PositiveFloat = Field(30.0, description="the API's longest SQL "
                                               "statement, seconds")
    lock_timeout_s: PositiveFloat = Field(5.0, description="the API's longest wait for a "
                                          "row or table lock, seconds")
    track_max_speed_kph: PositiveFloat = Field(150.0, description="GPS fixes reached faster than "
                                               "this from a unit's last good fix are jumps (kept, "
                                               "not matched), km/h")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="largest request body, bytes")
    map_tiles: str = Field("OpenStreetMap", description="map tiles: OpenStreetMap, a URL template "
                           "of your own tile server, or none")
    map_attribution: str | None = Field(None, description="attribution of a custom tile layer")
    station_tiers: dict[str, Literal[1, 3, 5]] = Field(
        default_factory=dict, description='response tier (minutes) by station kind, overriding '
        'the defaults, e.g. PATROL_STATION_TIERS=\'{"sub_bureau": 5}\'')
    moveup_interval_s: float = Field(5.0, ge=0, description="move-up: recommended moves are "
                                     "worked out again at most this often after the fleet "
                                     "changed, seconds (0: never)")
    rebalance_every_s: float = Field(300.0, ge=0, description="move-up: the double standard "
                                     "model's rebalance (HiGHS) is solved this often, seconds "
                                     "(0: never)")
    moveup_busy: float = Field(0.3, gt=0, lt=1, description="move-up: the share of time a unit "
                               "is busy (q of the expected covering model)")
    console_key_check_s: PositiveFloat = Field(30.0, description="a console's stream checks "
                                               "this often that its key is still valid, "
                                               "seconds (a revoked key's stream ends)")
