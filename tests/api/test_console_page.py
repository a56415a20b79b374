"""The dispatch console, used as a dispatcher would: in headless Chromium (selenium with Debian's
chromium-driver), against the API served by two uvicorn workers on real PostGIS."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from matching_support import synthetic_track
from routing.coords import from_wgs84
from tests_api_support import running_server
from zones.api_keys import create_api_key, list_api_keys, revoke_api_key

#: Seconds a pushed change may take to show on the page (the issue's bound).
SHOWN_WITHIN_S = 2.0
#: Seconds between checks that a console's key is still valid (PATROL_CONSOLE_KEY_CHECK_S).
KEY_CHECK_S = 1.0


@pytest.fixture(scope="module")
def base(city, wuhan_central_compiled, tmp_path_factory):
    """Two workers: the page's stream and the API calls of a test may reach different ones."""
    log = tmp_path_factory.mktemp("console") / "server.log"
    env = {"PATROL_MAP_TILES": "none", "PATROL_CONSOLE_KEY_CHECK_S": str(KEY_CHECK_S),
           "PATROL_REBALANCE_EVERY_S": "0",  # the moves a test writes stay proposed
           "PATROL_RECONCILE_AFTER_S": "60"}  # an incident a test writes stays undecided
    with running_server(city.url, wuhan_central_compiled, log, workers=2, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser, base: str, key: str) -> None:
    """Sign in afresh, in a new tab: the key a tab kept is that tab's alone."""
    old = browser.current_window_handle
    browser.switch_to.new_window("tab")
    new = browser.current_window_handle
    browser.switch_to.window(old)
    browser.close()
    browser.switch_to.window(new)
    browser.get(f"{base}/console")
    browser.find_element(By.ID, "signin-key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#signin-form button").click()


def signed_in(browser, base: str, city) -> None:
    """Signed in with the dispatcher key and showing the whole fleet."""
    sign_in(browser, base, city.keys["dispatcher"])
    wait(browser, lambda: browser.execute_script(
        "return window.patrolConsole.unitCount()") == len(city.unit_ids), "the fleet shown")


def wait(browser, condition, what: str, timeout_s: float = 10.0):
    """``condition()`` once true; an element replaced meanwhile (a pushed change redrew it)
    is looked up again."""
    return WebDriverWait(browser, timeout_s, poll_frequency=0.05,
                         ignored_exceptions=[NoSuchElementException,
                                             StaleElementReferenceException]).until(
        lambda _: condition(), message=f"waited {timeout_s} s for {what}")


def click(browser, selector: str) -> None:
    """Click the element at ``selector`` (looked up again if a pushed change redrew it)."""
    wait(browser, lambda: browser.find_element(By.CSS_SELECTOR, selector).click() or True,
         f"clicking {selector}")


def text_of(browser, selector: str) -> str:
    return wait(browser, lambda: browser.find_element(By.CSS_SELECTOR, selector).text,
                f"the text of {selector}")


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def errors_logged(browser) -> list[str]:
    """The page's script errors (an API's refusal, which the page shows, is not one)."""
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and entry.get("source") != "network"]


def test_a_wrong_key_shows_a_clear_sign_in_error(base, browser, city):
    sign_in(browser, base, "not-a-key")
    wait(browser, lambda: text(browser, "signin-error"), "the sign-in error")
    assert text(browser, "signin-error") == "Sign-in failed: unknown or revoked API key"
    assert browser.find_element(By.ID, "signin").is_displayed()
    sign_in(browser, base, city.keys["planner"])
    wait(browser, lambda: "dispatcher role" in text(browser, "signin-error"), "the role error")
    assert "not-a-key" not in browser.current_url
    assert browser.execute_script("return sessionStorage.length") == 0  # kept only when valid


def test_the_page_loads_without_errors_and_shows_the_fleet(base, browser, city):
    browser.get_log("browser")  # forget the earlier test's refused sign-ins
    signed_in(browser, base, city)
    assert not browser.find_element(By.ID, "signin").is_displayed()
    assert browser.find_element(By.ID, "link").text == "live"
    assert errors_logged(browser) == []
    assert city.keys["dispatcher"] not in browser.current_url
    browser.refresh()  # the key is kept in the tab's session: no second sign-in
    wait(browser, lambda: browser.execute_script(
        "return window.patrolConsole.unitCount()") == len(city.unit_ids), "the fleet again")
    assert errors_logged(browser) == []


