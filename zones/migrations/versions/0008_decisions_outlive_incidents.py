"""Dispatch decisions are an audit: deleting an incident no longer deletes its decisions (the
foreign key refuses the deletion instead of cascading).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_FK = "fk_dispatch_decisions_incident_id_incidents"


def upgrade() -> None:
    op.drop_constraint(_FK, "dispatch_decisions", type_="foreignkey")
    op.create_foreign_key(_FK, "dispatch_decisions", "incidents", ["incident_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint(_FK, "dispatch_decisions", type_="foreignkey")
    op.create_foreign_key(_FK, "dispatch_decisions", "incidents", ["incident_id"], ["id"],
                          ondelete="CASCADE")
