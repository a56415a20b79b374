"""The track replay map, opened as a person would: in headless Chromium, offline."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
import pytest

from browser_support import chromium
from cli import main
from conftest import named_database
from matching_support import synthetic_track
from tests_api_support import make_city
from zones import track_store

START = datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def stored_track(server_url, wuhan_central):
    """A unit's drive every 5 s, one fix in the middle thrown 3 km off (a jump)."""
    with named_database(server_url, "test_track_map") as url:
        city = make_city(url, wuhan_central.graph, fleet=1)
        track = synthetic_track(wuhan_central.graph, np.random.default_rng(3), sigma_m=5.0,
                                interval_s=5.0)
        rows = [{"id": city.unit_ids[0], "lon": x, "lat": y, "jump": False,
                 "at": START + timedelta(seconds=t)}
                for x, y, t in zip(track.lon.tolist(), track.lat.tolist(), track.t.tolist())]
        middle = len(rows) // 2
        rows[middle].update(lon=rows[middle]["lon"] + 0.03, jump=True)

        async def store():
            async with await psycopg.AsyncConnection.connect(url.replace("+psycopg", "")) as conn:
                await track_store.store_track(conn, rows)
                await conn.commit()

        asyncio.run(store())
        yield url, city.unit_ids[0], rows
        city.engine.dispose()


def test_the_replay_page_works_offline_with_its_slider(stored_track, wuhan_central_compiled,
                                                       tmp_path, monkeypatch, capsys):
    url, unit, rows = stored_track
    monkeypatch.setenv("DATABASE_URL", url)
    page = tmp_path / "track.html"
    assert main(["track", "show", str(unit), "--from", "2026-03-01T08:00+08:00",
                 "--to", "2026-03-01T10:00+08:00", "-o", str(page), "--tiles", "none",
                 "--graph", str(wuhan_central_compiled)]) == 0
    assert f"{len(rows)} fixes (1 jumps)" in capsys.readouterr().out
    html = page.read_text()
    assert "cdn.jsdelivr.net" not in html and "cdnjs" not in html  # works offline
    dom = chromium(page, "--dump-dom", "--enable-logging=stderr", "--v=0")
    assert dom.returncode == 0
    errors = [line for line in dom.stderr.splitlines()
              if "CONSOLE" in line and re.search(r"Uncaught|Error", line)]
    assert errors == []
    assert 'class="track-slider' in dom.stdout and 'type="range"' in dom.stdout
    assert "2026-03-01 00:00:0" in dom.stdout  # the slider's time, at the start
    assert "matched road path" in dom.stdout and "GPS fixes (jumps in pink)" in dom.stdout
    half_way = chromium(page.as_uri() + "#t=500", "--dump-dom").stdout
    middle = rows[len(rows) // 2]["at"]
    assert f"{middle:%Y-%m-%d %H:%M}" in half_way  # the slider's time, half way
    shot = tmp_path / "track.png"
    chromium(page.as_uri() + "#t=600", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000  # drawn, not blank


@pytest.mark.parametrize("options, words", [
    (["--from", "2026-03-01T10:00+08:00", "--to", "2026-03-01T08:00+08:00"], "must end after"),
    (["--from", "2026-03-01T08:00", "--to", "2026-03-01T10:00+08:00"], "no time zone"),
])
def test_a_bad_range_is_one_sentence(stored_track, wuhan_central_compiled, tmp_path,
                                     monkeypatch, capsys, options, words):
    url, unit, _ = stored_track
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["track", "show", str(unit), *options, "-o", str(tmp_path / "t.html"),
                 "--graph", str(wuhan_central_compiled)]) == 2
    assert words in capsys.readouterr().err