def test_an_incident_posted_through_the_api_appears_within_2_s(base, browser, city):
    signed_in(browser, base, city)
    reply = httpx.post(f"{base}/incidents", headers=city.headers("dispatcher"), json={
        "lon": 114.2745, "lat": 30.6050, "category": "theft", "priority": 4})
    posted = time.monotonic()
    assert reply.status_code == 201, reply.text
    incident_id = reply.json()["id"]
    wait(browser, lambda: browser.find_elements(
        By.CSS_SELECTOR, f'#queue li[data-incident-id="{incident_id}"]'), "the incident",
         timeout_s=SHOWN_WITHIN_S + 1)
    assert time.monotonic() - posted < SHOWN_WITHIN_S
    row = browser.find_element(By.CSS_SELECTOR, f'#queue li[data-incident-id="{incident_id}"]')
    assert f"#{incident_id} P4 theft" in row.text and "left" in row.text  # its running timer
    assert incident_id in browser.execute_script("return window.patrolConsole.incidentIds()")


def test_incident_text_is_shown_as_text_not_run(base, browser, city):
    """A caller's words reach the page as text: markup in an incident's category and
    description is shown as typed, and its script never runs."""
    signed_in(browser, base, city)
    hostile = '<img src=x onerror="window.__ran = 1">'
    category = "<b onclick=alert(1)>x</b>"  # categories are at most 32 characters
    reply = httpx.post(f"{base}/incidents", headers=city.headers("dispatcher"), json={
        "lon": 114.2745, "lat": 30.6050, "category": category, "description": hostile,
        "priority": 4})
    assert reply.status_code == 201, reply.text
    row = f'#queue li[data-incident-id="{reply.json()["id"]}"]'
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, row), "the incident")
    click(browser, row)
    wait(browser, lambda: hostile in browser.find_element(By.ID, "selected-info").text,
         "the description shown")
    assert category in browser.find_element(By.CSS_SELECTOR, row).text
    assert category in browser.find_element(By.ID, "selected-title").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#queue img, #queue b, #selected img, "
                                                      "#selected b")
    assert browser.execute_script("return window.__ran") is None


def test_dispatching_from_the_page_assigns_the_unit(base, browser, city, tmp_path):
    """Click the map, create the incident (priority 4: ranked, not sent), click the first
    ranked unit's Dispatch button: the database holds the assignment and its audit."""
    signed_in(browser, base, city)
    browser.find_element(By.ID, "map").click()  # its centre: the fleet's middle
    clicked = browser.find_element(By.ID, "new-where").get_attribute("value")
    lon, lat = (float(v) for v in clicked.split(","))
    assert 114.24 < lon < 114.31 and 30.57 < lat < 30.63  # central Wuhan, where the fleet is
    browser.find_element(By.ID, "new-typed").click()  # or typed: the same point
    browser.find_element(By.ID, "new-where").send_keys(clicked)
    browser.find_element(By.ID, "new-priority").send_keys("4")
    browser.find_element(By.CSS_SELECTOR, "#incident-form button[type=submit]").click()
    rows = wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#candidates tbody tr"),
                "the ranked units")
    first = int(rows[0].get_attribute("data-unit-id"))
    title = browser.find_element(By.ID, "selected-title").text
    incident_id = int(title.split("#")[1].split(":")[0])
    rows[0].find_element(By.CSS_SELECTOR, "button.dispatch").click()
    wait(browser, lambda: "sent to incident" in text(browser, "message"), "the dispatch")
    with city.engine.connect() as conn:
        unit = conn.execute(sa.text("SELECT unit_id FROM assignments WHERE incident_id = :i "
                                    "AND released_at IS NULL"), {"i": incident_id}).scalar()
        mode, by = conn.execute(sa.text(
            "SELECT mode, requested_by FROM dispatch_decisions WHERE incident_id = :i "
            "ORDER BY id DESC LIMIT 1"), {"i": incident_id}).one()
    assert unit == first
    assert mode == "override" and "dispatcher" in by
    row = f'#queue li[data-incident-id="{incident_id}"]'
    wait(browser, lambda: "dispatched" in browser.find_element(By.CSS_SELECTOR, row).text,
         "the queue showing the dispatch")
    shot = tmp_path / "console.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000  # drawn, not blank
    # A bad action shows the API's own sentence: arriving twice.
    browser.find_element(By.ID, "selected-arrive").click()
    wait(browser, lambda: "arrived" in browser.find_element(By.CSS_SELECTOR, row).text,
         "the arrival")
    browser.execute_script("document.getElementById('selected-arrive').disabled = false")
    browser.find_element(By.ID, "selected-arrive").click()
    message = browser.find_element(By.ID, "message")
    wait(browser, lambda: "error" in message.get_attribute("class"), "the refusal")
    assert message.text.startswith(f"Incident #{incident_id}: ") and "arrived" in message.text
    browser.find_element(By.ID, "selected-close").click()
    wait(browser, lambda: not browser.find_elements(By.CSS_SELECTOR, row), "the closed incident "
         "leaving the queue")
    assert errors_logged(browser) == []


