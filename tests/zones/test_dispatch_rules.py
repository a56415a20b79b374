"""The database itself refuses what would break dispatch, whatever client writes to it: a
second active unit on an incident, a unit claimed for a closed incident, an illegal status
change of an incident or a unit."""

import pytest
import sqlalchemy as sa


POINT = "ST_GeomFromText('POINT(114.3 30.6)', 4326)"


@pytest.fixture()
def engine(two_units):
    engine = sa.create_engine(two_units)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO incidents (id, category, priority, geom) VALUES "
                             f"(1, 'theft', 1, {POINT}), (2, 'fight', 1, {POINT})"))
    yield engine
    engine.dispose()


def refused(engine: sa.Engine, *statements: str) -> str:
    """Run ``statements`` in one transaction, which must fail; returns the error's text."""
    with engine.connect() as conn:
        try:
            for sql in statements:
                conn.execute(sa.text(sql))
            conn.commit()
        except sa.exc.DBAPIError as error:
            conn.rollback()
            return str(error.orig)
    raise AssertionError(f"accepted: {statements}")


def run(engine: sa.Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(sa.text(sql))


def test_an_incident_has_one_active_unit(engine):
    run(engine, "INSERT INTO assignments (incident_id, unit_id) VALUES (1, 1)")
    message = refused(engine, "INSERT INTO assignments (incident_id, unit_id) VALUES (1, 2)")
    assert "uq_assignments_active_incident" in message
    run(engine, "UPDATE assignments SET released_at = now()",
        "INSERT INTO assignments (incident_id, unit_id) VALUES (1, 2)")  # after a release


def test_no_unit_is_assigned_to_a_closed_incident(engine):
    run(engine, "UPDATE incidents SET status = 'closed', closed_at = now() WHERE id = 1")
    message = refused(engine, "INSERT INTO assignments (incident_id, unit_id) VALUES (1, 1)")
    assert "incident 1 is closed" in message


@pytest.mark.parametrize("path, bad", [
    (["dispatched", "closed"], "dispatched"),   # a closed incident set back to dispatched
    (["closed"], "open"),
    (["dispatched", "arrived"], "dispatched"),
    ([], "arrived"),                            # open straight to arrived
])
def test_illegal_incident_transitions(engine, path, bad):
    for status in path:
        run(engine, f"UPDATE incidents SET status = '{status}' WHERE id = 1")
    before = path[-1] if path else "open"
    message = refused(engine, f"UPDATE incidents SET status = '{bad}' WHERE id = 1")
    assert f"incident 1 cannot go from {before} to {bad}" in message


@pytest.mark.parametrize("path, bad", [
    (["off_duty"], "dispatched"),       # only an available unit is claimed
    ([], "on_scene"),
    (["dispatched"], "off_duty"),
])
def test_illegal_unit_transitions(engine, path, bad):
    for status in path:
        claim = ("INSERT INTO assignments (incident_id, unit_id) VALUES (1, 1)"
                 if status == "dispatched" else "SELECT 1")
        run(engine, claim, f"UPDATE units SET status = '{status}' WHERE id = 1")
    before = path[-1] if path else "available"
    message = refused(engine, f"UPDATE units SET status = '{bad}' WHERE id = 1")
    assert f"unit 1 cannot go from {before} to {bad}" in message


def test_legal_lifecycles_pass(engine):
    run(engine,
        "UPDATE incidents SET status = 'dispatched' WHERE id = 1",
        "UPDATE incidents SET status = 'arrived' WHERE id = 1",
        "UPDATE incidents SET status = 'closed' WHERE id = 1",
        "UPDATE incidents SET status = 'closed' WHERE id = 2",
        "UPDATE units SET status = 'dispatched' WHERE id = 1",
        "UPDATE units SET status = 'en_route' WHERE id = 1",
        "UPDATE units SET status = 'on_scene' WHERE id = 1",
        "UPDATE units SET status = 'available' WHERE id = 1",
        "UPDATE units SET status = 'off_duty' WHERE id = 2",
        "UPDATE units SET status = 'available' WHERE id = 2")


def test_a_busy_unit_has_an_active_assignment(engine):
    """Checked at commit: a claim writes the unit and its assignment in one statement."""
    message = refused(engine, "UPDATE units SET status = 'dispatched' WHERE id = 1")
    assert "unit 1 is dispatched without an incident" in message
    run(engine, "UPDATE units SET status = 'dispatched' WHERE id = 1",
        "INSERT INTO assignments (incident_id, unit_id) VALUES (1, 1)")
    message = refused(engine, "UPDATE assignments SET released_at = now() WHERE unit_id = 1")
    assert "unit 1 is dispatched without an incident" in message
    message = refused(engine, "UPDATE units SET status = 'en_route' WHERE id = 1",
                      "DELETE FROM assignments WHERE unit_id = 1")
    assert "unit 1 is en_route without an incident" in message
    run(engine, "UPDATE assignments SET released_at = now() WHERE unit_id = 1",
        "UPDATE units SET status = 'available' WHERE id = 1")
