"""The alarm path's rules in the database.

- GPS fixes move to a table of their own, ``unit_positions``: writing a batch of fixes no longer
  row-locks the units, which is what an alarm's claim (``FOR UPDATE SKIP LOCKED``) locks and
  would skip. Fixes are stamped for the fleet's change feed as units are (migration 0004).
- At most one active assignment per incident (as per unit); an assignment only for an open or
  dispatched incident (a trigger, which locks the incident row); only the status changes listed
  in ``status_transitions`` (triggers on incidents and units).
- ``incidents.decided_at``: when the first decision was recorded (the reconciler decides the
  incidents left without one); ``api_key_id``, ``idempotency_key`` and ``request_digest``: a
  client's retry with the same Idempotency-Key finds the incident it stored the first time.
- A decision may be made by the reconciler (mode ``reconcile``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INCIDENT_TRANSITIONS = (("open", "dispatched"), ("open", "closed"), ("dispatched", "arrived"),
                        ("dispatched", "closed"), ("arrived", "closed"))
UNIT_TRANSITIONS = (("available", "dispatched"), ("available", "off_duty"),
                    ("off_duty", "available"), ("dispatched", "en_route"),
                    ("dispatched", "on_scene"), ("en_route", "on_scene"), ("on_scene", "en_route"),
                    ("dispatched", "available"), ("en_route", "available"),
                    ("on_scene", "available"))

_CHECK_TRANSITION = """
CREATE FUNCTION check_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM status_transitions t WHERE t.entity = TG_ARGV[0]
                   AND t.from_status = OLD.status AND t.to_status = NEW.status) THEN
        RAISE EXCEPTION '% % cannot go from % to %', TG_ARGV[0], OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition';
    END IF;
    RETURN NEW;