def test_a_position_change_moves_the_unit_marker(base, browser, city):
    signed_in(browser, base, city)
    unit_id = city.unit_ids[3]
    before = browser.execute_script(f"return window.patrolConsole.unitLatLng({unit_id})")
    lon, lat = 114.2790, 30.6010
    reply = httpx.put(f"{base}/units/{unit_id}/position", headers=city.headers("dispatcher"),
                      json={"lon": lon, "lat": lat,
                            "timestamp": datetime.now(timezone.utc).isoformat()})
    written = time.monotonic()
    assert reply.status_code == 200, reply.text
    wait(browser, lambda: browser.execute_script(
        f"return window.patrolConsole.unitLatLng({unit_id})") != before, "the marker moving",
         timeout_s=SHOWN_WITHIN_S + 1)
    assert time.monotonic() - written < SHOWN_WITHIN_S
    after = browser.execute_script(f"return window.patrolConsole.unitLatLng({unit_id})")
    assert after == pytest.approx([lat, lon], abs=1e-6)


def test_over_gcj02_tiles_markers_are_shifted_as_the_engine_shifts(base, browser, city):
    """The page's own WGS-84 → GCJ-02 shift agrees with routing.coords to 1e-9 degrees."""
    signed_in(browser, base, city)
    unit_id = city.unit_ids[5]
    plain = browser.execute_script(f"return window.patrolConsole.unitLatLng({unit_id})")
    browser.get(f"{base}/console?coords=gcj02")  # still signed in: the tab's session
    wait(browser, lambda: browser.execute_script(
        "return window.patrolConsole.unitCount()") == len(city.unit_ids), "the fleet")
    shifted = browser.execute_script(f"return window.patrolConsole.unitLatLng({unit_id})")
    lon, lat = from_wgs84(plain[1], plain[0], "gcj02")
    assert shifted == pytest.approx([float(lat), float(lon)], abs=1e-9)
    assert abs(shifted[1] - plain[1]) > 1e-3  # a few hundred metres in Wuhan


def shown(browser, what: str):
    """What the page's panel ``what`` shows (its read-only hook in window.patrolConsole)."""
    return browser.execute_script(f"return window.patrolConsole.{what}")


def free_units(city) -> set[int]:
    """The units an alarm may take now, by the database."""
    with city.engine.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT id FROM units WHERE status IN ('available', 'relocating') "
            "AND kind = 'patrol_car'")).scalars())


def set_status(base: str, city, unit_id: int, status: str) -> None:
    reply = httpx.put(f"{base}/units/{unit_id}/status", json={"status": status},
                      headers=city.headers("dispatcher"))
    assert reply.status_code == 200, reply.text


def test_the_coverage_overlay_follows_the_units_free_to_answer(base, browser, city):
    """The 1/3/5-minute circles of the free units appear, are drawn again without a unit that
    goes off duty, and can be switched off and on."""
    signed_in(browser, base, city)
    wait(browser, lambda: (shown(browser, "overlay()") or {}).get("drawn") == 3, "the overlay")
    overlay = shown(browser, "overlay()")
    assert overlay["seconds"] == [60, 180, 300]
    assert set(overlay["unitIds"]) == free_units(city)
    leaving = overlay["unitIds"][0]
    set_status(base, city, leaving, "off_duty")
    try:
        wait(browser, lambda: leaving not in shown(browser, "overlay()")["unitIds"],
             "the overlay without the unit", timeout_s=10)
        overlay = shown(browser, "overlay()")
        assert overlay["drawn"] == 3 and set(overlay["unitIds"]) == free_units(city)
    finally:
        set_status(base, city, leaving, "available")
    switch = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")
    switch.click()
    assert shown(browser, "overlay()") is None
    switch.click()
    wait(browser, lambda: shown(browser, "overlay()") is not None, "the overlay again")
    assert errors_logged(browser) == []


