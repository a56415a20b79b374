"""Liveness, without a key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ConfigDep, EngineDep
from api.errors import errors
from zones.database import ping

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    graph: str | None
    nodes: int


@router.get("/health", response_model=Health, responses=errors(503))
def read_health(engine: EngineDep, config: ConfigDep) -> dict:
    """The graph in memory and whether the database answers (503 when it does not)."""
    ping(engine)
    return {"status": "ok", "graph": config.graph.meta.get("source"),
            "nodes": config.graph.n_nodes}
