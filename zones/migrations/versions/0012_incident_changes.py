"""A change feed for incidents, as units have one (migration 0004): every write to an incident
stamps the row with the writing transaction's id (``changed_xid``), so that a reader that
remembers the oldest transaction running at its last read finds every incident changed since
among the rows at or above it. Assignments and releases always update their incident too, so
the stamp covers the unit an incident is given.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_STAMP = """
CREATE FUNCTION incidents_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.add_column("incidents", sa.Column("changed_xid", sa.BigInteger(), nullable=False,
                                         server_default=sa.text(
                                             "pg_current_xact_id()::text::bigint")))
    op.create_index(op.f("ix_incidents_changed_xid"), "incidents", ["changed_xid"])
    op.execute(_STAMP)
    op.execute("CREATE TRIGGER incidents_stamp_change BEFORE UPDATE ON incidents "
               "FOR EACH ROW EXECUTE FUNCTION incidents_stamp_change()")


def downgrade() -> None:
    op.execute("DROP TRIGGER incidents_stamp_change ON incidents")
    op.execute("DROP FUNCTION incidents_stamp_change()")
    op.drop_index(op.f("ix_incidents_changed_xid"), table_name="incidents")
    op.drop_column("incidents", "changed_xid")