def propose(city, unit_id: int, name: str) -> int:
    """A move as the rebalance stores one; returns its id."""
    def shares(expected: float) -> str:
        rings = {"1": 0.2, "3": 0.7, "5": 0.9}
        return json.dumps({"hotspots": rings, "cells": rings, "hotspots_double_3": 0.3,
                           "expected": expected})

    with city.engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO moves (unit_id, site_kind, site_name, lon, lat, drive_seconds, gain, "
            "coverage_before, coverage_after, reason) VALUES (:u, 'station', :n, 114.2745, "
            "30.6050, 130, 0.012, CAST(:before AS jsonb), CAST(:after AS jsonb), 'rebalance') "
            "RETURNING id"), {"u": unit_id, "n": name, "before": shares(0.61),
                              "after": shares(0.622)}).scalar()


def test_a_move_accepted_on_the_page_is_accepted_in_the_database(base, browser, city):
    """A move written meanwhile is pushed to the panel; Accept relocates the unit (audited as
    the dispatcher's); a move the API refuses shows its sentence; Decline declines."""
    signed_in(browser, base, city)
    unit = city.unit_ids[12]
    move = propose(city, unit, "江汉路警务站")
    row = f'#moves li[data-move-id="{move}"]'
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, row), "the pushed move",
         timeout_s=SHOWN_WITHIN_S + 1)
    item = text_of(browser, row)
    assert "TEST-012 → 江汉路警务站" in item and "+1.20 pts" in item
    assert "61.0 % → 62.2 %" in item and "02:10 drive" in item
    other = propose(city, unit, "a second post")
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, f'#moves li[data-move-id="{other}"]'),
         "the second move")
    try:
        click(browser, f"{row} button.accept")
        wait(browser, lambda: f"Move #{move} accepted" in text(browser, "message"),
             f"the accept (the page says: {text(browser, 'message')!r})")
        with city.engine.connect() as conn:
            status, by = conn.execute(sa.text("SELECT status, decided_by FROM moves WHERE id = :m"),
                                      {"m": move}).one()
            unit_status = conn.execute(sa.text("SELECT status FROM units WHERE id = :u"),
                                       {"u": unit}).scalar()
            audited = conn.execute(sa.text(
                "SELECT actor FROM audit_events WHERE action = 'move_accept' "
                "AND details->>'move_id' = :m"), {"m": str(move)}).scalars().all()
        assert status == "accepted" and "dispatcher" in by and unit_status == "relocating"
        assert len(audited) == 1 and "dispatcher" in audited[0]
        wait(browser, lambda: "relocating" in browser.find_element(By.CSS_SELECTOR, row).text,
             "the move shown under way")
        second = f'#moves li[data-move-id="{other}"]'
        click(browser, f"{second} button.accept")
        message = browser.find_element(By.ID, "message")
        wait(browser, lambda: "error" in message.get_attribute("class"), "the refusal")
        assert message.text == (f"Move #{other} (TEST-012): unit {unit} of move {other} is "
                                "relocating, not available: the move can no longer be accepted")
        click(browser, f"{second} button.decline")
        wait(browser, lambda: not browser.find_elements(By.CSS_SELECTOR, second),
             "the declined move leaving the panel")
        with city.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT status FROM moves WHERE id = :m"),
                                {"m": other}).scalar() == "declined"
    finally:
        set_status(base, city, unit, "available")  # ends the relocation
    assert errors_logged(browser) == []


def click_unit(browser, unit_id: int) -> None:
    """Click a unit's marker where the map draws it (markers are drawn on a canvas)."""
    x, y, width, height = browser.execute_script(
        f"const m = window.PatrolConsole.map, p = m.latLngToContainerPoint("
        f"window.patrolConsole.unitLatLng({unit_id})), s = m.getSize();"
        f"return [p.x, p.y, s.x, s.y];")
    ActionChains(browser).move_to_element_with_offset(
        browser.find_element(By.ID, "map"), int(x - width / 2), int(y - height / 2)).click().perform()


