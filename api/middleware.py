"""The request body limit: a plain ASGI middleware (no per-request task or stream copies)."""

from __future__ import annotations

from starlette.exceptions import HTTPException

from api.errors import problem


class BodyLimit:
    """413 for request bodies over ``max_bytes``: by their declared length, and by what arrives
    when they declare none."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            reply = problem(413, f"request body of {int(length):,} bytes is over the limit of "
                                 f"{self.max_bytes:,} bytes")
            return await reply(scope, receive, send)
        received = 0

        async def counted():  # a body without a declared length is counted as it arrives
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"request body is over the limit of "
                                         f"{self.max_bytes:,} bytes")
            return message

        return await self.app(scope, counted, send)
