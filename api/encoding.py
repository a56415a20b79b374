"""JSON replies encoded without FastAPI's generic validation and encoding (the alarm path)."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi.responses import Response


def encoded(content: dict, status: int) -> Response:
    """``content`` as a JSON reply; datetimes as ISO 8601 (UTC as Z), as FastAPI writes them."""
    return Response(json.dumps(content, ensure_ascii=False, default=_json_value),
                    status_code=status, media_type="application/json")


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
