"""The API keeps its own OpenAPI document: schemathesis (every check, positive and negative data,
every operation) against the app served on real PostGIS finds no contract violation."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from api import create_app
from settings import Settings

#: Cases per operation and phase (with the coverage phase's own, some 800 requests in all, about
#: 40 s on two cores).
MAX_EXAMPLES = 12
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_no_contract_violation(city, wuhan_central, tmp_path):
    settings = Settings(**{"DATABASE_URL": city.url})
    app = create_app(settings, graph=wuhan_central.graph)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.1)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
             f"{base}/openapi.json",
             "--checks", "all", "--mode", "all", "--max-examples", str(MAX_EXAMPLES),
             "--seed", "1", "--workers", "1", "--no-color", "--generation-database", "none",
             "--header", f"X-API-Key: {city.keys['admin']}", "--request-timeout", "30"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    output = run.stdout + run.stderr
    summary = re.search(r"Test cases:\s*\n?\s*(\d+) generated", output)
    assert run.returncode == 0, output[-20_000:]
    assert summary and int(summary.group(1)) >= 400, output[-3000:]
    print(summary.group(0))
