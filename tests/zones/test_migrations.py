"""Tables come only from alembic migrations, and the migrations agree with the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers

from zones.migrate import downgrade, upgrade
from zones.models import Base


def table_names(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrade_empties(fresh_database):
    url = fresh_database()
    upgrade(url)
    assert table_names(url) == set(Base.metadata.tables) | {"alembic_version"}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": alembic_helpers.include_object, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        gist = conn.execute(sa.text(
            "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")).scalar()
    engine.dispose()
    geometry_columns = sum(1 for t in Base.metadata.tables.values() for c in t.columns
                           if c.type.__class__.__name__ == "Geometry" and c.type.spatial_index)
    assert gist == geometry_columns
    downgrade(url)
    assert table_names(url) == {"alembic_version"}
    upgrade(url)  # and up again
    assert table_names(url) == set(Base.metadata.tables) | {"alembic_version"}


def test_constraints_keep_bad_rows_out(fresh_database):
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    bad_rows = [
        "INSERT INTO stations (source_key, kind, name, tier_minutes, geom) VALUES "
        "('a', 'fire_brigade', 'x', 1, ST_GeomFromText('POINT(114.3 30.6)', 4326))",
        "INSERT INTO stations (source_key, kind, name, tier_minutes, geom) VALUES "
        "('b', 'police_station', 'x', 2, ST_GeomFromText('POINT(114.3 30.6)', 4326))",
        "INSERT INTO stations (source_key, kind, name, tier_minutes, geom) VALUES "
        "('c', 'police_station', 'x', 1, ST_GeomFromText('POINT(214.3 30.6)', 4326))",
        "INSERT INTO areas (level, code, geom) VALUES ('grid', 'bowtie', ST_GeomFromText("
        "'MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))', 4326))",
        "INSERT INTO units (callsign, kind, status) VALUES ('A1', 'patrol_car', 'asleep')",
        "INSERT INTO stations (source_key, kind, name, tier_minutes, geom) VALUES "
        "('d', 'police_station', 'x', 1, ST_GeomFromText('POINT(114.3 30.6)', 3857))",
    ]
    for sql in bad_rows:
        with engine.connect() as conn:
            try:
                conn.execute(sa.text(sql))
                conn.commit()
            except sa.exc.DBAPIError:
                conn.rollback()
            else:
                raise AssertionError(f"accepted a bad row: {sql}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stations")).scalar() == 0
    engine.dispose()


def test_a_unit_has_one_active_assignment(fresh_database):
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO units (id, callsign, kind) VALUES (1, 'A1', 'patrol_car')"))
        for i in (1, 2):
            conn.execute(sa.text(
                f"INSERT INTO incidents (id, category, priority, geom) VALUES "
                f"({i}, 'theft', 3, ST_GeomFromText('POINT(114.3 30.6)', 4326))"))
        conn.execute(sa.text("INSERT INTO assignments (incident_id, unit_id) VALUES (1, 1)"))
    with engine.connect() as conn:
        try:
            conn.execute(sa.text("INSERT INTO assignments (incident_id, unit_id) VALUES (2, 1)"))
            conn.commit()
            raise AssertionError("one unit got two active assignments")
        except sa.exc.IntegrityError:
            conn.rollback()
    with engine.begin() as conn:  # once released, the unit can be assigned again
        conn.execute(sa.text("UPDATE assignments SET released_at = now()"))
        conn.execute(sa.text("INSERT INTO assignments (incident_id, unit_id) VALUES (2, 1)"))
    engine.dispose()


def test_an_incident_with_decisions_cannot_be_deleted(fresh_database):
    """Decisions are an audit: deleting their incident is refused, not cascaded."""
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        incident = conn.execute(sa.text(
            "INSERT INTO incidents (category, priority, geom) VALUES ('theft', 3, "
            "ST_SetSRID(ST_MakePoint(114.27, 30.6), 4326)) RETURNING id")).scalar()
        conn.execute(sa.text(
            "INSERT INTO dispatch_decisions (incident_id, mode, reason, candidates) "
            "VALUES (:i, 'recommendation', 'test', '[]')"), {"i": incident})
    with pytest.raises(sa.exc.IntegrityError, match="dispatch_decisions"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM incidents WHERE id = :i"), {"i": incident})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM dispatch_decisions")).scalar() == 1
    engine.dispose()
