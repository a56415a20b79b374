"""Alarms left without a unit are retried, and a busy unit always has its incident.

- A decision may be a retry (mode ``retry``): an open incident at or above the auto-dispatch
  level that was decided while no unit could be had gets a unit that became available.
- A unit that is dispatched, en route or on scene has an active assignment: constraint
  triggers, checked at commit (a claim writes the unit and its assignment in one statement),
  refuse a unit set busy without one, and an assignment released while its unit stays busy.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BUSY = "('dispatched', 'en_route', 'on_scene')"

_CHECK_BUSY_UNIT = f"""
CREATE FUNCTION check_busy_unit_assigned() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unit integer;
    current text;
BEGIN
    IF TG_TABLE_NAME = 'units' THEN
        unit := NEW.id;
    ELSE
        unit := OLD.unit_id;
    END IF;
    SELECT status INTO current FROM units WHERE id = unit;
    IF current IN {BUSY} AND NOT EXISTS (
            SELECT FROM assignments WHERE unit_id = unit AND released_at IS NULL) THEN
        RAISE EXCEPTION 'unit % is % without an incident: a unit is dispatched by assigning '
                        'it to one', unit, current
            USING ERRCODE = 'check_violation', CONSTRAINT = 'busy_unit_assigned';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    _decision_modes("'auto', 'override', 'recommendation', 'reconcile', 'retry'")
    op.execute(_CHECK_BUSY_UNIT)
    op.execute(f"CREATE CONSTRAINT TRIGGER units_busy_assigned AFTER INSERT OR UPDATE OF status "
               f"ON units DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
               f"WHEN (NEW.status IN {BUSY}) EXECUTE FUNCTION check_busy_unit_assigned()")
    op.execute("CREATE CONSTRAINT TRIGGER assignments_busy_assigned AFTER UPDATE OF released_at "
               "OR DELETE ON assignments DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
               "WHEN (OLD.released_at IS NULL) EXECUTE FUNCTION check_busy_unit_assigned()")


def downgrade() -> None:
    op.execute("DROP TRIGGER assignments_busy_assigned ON assignments")
    op.execute("DROP TRIGGER units_busy_assigned ON units")
    op.execute("DROP FUNCTION check_busy_unit_assigned()")
    op.execute("DELETE FROM dispatch_decisions WHERE mode = 'retry'")
    _decision_modes("'auto', 'override', 'recommendation', 'reconcile'")


def _decision_modes(modes: str) -> None:
    op.drop_constraint(op.f("ck_dispatch_decisions_mode"), "dispatch_decisions")
    op.create_check_constraint(op.f("ck_dispatch_decisions_mode"), "dispatch_decisions",
                               f"mode IN ({modes})")
