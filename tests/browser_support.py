"""Pages opened as a person would: headless Chromium (Debian's ``chromium``), offline."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1200,800",
                  "--virtual-time-budget=8000"]


def chromium(page: Path | str, *extra: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``page`` (a file or a URL) with ``extra`` flags (--dump-dom,
    --screenshot=...)."""
    profile = tempfile.mkdtemp(prefix="patrol-chromium-")
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra,
                           page.as_uri() if isinstance(page, Path) else page],
                          capture_output=True, text=True, timeout=120)
