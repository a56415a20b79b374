"""Patrol plans: must-patrol targets of the patrol zones (points, lines, areas), the stored plan
of each zone and its loops, each assigned to at most one unit.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SHAPE = ("(kind = 'point' AND GeometryType(geom) = 'POINT') OR "
          "(kind = 'line' AND GeometryType(geom) = 'LINESTRING') OR "
          "(kind = 'area' AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON'))")
_VALID = ("ST_IsValid(geom) AND ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 "
          "AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90")


def upgrade() -> None:
    op.create_table(
        "patrol_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("dwell_s", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("weight", sa.Float(), server_default=sa.text("1"), nullable=False),
        sa.Column("two_way", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=True),
        sa.Column("geom", Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False,
                                   from_text="ST_GeomFromEWKT", name="geometry"),
                  nullable=False),
        sa.CheckConstraint("kind IN ('point', 'line', 'area')",
                           name=op.f("ck_patrol_targets_kind")),
        sa.CheckConstraint("dwell_s >= 0", name=op.f("ck_patrol_targets_dwell")),
        sa.CheckConstraint("weight > 0", name=op.f("ck_patrol_targets_weight")),
        sa.CheckConstraint(_SHAPE, name=op.f("ck_patrol_targets_geom_kind")),
        sa.CheckConstraint(_VALID, name=op.f("ck_patrol_targets_geom_valid")),
        sa.ForeignKeyConstraint(["zone_id"], ["patrol_zones.id"], ondelete="CASCADE",
                                name=op.f("fk_patrol_targets_zone_id_patrol_zones")),
        sa.ForeignKeyConstraint(["hotspot_id"], ["hotspots.id"], ondelete="SET NULL",
                                name=op.f("fk_patrol_targets_hotspot_id_hotspots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_targets")),
        sa.UniqueConstraint("zone_id", "source_key",
                            name=op.f("uq_patrol_targets_zone_id_source_key")))
    op.create_index(op.f("ix_patrol_targets_zone_id"), "patrol_targets", ["zone_id"])
    op.create_geospatial_index("idx_patrol_targets_geom", "patrol_targets", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("loop_seconds", sa.Integer(), nullable=False),
        sa.Column("units_limit", sa.Integer(), nullable=True),
        sa.Column("graph_version", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("unreachable", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("left_out", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("loop_seconds > 0", name=op.f("ck_patrol_plans_loop_seconds")),
        sa.ForeignKeyConstraint(["zone_id"], ["patrol_zones.id"], ondelete="CASCADE",
                                name=op.f("fk_patrol_plans_zone_id_patrol_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_plans")),
        sa.UniqueConstraint("zone_id", name=op.f("uq_patrol_plans_zone_id")))
    op.create_table(
        "patrol_loops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("loop", sa.SmallInteger(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("stops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("geom", Geometry(geometry_type="LINESTRING", srid=4326, spatial_index=False,
                                   from_text="ST_GeomFromEWKT", name="geometry"),
                  nullable=False),
        sa.CheckConstraint("loop >= 1", name=op.f("ck_patrol_loops_loop")),
        sa.ForeignKeyConstraint(["plan_id"], ["patrol_plans.id"], ondelete="CASCADE",
                                name=op.f("fk_patrol_loops_plan_id_patrol_plans")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], ondelete="SET NULL",
                                name=op.f("fk_patrol_loops_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_loops")),
        sa.UniqueConstraint("plan_id", "loop", name=op.f("uq_patrol_loops_plan_id_loop")))
    op.create_geospatial_index("idx_patrol_loops_geom", "patrol_loops", ["geom"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_index("uq_patrol_loops_unit", "patrol_loops", ["unit_id"], unique=True,
                    postgresql_where=sa.text("unit_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("patrol_loops")
    op.drop_table("patrol_plans")
    op.drop_table("patrol_targets")