def test_a_track_replay_draws_the_stored_path(base, browser, city, wuhan_central):
    """A unit's drive posted as its track: "replay the last 15 minutes" from its marker draws
    the matched path the API stores, and the slider's end puts the car at the path's end."""
    unit = city.unit_ids[11]
    track = synthetic_track(wuhan_central.graph, np.random.default_rng(11), sigma_m=5.0,
                            interval_s=5.0, min_length_m=1500.0)
    end = datetime.now(timezone.utc) - timedelta(seconds=2)
    fixes = [{"lon": lon, "lat": lat, "timestamp": (end - timedelta(seconds=track.t[-1] - t))
              .isoformat()} for lon, lat, t in zip(track.lon, track.lat, track.t)]
    reply = httpx.post(f"{base}/units/{unit}/track", json={"fixes": fixes},
                       headers=city.headers("dispatcher"))
    assert reply.status_code == 200, reply.text
    signed_in(browser, base, city)
    wait(browser, lambda: shown(browser, f"unitLatLng({unit})") == pytest.approx(
        [track.lat[-1], track.lon[-1]], abs=1e-6), "the unit at its last fix")
    browser.execute_script(f"window.PatrolConsole.map.setView(window.patrolConsole"
                           f".unitLatLng({unit}), 17)")
    click_unit(browser, unit)
    # Shown, not only in the page: the popup fades in, and an element at opacity 0 has no text.
    form = wait(browser, lambda: [f for f in browser.find_elements(
        By.CSS_SELECTOR, ".unit-popup form") if f.is_displayed()], "the unit's popup")[0]
    assert "TEST-011" in browser.find_element(By.CSS_SELECTOR, ".unit-popup").text
    form.find_element(By.CSS_SELECTOR, "button.replay").click()
    wait(browser, lambda: shown(browser, "replay()"), "the replay")
    stored = httpx.get(f"{base}/units/{unit}/track", headers=city.headers("dispatcher"), params={
        "from": (end - timedelta(minutes=15)).isoformat(),
        "to": (end + timedelta(seconds=3)).isoformat()}).json()
    paths = [[[lat, lon] for lon, lat in f["geometry"]["coordinates"]]
             for f in stored["features"] if f["properties"]["kind"] == "path"]
    replay = shown(browser, "replay()")
    assert replay["unitId"] == unit and len(paths) >= 1 and sum(map(len, paths)) >= 10
    assert replay["paths"] == paths
    browser.execute_script("window.patrolConsole.seekReplay(1000)")
    assert shown(browser, "replay()")["car"] == pytest.approx(paths[-1][-1], abs=1e-9)
    slider = browser.find_element(By.CSS_SELECTOR, ".track-slider")
    assert "TEST-011: the last 15 minutes" in slider.text and " UTC" in slider.text
    assert errors_logged(browser) == []


def test_a_deleted_incident_disappears_within_2_s(base, browser, city):
    signed_in(browser, base, city)
    with city.engine.begin() as conn:
        incident = conn.execute(sa.text(
            "INSERT INTO incidents (category, priority, geom) VALUES ('entered in error', 4, "
            "ST_SetSRID(ST_MakePoint(114.276, 30.603), 4326)) RETURNING id")).scalar()
    row = f'#queue li[data-incident-id="{incident}"]'
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, row), "the incident")
    with city.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM incidents WHERE id = :i"), {"i": incident})
    deleted = time.monotonic()
    wait(browser, lambda: not browser.find_elements(By.CSS_SELECTOR, row), "the deleted incident "
         "leaving", timeout_s=SHOWN_WITHIN_S + 1)
    assert time.monotonic() - deleted < SHOWN_WITHIN_S
    assert incident not in shown(browser, "incidentIds()")
    assert errors_logged(browser) == []


def test_a_revoked_keys_stream_ends_and_the_page_asks_to_sign_in_again(base, browser, city):
    with city.engine.begin() as conn:
        key = create_api_key(conn, "dispatcher", name="revoked while signed in")
        key_id = max(k["id"] for k in list_api_keys(conn))
    sign_in(browser, base, key)
    wait(browser, lambda: text(browser, "link") == "live", "the stream")
    with city.engine.begin() as conn:
        assert revoke_api_key(conn, key_id) is not None
    revoked = time.monotonic()
    wait(browser, lambda: browser.find_element(By.ID, "signin").is_displayed(), "the sign-in form",
         timeout_s=15)
    # The check interval (a quarter more: the stream checks when idle that often), the page's
    # reconnection 2 s later (refused), and a second of slack on a busy machine.
    assert time.monotonic() - revoked < KEY_CHECK_S * 1.25 + 2 + 1
    assert text(browser, "signin-error") == "Sign-in failed: unknown or revoked API key"
    assert browser.execute_script("return sessionStorage.length") == 0
