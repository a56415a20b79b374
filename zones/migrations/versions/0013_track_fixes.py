"""GPS tracks: every fix a unit reports, kept by unit and time (``track_fixes``).

The primary key (unit_id, at) serves a unit's track over a time range and refuses a second fix
of one unit at one instant; a BRIN index on ``at`` serves the whole fleet over a time range at
almost no cost per insert (fixes arrive in time order). ``jump`` marks a fix reached from the
unit's last good fix only faster than the plausible speed: kept for replay, left out of
matching.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "track_fixes",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("jump", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("geom IS NULL OR (ST_X(geom) BETWEEN -180 AND 180 "
                           "AND ST_Y(geom) BETWEEN -90 AND 90)",
                           name=op.f("ck_track_fixes_geom_lonlat")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], ondelete="CASCADE",
                                name=op.f("fk_track_fixes_unit_id_units")),
        sa.PrimaryKeyConstraint("unit_id", "at", name=op.f("pk_track_fixes")))
    op.create_index(op.f("ix_track_fixes_at"), "track_fixes", ["at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index(op.f("ix_track_fixes_at"), table_name="track_fixes")
    op.drop_table("track_fixes")
