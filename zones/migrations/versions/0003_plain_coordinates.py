"""Plain lon/lat columns on units and stations, generated from their geometry.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, column in (("units", "position"), ("stations", "geom")):
        op.add_column(table, sa.Column("lon", sa.Float(), sa.Computed(f"ST_X({column})",
                                                                       persisted=True)))
        op.add_column(table, sa.Column("lat", sa.Float(), sa.Computed(f"ST_Y({column})",
                                                                       persisted=True)))


def downgrade() -> None:
    for table in ("units", "stations"):
        op.drop_column(table, "lat")
        op.drop_column(table, "lon")
