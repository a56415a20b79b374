"""The dispatch console, used as a dispatcher would: in headless Chromium (selenium with Debian's
chromium-driver), against the API served by two uvicorn workers on real PostGIS."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from routing.coords import from_wgs84
from tests_api_support import running_server

#: Seconds a pushed change may take to show on the page (the issue's bound).
SHOWN_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def base(city, wuhan_central_compiled, tmp_path_factory):
    """Two workers: the page's stream and the API calls of a test may reach different ones."""
    log = tmp_path_factory.mktemp("console") / "server.log"
    with running_server(city.url, wuhan_central_compiled, log, workers=2,
                        env={"PATROL_MAP_TILES": "none"}) as url:
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
    return WebDriverWait(browser, timeout_s, poll_frequency=0.05).until(
        lambda _: condition(), message=f"waited {timeout_s} s for {what}")


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
