"""A real PostgreSQL + PostGIS for the zone tests: DATABASE_URL, else a throwaway cluster."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zones.cluster import LocalCluster
from zones.database import _with_psycopg


@pytest.fixture(scope="session")
def server_url():
    """URL of a database on the test server, used to create fresh databases."""
    if os.environ.get("DATABASE_URL"):
        yield _with_psycopg(os.environ["DATABASE_URL"])
        return
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="patrol-test-pg-")))
    try:
        yield cluster.up()
    finally:
        cluster.destroy()


@pytest.fixture
def fresh_database(server_url):
    """Make empty databases (with PostGIS) on the test server; dropped after the test."""
    admin = sa.create_engine(make_url(server_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    made = []

    def make() -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
