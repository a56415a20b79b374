"""The city model in PostGIS: areas, patrol zones, stations, units, hotspots, incidents, and the
must-patrol targets and patrol plans of the zones, and the units' GPS tracks.

Geometries are stored in WGS-84 (EPSG:4326); distances and areas are computed in a metric CRS by
the queries. Every geometry column has a GiST index and a CHECK that the geometry is valid; kinds
and statuses are checked against fixed lists. Tables are created only by the alembic migrations
in ``zones/migrations``; a test checks that they and these models agree.
"""

from zones.models.base import (AREA_LEVELS, DECISION_MODES, DEFAULT_TIER_MINUTES, HOTSPOT_CATEGORIES,
                               INCIDENT_STATUSES, MOVE_STATUSES, ROLES, SRID, STATION_KINDS,
                               TARGET_KINDS, UNIT_KINDS, UNIT_STATUSES, Base)
from zones.models.audit import AuditEvent
from zones.models.city import Area, CachedCircle, Hotspot, PatrolZone, Station
from zones.models.dispatch import (ApiKey, Assignment, DispatchDecision, FleetEpoch, Incident,
                                   StatusTransition, Unit, UnitPosition)
from zones.models.moves import Move
from zones.models.patrol_plans import PatrolLoop, PatrolPlan, PatrolTarget
from zones.models.tracks import TrackFix

__all__ = ["AREA_LEVELS", "DECISION_MODES", "DEFAULT_TIER_MINUTES", "HOTSPOT_CATEGORIES",
           "INCIDENT_STATUSES", "MOVE_STATUSES", "ROLES", "SRID", "STATION_KINDS", "TARGET_KINDS",
           "UNIT_KINDS", "UNIT_STATUSES", "ApiKey", "Area", "AuditEvent", "Assignment", "Base",
           "CachedCircle", "DispatchDecision", "FleetEpoch", "Hotspot", "Incident", "Move",
           "PatrolLoop", "PatrolPlan", "PatrolTarget", "PatrolZone", "Station", "StatusTransition",
           "TrackFix", "Unit", "UnitPosition"]
