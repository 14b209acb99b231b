"""The merchandiser console in a real browser: sign in, every page, the tester, a rollback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import delete

from app.db.models import Event, EventLine, Exposure
from app.events.drain import drain_once
from app.events.simulate import Planted, simulate
from app.events.stream import RedisEventLog
from tests.browser.conftest import ADMIN_KEY, CLIENT_KEY, SCREENSHOTS
from tests.conftest import fresh_redis
from tests.e2e.test_recommend import Shop
from tests.processes import Server

pytestmark = pytest.mark.slow
PAGES = {
    "overview": "/console",
    "rules": "/console/rules?sku=roses-red-12",
    "rules-search": "/console/rules?q=rose",
    "try": "/console/try?cart=roses-red-12,tv-27&limit=5",
    "merchandising": "/console/merchandising?cart=roses-red-12",
    "report": "/console/report",
    "report-bundles": "/console/report/bundles",
    "report-hooks": "/console/report/hooks",
    "report-campaigns": "/console/report/campaigns?day=2025-06-01",
}
PHONE = (390, 844)
# A generous bound for a shared, loaded two-core CI box; the goal (200 ms) is reported.
RENDER_BOUND_MS = 2000.0
WAIT = 15.0


def open_page(browser: Chrome, server: Server, path: str) -> None:
    browser.get(server.base_url + path)


def errors(browser: Chrome) -> list[dict[str, Any]]:
    """Console errors since the last call (the log is drained on reading)."""
    log: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry for entry in log if entry["level"] == "SEVERE"]


def shot(browser: Chrome, name: str) -> Path:
    path = SCREENSHOTS / f"console-{name}.png"
    browser.save_screenshot(str(path))
    return path


def render_ms(browser: Chrome) -> float:
    script = (
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n.responseEnd - n.requestStart;"
    )
    return float(browser.execute_script(script))


def wait_for(browser: Chrome, check: Callable[[Chrome], Any]) -> Any:
    return WebDriverWait(browser, WAIT).until(check)


def find(browser: Chrome, css: str) -> WebElement:
    """The element once it is there: a click that submits a form returns before the answer."""
    found: WebElement = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, css))
    return found


def row_skus(browser: Chrome, table: str) -> list[str]:
    """Read in one script: htmx may swap the table between two WebDriver calls."""
    script = "return [...document.querySelectorAll(arguments[0])].map(row => row.dataset.sku);"
    skus: list[str] = browser.execute_script(script, f"{table} tbody tr[data-sku]")
    return skus


def sign_in(browser: Chrome, key: str) -> None:
    field = browser.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "sign-in").click()


def recommend(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-API-Key": CLIENT_KEY}
    response = httpx.post(server.base_url + "/recommend", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_deep_link_asks_for_a_key_and_a_wrong_key_stays_out(
    browser: Chrome, server: Server
) -> None:
    open_page(browser, server, PAGES["rules"])
    assert "/console/login?next=" in browser.current_url
    assert not browser.find_elements(By.ID, "rules")
    sign_in(browser, "not-the-admin-key-at-all")
    alert = find(browser, "[role=alert]")
    assert "not an admin key" in alert.text
    assert "/console/login" in browser.current_url and not browser.find_elements(By.ID, "logout")
    shot(browser, "login")
    errors(browser)  # the refused sign-in is a 401 on purpose; later pages must be clean


async def test_the_admin_key_opens_the_deep_linked_rules_page(
    browser: Chrome, server: Server, shop: Shop
) -> None:
    sign_in(browser, ADMIN_KEY)
    wait_for(browser, lambda b: "/console/rules?sku=roses-red-12" in b.current_url)
    published = await shop.rules("roses-red-12")
    assert row_skus(browser, "#rules") == [hit.consequent for hit in published]
    first = shop.catalog[published[0].consequent].name
    assert first in browser.find_element(By.ID, "rules").text
    assert errors(browser) == []


async def test_rules_sort_by_lift_when_its_header_is_clicked(
    browser: Chrome, server: Server, shop: Shop
) -> None:
    open_page(browser, server, PAGES["rules"])
    browser.find_element(By.PARTIAL_LINK_TEXT, "LIFT").click()
    wait_for(browser, lambda b: "sort=lift" in b.current_url)
    published = await shop.rules("roses-red-12")
    by_lift = sorted(published, key=lambda hit: hit.lift, reverse=True)
    assert row_skus(browser, "#rules") == [hit.consequent for hit in by_lift]


def test_every_page_renders_quickly_cleanly_and_fits_a_phone(
    browser: Chrome, server: Server
) -> None:
    timings = {}
    open_page(browser, server, "/console/report")  # the report is mined once, then kept
    errors(browser)
    for name, path in PAGES.items():
        open_page(browser, server, path)
        assert browser.find_elements(By.ID, "logout"), f"{name} is not signed in"
        timings[name] = render_ms(browser)
        shot(browser, name)
        assert errors(browser) == [], name
    browser.set_window_size(*PHONE)
    try:
        for name, path in PAGES.items():
            open_page(browser, server, path)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth;"
            )
            assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at phone width"
            shot(browser, f"{name}-phone")
    finally:
        browser.set_window_size(1280, 900)
    (SCREENSHOTS / "console-render-ms.txt").write_text(
        "".join(f"{name} {ms:.1f}\n" for name, ms in timings.items())
    )
    slow = {name: ms for name, ms in timings.items() if ms > RENDER_BOUND_MS}
    assert not slow, f"pages slower than {RENDER_BOUND_MS} ms: {slow}"


def test_the_tester_shows_exactly_what_recommend_answers(browser: Chrome, server: Server) -> None:
    cart = [{"sku": "roses-red-12"}, {"sku": "tv-27"}]
    open_page(browser, server, PAGES["try"])
    answer = recommend(server, {"cart": cart, "limit": 5})
    assert row_skus(browser, "#tried") == [item["sku"] for item in answer["items"]]
    assert "upsell" in browser.find_element(By.ID, "tried").text  # tv-27 has a bigger size
    Select(browser.find_element(By.ID, "rank_by")).select_by_value("lift")
    wait_for(browser, lambda b: "rank_by=lift" in b.current_url)  # swapped in place by htmx
    by_lift = recommend(server, {"cart": cart, "limit": 5, "rank_by": "lift"})
    wanted = [item["sku"] for item in by_lift["items"]]
    wait_for(browser, lambda b: row_skus(b, "#tried") == wanted)
    assert errors(browser) == []


def live_versions(server: Server, tries: int = 6) -> set[int]:
    """The versions /recommend answers from, asked a few times to meet both workers."""
    body = {"cart": [{"sku": "roses-red-12"}]}
    return {recommend(server, body)["model_version"] for _ in range(tries)}


def test_a_forged_form_is_refused(browser: Chrome, server: Server) -> None:
    before = live_versions(server)
    [live] = before
    open_page(browser, server, f"/console/rollback?version={live - 1}")
    forge = "document.querySelector('form[action=\"/console/rollback\"] [name=csrf]').value = 'x';"
    browser.execute_script(forge)
    browser.find_element(By.ID, "confirm-rollback").click()
    assert "not sent from a page of this session" in find(browser, "#refused").text
    shot(browser, "refused")
    errors(browser)  # the refusal is a 403 on purpose
    time.sleep(0.5)  # two polls: a rollback, had it happened, would show by now
    assert live_versions(server) == before


def test_a_rollback_asks_first_then_every_worker_serves_the_older_version(
    browser: Chrome, server: Server
) -> None:
    [live] = live_versions(server)
    open_page(browser, server, "/console")
    browser.find_element(By.ID, f"rollback-{live - 1}").click()
    assert f"Roll back to version {live - 1}?" in find(browser, "h1").text
    assert live_versions(server) == {live}  # asking is not doing
    shot(browser, "rollback-confirm")
    browser.find_element(By.ID, "confirm-rollback").click()
    status = find(browser, "[role=status]")
    assert f"Now serving version {live - 1}" in status.text
    deadline = time.monotonic() + WAIT
    while live_versions(server) != {live - 1} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_versions(server) == {live - 1}
    assert errors(browser) == []


def test_a_merchandising_change_shows_in_the_tester_and_in_recommend(
    browser: Chrome, server: Server
) -> None:
    open_page(browser, server, PAGES["merchandising"])
    top = row_skus(browser, "#after")[0]
    browser.find_element(By.ID, "merch-sku").send_keys(top)
    Select(browser.find_element(By.ID, "merch-action")).select_by_value("block")
    browser.find_element(By.ID, "add").click()
    wait_for(browser, lambda b: row_skus(b, "#merch-rules") == [top])
    assert top not in row_skus(browser, "#after")
    assert top in row_skus(browser, "#before")  # the mined rules alone still suggest it
    shot(browser, "merchandising-blocked")
    open_page(browser, server, "/console/try?cart=roses-red-12&limit=10")
    assert top not in row_skus(browser, "#tried")
    body = {"cart": [{"sku": "roses-red-12"}], "limit": 10}
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(
        top in [item["sku"] for item in recommend(server, body)["items"]] for _ in range(6)
    ):
        time.sleep(0.2)
    for _ in range(6):  # both workers
        assert top not in [item["sku"] for item in recommend(server, body)["items"]]
    open_page(browser, server, PAGES["merchandising"])
    browser.find_element(By.CSS_SELECTOR, "#merch-rules button.remove").click()
    wait_for(browser, lambda b: row_skus(b, "#merch-rules") == [])
    assert row_skus(browser, "#after")[0] == top
    assert errors(browser) == []


def test_the_report_pages_show_the_heatmap_and_download_csv(
    browser: Chrome, server: Server
) -> None:
    open_page(browser, server, PAGES["report"])
    loaded = browser.execute_script(
        "const img = document.getElementById('heatmap'); return img.complete && img.naturalWidth;"
    )
    assert loaded and loaded > 100
    fetch = (
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text().then(t => done([r.status, "
        "r.headers.get('content-disposition'), t])));"
    )
    for path, header in (
        ("/console/report/bundles?format=csv", "skus,names,orders,support,lift,price"),
        (
            "/console/report/hooks?format=csv",
            "sku,name,buyers,buyers_average_ticket,versus_portfolio",
        ),
        ("/console/report/campaigns?kind=reactivation&format=csv", "customer_id,average_ticket"),
    ):
        status, disposition, text = browser.execute_async_script(fetch, path)
        assert status == 200 and disposition.startswith("attachment"), path
        assert text.startswith(header), text[:200]
        assert len(text.splitlines()) > 1, path
    open_page(browser, server, PAGES["report-bundles"])
    assert browser.find_elements(By.CSS_SELECTOR, "#bundles tbody tr td a")
    assert errors(browser) == []


async def test_the_overview_shows_the_experiments_uplift_once_it_exists(
    browser: Chrome, server: Server, shop: Shop
) -> None:
    open_page(browser, server, "/console")
    assert find(browser, "#no-experiment")
    try:
        async with fresh_redis() as client:
            event_log = RedisEventLog(client)
            await event_log.append(simulate(Planted(units=800), seed=3))
            await drain_once(event_log, shop.engine)
        open_page(browser, server, "/console")
        revenue = find(browser, "#uplift-revenue").text
        assert "Revenue per unit" in revenue and " to " in revenue  # its 95 % interval
        assert find(browser, "#uplift-conversion")
        assert not browser.find_elements(By.CSS_SELECTOR, ".srm")  # split as configured
        browser.execute_script("arguments[0].scrollIntoView();", find(browser, "#experiment"))
        shot(browser, "overview-experiment")
        assert errors(browser) == []
    finally:
        async with shop.engine.begin() as conn:
            for model in (EventLine, Event, Exposure):
                await conn.execute(delete(model))


def test_signing_out_ends_the_session(browser: Chrome, server: Server) -> None:
    open_page(browser, server, "/console")
    browser.find_element(By.ID, "logout").click()
    wait_for(browser, lambda b: "/console/login" in b.current_url)
    open_page(browser, server, "/console/try?cart=roses-red-12")
    assert "/console/login?next=" in browser.current_url
    assert not browser.find_elements(By.CSS_SELECTOR, "#tried table")
