"""A change feed for the fleet: API workers keep every unit in memory and read only what changed.

Each write to a unit stamps the row with the writing transaction's id (``changed_xid``) and a
revision from a sequence (``revision``; it grows with every write to the row, in commit order,
since writers of one row wait for each other's commit). A reader that remembers the oldest
transaction still running at its last read (``pg_snapshot_xmin``) finds every change it has not
seen among the rows with ``changed_xid`` at or above it. Deleting units, or changing stations
(the units' homes), changes ``fleet_epoch.epoch`` instead: readers then read the whole fleet.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STAMP = """
CREATE FUNCTION units_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := nextval('units_revision_seq');
    NEW.changed_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$
"""

_BUMP = """
CREATE FUNCTION fleet_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fleet_epoch SET epoch = (random() * 9.2e18)::bigint;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute("CREATE SEQUENCE units_revision_seq")
    op.add_column("units", sa.Column("revision", sa.BigInteger(), nullable=False,
                                     server_default=sa.text("nextval('units_revision_seq')")))
    op.add_column("units", sa.Column("changed_xid", sa.BigInteger(), nullable=False,
                                     server_default=sa.text(
                                         "pg_current_xact_id()::text::bigint")))
    op.create_index(op.f("ix_units_changed_xid"), "units", ["changed_xid"])
    op.execute(_STAMP)
    op.execute("CREATE TRIGGER units_stamp_change BEFORE INSERT OR UPDATE ON units "
               "FOR EACH ROW EXECUTE FUNCTION units_stamp_change()")
    op.create_table(
        "fleet_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False,
                  server_default=sa.text("(random() * 9.2e18)::bigint")),
        sa.CheckConstraint("id = 1", name=op.f("ck_fleet_epoch_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_epoch")))
    op.execute("INSERT INTO fleet_epoch (id) VALUES (1)")
    op.execute(_BUMP)
    op.execute("CREATE TRIGGER units_deleted AFTER DELETE OR TRUNCATE ON units "
               "FOR EACH STATEMENT EXECUTE FUNCTION fleet_epoch_bump()")
    op.execute("CREATE TRIGGER stations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
               "ON stations FOR EACH STATEMENT EXECUTE FUNCTION fleet_epoch_bump()")


def downgrade() -> None:
    op.execute("DROP TRIGGER stations_changed ON stations")
    op.execute("DROP TRIGGER units_deleted ON units")
    op.execute("DROP FUNCTION fleet_epoch_bump()")
    op.drop_table("fleet_epoch")
    op.execute("DROP TRIGGER units_stamp_change ON units")
    op.execute("DROP FUNCTION units_stamp_change()")
    op.drop_index(op.f("ix_units_changed_xid"), table_name="units")
    op.drop_column("units", "changed_xid")
    op.drop_column("units", "revision")
    op.execute("DROP SEQUENCE units_revision_seq")
