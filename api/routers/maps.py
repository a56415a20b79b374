"""The planners' coverage map."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import CoverageMapsDep, Planner
from api.errors import errors
from api.inputs import INT32_MAX, choice
from zones.models import HOTSPOT_CATEGORIES

router = APIRouter(prefix="/maps", tags=["maps"], responses=errors(401, 403, 422, 503))


@router.get("/coverage", response_class=HTMLResponse,
            responses={200: {"description": "the map, an HTML page"}, **errors(404)})
def read_coverage_map(coverage_maps: CoverageMapsDep, caller: Planner,
                      zone: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
                      category: choice("hotspot category", HOTSPOT_CATEGORIES) | None = None,
                      coords: Literal["wgs84", "gcj02"] = "wgs84") -> HTMLResponse:
    """The planners' coverage map as an HTML page (see ``patrol map coverage``). Gathered data is
    kept for ten minutes per zone and category: stations change rarely."""
    page, _ = coverage_maps.draw(zone_id=zone, category=category, coords=coords)
    return HTMLResponse(page.get_root().render())
