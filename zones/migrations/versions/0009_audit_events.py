"""The audit of state changes, and the role the service connects as.

- ``audit_events``: one row per state change (arrive, close, unit status, override, reconcile,
  retry...): who (``actor``: the API key's label, or ``reconciler``/``system``; ``api_key_id``),
  when (``at``), what (``action``, ``details``), and the incident and unit concerned. Neither
  an incident nor a unit with audit rows can be deleted (no cascade).
- The role ``patrol_service`` (created here without LOGIN if it does not exist; the embedded
  cluster creates it with LOGIN): it may read and write every table, as tables made by later
  migrations too (default privileges of the migrating role), but it may only read and add to
  ``audit_events`` and ``dispatch_decisions`` (no UPDATE, DELETE or TRUNCATE), and as it owns
  no table it can alter none. Migrations run as the owner.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ROLE = "patrol_service"
#: Tables the service may only read and add to.
APPEND_ONLY = ("audit_events", "dispatch_decisions")

_CREATE_ROLE = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by another database's migration: roles are cluster-wide
END $$
"""


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("details", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"],
                                name=op.f("fk_audit_events_api_key_id_api_keys")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_audit_events_incident_id_incidents")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_audit_events_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")))
    for column in ("incident_id", "unit_id", "at"):
        op.create_index(op.f(f"ix_audit_events_{column}"), "audit_events", [column])

    op.execute(_CREATE_ROLE)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {ROLE}")


def downgrade() -> None:
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"REVOKE USAGE, SELECT ON SEQUENCES FROM {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
    op.drop_table("audit_events")  # the role stays: it is the cluster's, other databases use it
