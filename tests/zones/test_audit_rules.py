"""The audit cannot be rewritten by the service: it connects as ``patrol_service``, which may
read and add audit rows and decisions but not change, delete or truncate them, nor alter any
table; an audited incident or unit cannot be deleted. Tables made by later migrations are
usable by the role without a grant of their own."""

import psycopg
import pytest
import sqlalchemy as sa

from zones.database import service_role_url
from zones.migrate import upgrade

POINT = "ST_GeomFromText('POINT(114.3 30.6)', 4326)"


@pytest.fixture()
def urls(fresh_database):
    """(owner URL, service URL) of a migrated database with one unit, one incident, one
    decision and one audit row."""
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO units (id, callsign, kind) VALUES (1, 'A1', "
                             "'patrol_car')"))
        conn.execute(sa.text(f"INSERT INTO incidents (id, category, priority, geom) VALUES "
                             f"(1, 'theft', 1, {POINT})"))
        conn.execute(sa.text("INSERT INTO dispatch_decisions (incident_id, mode, reason, "
                             "candidates) VALUES (1, 'auto', 'test', '[]')"))
    engine.dispose()
    return url, service_role_url(url)


def as_role(url: str, sql: str) -> None:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(sql)


def test_the_service_role_adds_audit_rows_but_cannot_change_or_delete_them(urls):
    owner, service = urls
    as_role(service, "INSERT INTO audit_events (actor, action, incident_id, unit_id) "
                     "VALUES ('key 1 (dispatcher)', 'close', 1, 1)")
    as_role(service, "SELECT * FROM audit_events")
    for table in ("audit_events", "dispatch_decisions"):
        for sql in (f"UPDATE {table} SET incident_id = 1", f"DELETE FROM {table}",
                    f"TRUNCATE {table}", f"ALTER TABLE {table} ADD COLUMN note text"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(service, sql)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(service, "ALTER TABLE units ADD COLUMN note text")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(service, "DROP TABLE incidents CASCADE")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(service, "UPDATE alembic_version SET version_num = '0001'")
    as_role(service, "UPDATE units SET simulated = true")  # the rest is the service's to write
    as_role(owner, "UPDATE audit_events SET details = '{\"checked\": true}'")  # the owner may


def test_an_audited_incident_or_unit_cannot_be_deleted(urls):
    owner, service = urls
    as_role(service, "INSERT INTO audit_events (actor, action, incident_id, unit_id) "
                     "VALUES ('reconciler', 'reconcile', 1, 1)")
    for sql in ("DELETE FROM incidents WHERE id = 1", "DELETE FROM units WHERE id = 1"):
        for url in (owner, service):
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                as_role(url, sql)


def test_a_table_made_by_a_later_migration_is_usable_by_the_service_role(urls):
    owner, service = urls
    as_role(owner, "CREATE TABLE later_feature (id bigserial PRIMARY KEY, note text)")
    as_role(service, "INSERT INTO later_feature (note) VALUES ('x')")
    as_role(service, "UPDATE later_feature SET note = 'y'")
    as_role(service, "DELETE FROM later_feature")
