"""The zone tests use the database fixtures of tests/conftest.py."""

import pytest
import sqlalchemy as sa

from zones.migrate import upgrade


@pytest.fixture()
def two_units(fresh_database) -> str:
    """URL of a fresh migrated database holding units 1 (A1) and 2 (A2), patrol cars."""
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO units (id, callsign, kind) VALUES "
                             "(1, 'A1', 'patrol_car'), (2, 'A2', 'patrol_car')"))
    engine.dispose()
    return url