END $$
"""

_CHECK_ASSIGNMENT = """
CREATE FUNCTION check_assignment_incident() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current text;
BEGIN
    SELECT status INTO current FROM incidents WHERE id = NEW.incident_id FOR NO KEY UPDATE;
    IF current NOT IN ('open', 'dispatched') THEN
        RAISE EXCEPTION 'incident % is %; a unit can be assigned only to an open or dispatched '
                        'incident', NEW.incident_id, current
            USING ERRCODE = 'check_violation', CONSTRAINT = 'assignment_incident_open';
    END IF;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.create_geospatial_table(
        "unit_positions",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", Geometry(geometry_type="POINT", srid=4326, dimension=2,
                                       spatial_index=False, from_text="ST_GeomFromEWKT",
                                       name="geometry"), nullable=False),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), sa.Computed("ST_X(position)", persisted=True)),
        sa.Column("lat", sa.Float(), sa.Computed("ST_Y(position)", persisted=True)),
        sa.Column("revision", sa.BigInteger(), nullable=False,
                  server_default=sa.text("nextval('units_revision_seq')")),
        sa.Column("changed_xid", sa.BigInteger(), nullable=False,
                  server_default=sa.text("pg_current_xact_id()::text::bigint")),
        sa.CheckConstraint("position IS NULL OR (ST_X(position) BETWEEN -180 AND 180 AND "
                           "ST_Y(position) BETWEEN -90 AND 90)",
                           name=op.f("ck_unit_positions_position_lonlat")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_unit_positions_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_unit_positions")))
    op.create_geospatial_index("idx_unit_positions_position", "unit_positions", ["position"],
                               unique=False, postgresql_using="gist", postgresql_ops={})
    op.create_index(op.f("ix_unit_positions_changed_xid"), "unit_positions", ["changed_xid"])
    op.execute("INSERT INTO unit_positions (unit_id, position, position_at) "
               "SELECT id, position, coalesce(position_at, to_timestamp(0)) FROM units "
               "WHERE position IS NOT NULL")
    op.execute("CREATE TRIGGER unit_positions_stamp_change BEFORE INSERT OR UPDATE ON "
               "unit_positions FOR EACH ROW EXECUTE FUNCTION units_stamp_change()")
    op.drop_column("units", "lat")
    op.drop_column("units", "lon")
    op.drop_geospatial_index("idx_units_position", table_name="units",
                             postgresql_using="gist", column_name="position")
    op.drop_constraint(op.f("ck_units_position_lonlat"), "units")
    op.drop_column("units", "position_at")
    op.drop_geospatial_column("units", "position")

    op.create_index("uq_assignments_active_incident", "assignments", ["incident_id"],
                    unique=True, postgresql_where=sa.text("released_at IS NULL"))
    op.execute(_CHECK_ASSIGNMENT)
    op.execute("CREATE TRIGGER assignments_incident_open BEFORE INSERT ON assignments "
               "FOR EACH ROW EXECUTE FUNCTION check_assignment_incident()")

    transitions = op.create_table(
        "status_transitions",
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("entity IN ('incident', 'unit')",
                           name=op.f("ck_status_transitions_entity")),
        sa.PrimaryKeyConstraint("entity", "from_status", "to_status",
                                name=op.f("pk_status_transitions")))
    op.bulk_insert(transitions, [
        {"entity": entity, "from_status": a, "to_status": b}
        for entity, pairs in (("incident", INCIDENT_TRANSITIONS), ("unit", UNIT_TRANSITIONS))
        for a, b in pairs])
    op.execute(_CHECK_TRANSITION)
    for table, entity in (("incidents", "incident"), ("units", "unit")):
        op.execute(f"CREATE TRIGGER {table}_status_transition BEFORE UPDATE OF status ON {table} "
                   f"FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
                   f"EXECUTE FUNCTION check_status_transition('{entity}')")

    op.add_column("incidents", sa.Column("decided_at", sa.DateTime(timezone=True)))
    op.add_column("incidents", sa.Column("api_key_id", sa.Integer()))
    op.add_column("incidents", sa.Column("idempotency_key", sa.String(length=255)))
    op.add_column("incidents", sa.Column("request_digest", sa.String(length=64)))
    op.create_foreign_key(op.f("fk_incidents_api_key_id_api_keys"), "incidents", "api_keys",
                          ["api_key_id"], ["id"], ondelete="SET NULL")
    op.execute("UPDATE incidents i SET decided_at = coalesce("
               "(SELECT min(d.decided_at) FROM dispatch_decisions d WHERE d.incident_id = i.id), "
               "CASE WHEN i.status <> 'open' THEN i.received_at END)")
    op.create_index("uq_incidents_idempotency_key", "incidents",
                    ["api_key_id", "idempotency_key"], unique=True,
                    postgresql_where=sa.text("idempotency_key IS NOT NULL"))
    op.create_index("ix_incidents_undecided", "incidents", ["received_at"],
                    postgresql_where=sa.text("decided_at IS NULL"))
    _decision_modes("'auto', 'override', 'recommendation', 'reconcile'")


def downgrade() -> None:
    op.execute("DELETE FROM dispatch_decisions WHERE mode = 'reconcile'")
    _decision_modes("'auto', 'override', 'recommendation'")
    op.drop_index("ix_incidents_undecided", table_name="incidents")
    op.drop_index("uq_incidents_idempotency_key", table_name="incidents")
    op.drop_constraint(op.f("fk_incidents_api_key_id_api_keys"), "incidents")
    for column in ("request_digest", "idempotency_key", "api_key_id", "decided_at"):
        op.drop_column("incidents", column)
    for table in ("incidents", "units"):
        op.execute(f"DROP TRIGGER {table}_status_transition ON {table}")
    op.execute("DROP FUNCTION check_status_transition()")
    op.drop_table("status_transitions")
    op.execute("DROP TRIGGER assignments_incident_open ON assignments")
    op.execute("DROP FUNCTION check_assignment_incident()")
    op.drop_index("uq_assignments_active_incident", table_name="assignments")

    op.add_geospatial_column("units", sa.Column("position", Geometry(
        geometry_type="POINT", srid=4326, dimension=2, spatial_index=False,
        from_text="ST_GeomFromEWKT", name="geometry"), nullable=True))
    op.add_column("units", sa.Column("position_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(op.f("ck_units_position_lonlat"), "units",
                               "position IS NULL OR (ST_X(position) BETWEEN -180 AND 180 AND "
                               "ST_Y(position) BETWEEN -90 AND 90)")
    op.create_geospatial_index("idx_units_position", "units", ["position"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.add_column("units", sa.Column("lon", sa.Float(), sa.Computed("ST_X(position)",
                                                                     persisted=True)))
    op.add_column("units", sa.Column("lat", sa.Float(), sa.Computed("ST_Y(position)",
                                                                     persisted=True)))
    op.execute("UPDATE units u SET position = p.position, position_at = p.position_at "
               "FROM unit_positions p WHERE p.unit_id = u.id")
    op.drop_geospatial_table("unit_positions")


def _decision_modes(modes: str) -> None:
    op.drop_constraint(op.f("ck_dispatch_decisions_mode"), "dispatch_decisions")
    op.create_check_constraint(op.f("ck_dispatch_decisions_mode"), "dispatch_decisions",
                               f"mode IN ({modes})")
