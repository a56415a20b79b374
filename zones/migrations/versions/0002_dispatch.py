"""Dispatch: API keys, the audit of dispatch decisions, incident input CRS and road position.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:46:39.762046
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('dispatcher', 'planner', 'admin')", name=op.f('ck_api_keys_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('dispatch_decisions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('requested_by', sa.Text(), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('chosen_unit_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('candidates', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("mode IN ('auto', 'override', 'recommendation')", name=op.f('ck_dispatch_decisions_mode')),
    sa.ForeignKeyConstraint(['chosen_unit_id'], ['units.id'], name=op.f('fk_dispatch_decisions_chosen_unit_id_units'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_dispatch_decisions_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_decisions'))
    )
    op.create_index(op.f('ix_dispatch_decisions_incident_id'), 'dispatch_decisions', ['incident_id'], unique=False)
    op.add_geospatial_column('incidents', sa.Column('road_geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True))
    op.add_column('incidents', sa.Column('input_crs', sa.String(length=8), server_default=sa.text("'wgs84'"), nullable=False))
    op.add_column('incidents', sa.Column('unit_kind', sa.String(length=16), server_default=sa.text("'patrol_car'"), nullable=False))


def downgrade() -> None:
    op.drop_column('incidents', 'unit_kind')
    op.drop_column('incidents', 'input_crs')
    op.drop_geospatial_column('incidents', 'road_geom')
    op.drop_index(op.f('ix_dispatch_decisions_incident_id'), table_name='dispatch_decisions')
    op.drop_table('dispatch_decisions')
    op.drop_table('api_keys')
