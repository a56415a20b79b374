"""``patrol serve``: the HTTP API under uvicorn."""

from __future__ import annotations

import argparse

from settings import Settings

#: How long a worker may take to answer uvicorn's health check (seconds). A new worker imports
#: the whole product before it can answer; on a busy machine that took over uvicorn's default
#: of 5 s, and uvicorn then killed and restarted every worker, over and over.
WORKER_HEALTH_CHECK_S = 60


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``serve``."""
    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until stopped; the app is built in each worker from the environment's settings."""
    import uvicorn

    uvicorn.run("api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", access_log=args.access_log,
                timeout_worker_healthcheck=WORKER_HEALTH_CHECK_S)
    return 0
