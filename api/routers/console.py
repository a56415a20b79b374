"""The dispatch console: its page and its push channel.

Signing in. The API knows dispatchers by their key in the ``X-API-Key`` header, and the page
makes every call (create, dispatch, arrive, close) with that header, as any client does, so
every action goes through the same checks and audit. The push channel is Server-Sent Events;
the browser's ``EventSource`` cannot send headers, so the page reads the stream with ``fetch()``
instead, with the same header. That keeps one way of signing in: the key never appears in a URL
(nor so in access logs, browser history or a Referer), and no cookie is set, so no other site
can make the browser act with it (no CSRF). The page keeps the key in ``sessionStorage``: it
lasts as long as the browser tab, and a reload does not ask for it again.

``/console/events`` is left out of the OpenAPI document: it is a stream that does not end, which
a generated client cannot call like the other operations.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import Dispatcher
from api.errors import Unauthorized, errors
from maps.console import console_page

router = APIRouter(prefix="/console", tags=["console"])
#: Seconds between keep-alive comments on an idle stream (proxies close silent connections).
PING_S = 15



@router.get("", response_class=HTMLResponse,
            responses={200: {"description": "the console, an HTML page"}, **errors(422, 503)})
async def read_console(request: Request,
                       coords: Literal["wgs84", "gcj02"] = "wgs84") -> HTMLResponse:
    """The dispatchers' live console (an HTML page; it asks for a dispatcher key and keeps it
    in the browser tab). ``coords=gcj02`` for a GCJ-02 tile set (``PATROL_MAP_TILES``)."""
    settings = request.app.state.settings
    return HTMLResponse(console_page(tiles=request.app.state.console_tiles,
                                     attribution=settings.map_attribution, coords=coords),
                        headers={"Cache-Control": "no-store"})


@router.get("/events", include_in_schema=False)
async def read_console_events(request: Request, caller: Dispatcher) -> EventSourceResponse:
    """Server-Sent Events: a ``snapshot``, then ``units`` and ``incidents`` changes
    (``patrol.console_feed``). The key is looked up afresh when the stream opens and every
    ``PATROL_CONSOLE_KEY_CHECK_S`` seconds: a revoked key's stream ends, and the page's
    reconnection is refused (401)."""
    hub, key_ring = request.app.state.console_hub, request.app.state.key_ring
    check_s = request.app.state.settings.console_key_check_s
    key = request.headers["X-API-Key"]
    if await key_ring.caller(key, fresh=True) is None:
        raise Unauthorized("unknown or revoked API key")

    async def stream():
        checked = time.monotonic()
        async with aclosing(hub.events(idle_s=check_s / 4)) as events:
            async for event, data in events:
                if time.monotonic() - checked >= check_s:
                    if await key_ring.caller(key, fresh=True) is None:
                        return  # revoked or expired
                    checked = time.monotonic()
                if event != "idle":
                    yield ServerSentEvent(data=data, event=event)

    return EventSourceResponse(stream(), ping=PING_S, headers={"Cache-Control": "no-store"})
