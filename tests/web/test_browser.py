"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against uvicorn on
127.0.0.1.

The tests click through runs list → run → samples → sample → compare, check what the pages
show, watch a running run's page update itself, log in with a token, and check that no
request leaves 127.0.0.1, no script from the store runs, and the CSP reports nothing.
Screenshots land in the test's tmp folder (pytest keeps the last three sessions' folders).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pingce.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-token-0123456789abcdef"

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
pytestmark = pytest.mark.debian_package("chromium", path=CHROMIUM)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page that records every request, console error and dialog."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.shots = shots
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_clean(self, expected_error: str | None = None) -> None:
        hosts = {urlsplit(u).hostname for u in self.requests}
        assert hosts == {"127.0.0.1"}, self.requests
        errors = [e for e in self.errors if not (expected_error and expected_error in e)]
        assert errors == []  # CSP violations and script errors are console errors
        assert self.dialogs == []
        self.context.close()


def test_click_through_runs_samples_compare(
    browser: Any, dash: Any, live_server: Any, tmp_path: Path
) -> None:
    server = live_server(create_app(dash.store))
    w = Watched(browser, tmp_path)
    page = w.page
    page.goto(server.base + "/")
    assert page.locator(f"#runs a:has-text('{dash.run_a}')").count() == 1
    w.shot("01-runs")

    page.click(f"#runs a:has-text('{dash.run_a}')")
    page.wait_for_url(f"**/runs/{dash.run_a}")
    assert page.inner_text("#run-id") == dash.run_a
    assert page.locator("#capability svg.chart").count() == 1  # the radar
    assert page.locator("#tasks tbody tr").count() == 6  # llm/quick has six tasks
    assert "Environment fingerprint" in page.inner_text("#environment")
    w.shot("02-run")

    page.click("#browse-samples")
    page.wait_for_url(f"**/runs/{dash.run_a}/samples")
    n_records = dash.store.count_records(dash.run_a)
    assert page.locator("#samples tbody tr").count() == n_records
    page.select_option("#vs-select", dash.run_b)
    page.click("#sample-filters button[type=submit]")
    page.wait_for_url(f"**/samples?*vs={dash.run_b}*")
    assert f"Output in {dash.run_b}" in page.inner_text("#samples thead")
    w.shot("03-samples-side-by-side")

    page.locator("a.sample-link").first.click()
    page.wait_for_selector("#sample-columns")
    assert page.locator("#sample-columns section").count() == 2
    w.shot("04-sample")

    page.goto(server.base + "/?suite=llm/quick&standard=llm")
    page.check(f"input[name=run][value='{dash.run_a}']")
    page.check(f"input[name=run][value='{dash.run_b}']")
    page.click("#compare-button")
    page.wait_for_url("**/compare?*")
    assert page.locator("#deltas-1 tbody tr").count() > 0
    assert "Leaderboard · llm/quick" in page.inner_text("body")
    w.shot("05-compare")

    page.goto(server.base + f"/runs/{dash.data_run}")
    assert page.locator(".std-section svg.chart").count() >= 1  # data-quality charts
    w.shot("06-data-run")
    w.assert_clean()


def test_no_store_text_runs_as_script(
    browser: Any, dash: Any, live_server: Any, tmp_path: Path
) -> None:
    server = live_server(create_app(dash.store))
    w = Watched(browser, tmp_path)
    first = dash.store.records(dash.attack_run)[0].id
    for path in (
        f"/runs/{dash.attack_run}",
        f"/runs/{dash.attack_run}/samples",
        f"/runs/{dash.attack_run}/samples/{first}",
        f"/compare?run={dash.run_a}&run={dash.attack_run}",
    ):
        w.page.goto(server.base + path)
        w.page.mouse.move(400, 400)
        for cell in w.page.locator("pre.cell").all()[:5]:
            cell.hover()
        assert w.page.evaluate("window.__pwned === undefined"), path
        assert w.page.locator("[onmouseover], [onerror], main script").count() == 0
    w.page.goto(server.base + f"/runs/{dash.attack_run}/samples")
    body = w.page.inner_text("#samples")
    assert dash.attack_output in body and dash.attack_dataset in body  # shown as text, whole
    w.shot("07-attack")
    w.assert_clean()


def test_live_progress_updates_and_reloads(
    browser: Any, dash: Any, live_server: Any, tmp_path: Path
) -> None:
    from pingce.core.store import records_as_dicts

    store = dash.store
    records = records_as_dicts(store.records(dash.run_a))
    run_id = dash.copy_run(dash.run_a, subject="hf:live", status="running")
    store.add_records(run_id, records[:2])
    server = live_server(create_app(store))
    w = Watched(browser, tmp_path)
    w.page.goto(server.base + f"/runs/{run_id}")
    # Waits use locators: the page's CSP forbids the eval behind wait_for_function(str).
    w.page.wait_for_selector("#progress [data-field=tasks] tr")
    assert w.page.inner_text("#progress [data-field=records]") == "2"
    store.add_records(run_id, records[2:5])
    expect = sync_api.expect
    expect(w.page.locator("#progress [data-field=records]")).to_have_text("5", timeout=10_000)
    expect(w.page.locator("#run-records")).to_have_text("5")
    w.shot("08-live")
    store.update_run(run_id, status="completed")
    w.page.wait_for_selector("#run-status .status-completed", timeout=10_000)
    assert w.page.locator("#progress").count() == 0
    w.assert_clean()


def test_token_login_in_the_browser(
    browser: Any, dash: Any, live_server: Any, tmp_path: Path
) -> None:
    server = live_server(create_app(dash.store, token=TOKEN))
    w = Watched(browser, tmp_path)
    response = w.page.goto(server.base + f"/runs/{dash.run_a}")
    assert response is not None and response.status == 401
    w.page.goto(server.base + f"/runs/{dash.run_a}?token={TOKEN}")
    assert w.page.url == server.base + f"/runs/{dash.run_a}"  # token gone from the URL
    assert w.page.inner_text("#run-id") == dash.run_a
    w.page.click("#browse-samples")  # the cookie carries on
    w.page.wait_for_selector("#samples tbody tr")
    w.assert_clean(expected_error="status of 401")  # the browser logs the refused page
