"""Which database the product talks to: ``DATABASE_URL``, else the embedded local cluster."""

from __future__ import annotations

from settings import Settings
from zones.cluster import LocalCluster


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the configured database (the embedded cluster must be up)."""
    if settings.database_url:
        return _with_psycopg(settings.database_url)
    return LocalCluster(settings.pg_dir).url()


def _with_psycopg(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
