"""Move-up: the unit status ``relocating`` (a unit driving to a waiting point on a dispatcher's
acceptance; it can still be dispatched) with its status changes, and the table of recommended
moves.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_STATUSES = ("available", "dispatched", "en_route", "on_scene", "off_duty")
_MOVE_STATUSES = ("proposed", "accepted", "declined", "superseded", "arrived", "interrupted")
_TRANSITIONS = (("available", "relocating"), ("relocating", "available"),
                ("relocating", "dispatched"), ("relocating", "off_duty"))


def _unit_statuses(statuses: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_units_status"), "units")
    op.create_check_constraint(op.f("ck_units_status"), "units",
                               f"status IN ({', '.join(repr(s) for s in statuses)})")


def upgrade() -> None:
    _unit_statuses(_STATUSES + ("relocating",))
    op.execute("INSERT INTO status_transitions (entity, from_status, to_status) VALUES "
               + ", ".join(f"('unit', '{a}', '{b}')" for a, b in _TRANSITIONS))
    op.create_table(
        "moves",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("site_kind", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("site_name", sa.Text(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("drive_seconds", sa.Float(), nullable=False),
        sa.Column("gain", sa.Float(), nullable=False),
        sa.Column("coverage_before", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("coverage_after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'proposed'"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN (" + ", ".join(repr(s) for s in _MOVE_STATUSES) + ")",
                           name=op.f("ck_moves_status")),
        sa.CheckConstraint("site_kind IN ('station', 'road_node')",
                           name=op.f("ck_moves_site_kind")),
        sa.CheckConstraint("reason IN ('event', 'rebalance')", name=op.f("ck_moves_reason")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_moves_unit_id_units"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moves")))
    op.create_index(op.f("ix_moves_unit_id"), "moves", ["unit_id"])
    op.create_index("uq_moves_accepted_unit", "moves", ["unit_id"], unique=True,
                    postgresql_where=sa.text("status = 'accepted'"))
    op.create_index("ix_moves_open", "moves", ["status"],
                    postgresql_where=sa.text("status IN ('proposed', 'accepted')"))


def downgrade() -> None:
    op.drop_table("moves")
    op.execute("UPDATE units SET status = 'available' WHERE status = 'relocating'")
    op.execute("DELETE FROM status_transitions WHERE entity = 'unit' AND "
               "(from_status = 'relocating' OR to_status = 'relocating')")
    _unit_statuses(_STATUSES)
