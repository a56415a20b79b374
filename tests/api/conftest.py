"""An API over central Wuhan on real PostGIS: stations, grid, zones, a small simulated fleet."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api import create_app
from settings import Settings
from conftest import named_database
from tests_api_support import make_city


@pytest.fixture(scope="module")
def city(server_url, wuhan_central, request):
    name = f"test_api_{request.module.__name__.split('.')[-1]}"[:60]
    with named_database(server_url, name) as url:
        built = make_city(url, wuhan_central.graph)
        yield built
        built.engine.dispose()


@pytest.fixture(scope="module")
def client(city, wuhan_central):
    settings = Settings(**{"DATABASE_URL": city.url})
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as test_client:
        yield test_client
