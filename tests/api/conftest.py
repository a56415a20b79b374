"""An API over central Wuhan on real PostGIS: stations, grid, zones, a small simulated fleet."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import create_app
from settings import Settings
from tests_api_support import make_city


@pytest.fixture(scope="module")
def city(server_url, wuhan_central, request):
    from sqlalchemy.engine import make_url
    name = f"test_api_{request.module.__name__.split('.')[-1]}"[:60]
    admin = sa.create_engine(make_url(server_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    built = make_city(url, wuhan_central.graph)
    yield built
    built.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def client(city, wuhan_central):
    settings = Settings(**{"DATABASE_URL": city.url})
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as test_client:
        yield test_client
