"""API keys: an optional expiry, and the ``unit`` role of an in-car terminal, bound to its unit.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("unit_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_api_keys_unit_id_units"), "api_keys", "units", ["unit_id"],
                          ["id"], ondelete="CASCADE")
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_role"), "api_keys",
                               "role IN ('dispatcher', 'planner', 'admin', 'unit')")
    op.create_check_constraint(op.f("ck_api_keys_unit_key"), "api_keys",
                               "(role = 'unit') = (unit_id IS NOT NULL)")


def downgrade() -> None:
    op.execute("DELETE FROM api_keys WHERE role = 'unit'")
    op.drop_constraint(op.f("ck_api_keys_unit_key"), "api_keys", type_="check")
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_role"), "api_keys",
                               "role IN ('dispatcher', 'planner', 'admin')")
    op.drop_constraint(op.f("fk_api_keys_unit_id_units"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "unit_id")
    op.drop_column("api_keys", "expires_at")
