"""City model: areas, stations, patrol zones, units, hotspots, incidents, assignments, circles.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 13:24:56.290035
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('official', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("level IN ('city', 'district', 'street', 'community', 'grid')", name=op.f('ck_areas_level')),
    sa.CheckConstraint('geom IS NULL OR ST_IsValid(geom)', name=op.f('ck_areas_geom_valid')),
    sa.ForeignKeyConstraint(['parent_id'], ['areas.id'], name=op.f('fk_areas_parent_id_areas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('level', 'code', name=op.f('uq_areas_level_code'))
    )
    op.create_geospatial_index('idx_areas_geom', 'areas', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('cached_circles',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('owner_kind', sa.String(length=8), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('graph_version', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("direction IN ('depart', 'arrive')", name=op.f('ck_cached_circles_direction')),
    sa.CheckConstraint("owner_kind IN ('station', 'unit')", name=op.f('ck_cached_circles_owner_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cached_circles')),
    sa.UniqueConstraint('owner_kind', 'owner_id', 'direction', 'seconds', 'graph_version', name=op.f('uq_cached_circles_owner_kind_owner_id_direction_seconds_graph_version'))
    )
    op.create_geospatial_index('idx_cached_circles_geom', 'cached_circles', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('hotspots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('district', sa.Text(), nullable=True),
    sa.Column('merged_rows', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('patrol_area', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('patrol_line', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("category IN ('school', 'hospital', 'mall', 'metro_station', 'transport_hub')", name=op.f('ck_hotspots_category')),
    sa.CheckConstraint('geom IS NULL OR (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)', name=op.f('ck_hotspots_geom_lonlat')),
    sa.CheckConstraint('patrol_area IS NULL OR ST_IsValid(patrol_area)', name=op.f('ck_hotspots_patrol_area_valid')),
    sa.CheckConstraint('patrol_line IS NULL OR ST_IsValid(patrol_line)', name=op.f('ck_hotspots_patrol_line_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotspots')),
    sa.UniqueConstraint('source_key', name=op.f('uq_hotspots_source_key'))
    )
    op.create_geospatial_index('idx_hotspots_geom', 'hotspots', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_hotspots_patrol_area', 'hotspots', ['patrol_area'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_hotspots_patrol_line', 'hotspots', ['patrol_line'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_hotspots_category'), 'hotspots', ['category'], unique=False)
    op.create_geospatial_table('stations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('tier_minutes', sa.SmallInteger(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('district', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('police_station', 'police_post', 'sub_bureau', 'city_unit', 'armed_patrol_point')", name=op.f('ck_stations_kind')),
    sa.CheckConstraint('geom IS NULL OR (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)', name=op.f('ck_stations_geom_lonlat')),
    sa.CheckConstraint('tier_minutes IN (1, 3, 5)', name=op.f('ck_stations_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('source_key', name=op.f('uq_stations_source_key'))
    )
    op.create_geospatial_index('idx_stations_geom', 'stations', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('patrol_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('official', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('geom IS NULL OR ST_IsValid(geom)', name=op.f('ck_patrol_zones_geom_valid')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_patrol_zones_station_id_stations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_zones'))
    )
    op.create_geospatial_index('idx_patrol_zones_geom', 'patrol_zones', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_patrol_zones_station_id'), 'patrol_zones', ['station_id'], unique=False)
    op.create_geospatial_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('callsign', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('home_station_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'available'"), nullable=False),
    sa.Column('simulated', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('patrol_car', 'motorcycle', 'foot_patrol')", name=op.f('ck_units_kind')),
    sa.CheckConstraint("status IN ('available', 'dispatched', 'en_route', 'on_scene', 'off_duty')", name=op.f('ck_units_status')),
    sa.CheckConstraint('position IS NULL OR (ST_X(position) BETWEEN -180 AND 180 AND ST_Y(position) BETWEEN -90 AND 90)', name=op.f('ck_units_position_lonlat')),
    sa.ForeignKeyConstraint(['home_station_id'], ['stations.id'], name=op.f('fk_units_home_station_id_stations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('callsign', name=op.f('uq_units_callsign'))
    )
    op.create_geospatial_index('idx_units_position', 'units', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_units_home_station_id'), 'units', ['home_station_id'], unique=False)
    op.create_geospatial_table('incidents',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'open'"), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'dispatched', 'arrived', 'closed')", name=op.f('ck_incidents_status')),
    sa.CheckConstraint('geom IS NULL OR (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)', name=op.f('ck_incidents_geom_lonlat')),
    sa.CheckConstraint('priority BETWEEN 1 AND 5', name=op.f('ck_incidents_priority')),
    sa.ForeignKeyConstraint(['grid_id'], ['areas.id'], name=op.f('fk_incidents_grid_id_areas'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_incidents_station_id_stations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['zone_id'], ['patrol_zones.id'], name=op.f('fk_incidents_zone_id_patrol_zones'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_geospatial_index('idx_incidents_geom', 'incidents', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incidents_received_at'), 'incidents', ['received_at'], unique=False)
    op.create_index(op.f('ix_incidents_status'), 'incidents', ['status'], unique=False)
    op.create_table('assignments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eta_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_assignments_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assignments_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    op.create_index(op.f('ix_assignments_incident_id'), 'assignments', ['incident_id'], unique=False)
    op.create_index('uq_assignments_active_unit', 'assignments', ['unit_id'], unique=True, postgresql_where=sa.text('released_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_assignments_active_unit', table_name='assignments', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_index(op.f('ix_assignments_incident_id'), table_name='assignments')
    op.drop_table('assignments')
    op.drop_index(op.f('ix_incidents_status'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_received_at'), table_name='incidents')
    op.drop_geospatial_index('idx_incidents_geom', table_name='incidents', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incidents')
    op.drop_index(op.f('ix_units_home_station_id'), table_name='units')
    op.drop_geospatial_index('idx_units_position', table_name='units', postgresql_using='gist', column_name='position')
    op.drop_geospatial_table('units')
    op.drop_index(op.f('ix_patrol_zones_station_id'), table_name='patrol_zones')
    op.drop_geospatial_index('idx_patrol_zones_geom', table_name='patrol_zones', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('patrol_zones')
    op.drop_geospatial_index('idx_stations_geom', table_name='stations', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('stations')
    op.drop_index(op.f('ix_hotspots_category'), table_name='hotspots')
    op.drop_geospatial_index('idx_hotspots_patrol_line', table_name='hotspots', postgresql_using='gist', column_name='patrol_line')
    op.drop_geospatial_index('idx_hotspots_patrol_area', table_name='hotspots', postgresql_using='gist', column_name='patrol_area')
    op.drop_geospatial_index('idx_hotspots_geom', table_name='hotspots', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('hotspots')
    op.drop_geospatial_index('idx_cached_circles_geom', table_name='cached_circles', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('cached_circles')
    op.drop_geospatial_index('idx_areas_geom', table_name='areas', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('areas')
