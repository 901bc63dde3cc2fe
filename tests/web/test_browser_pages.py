"""Issue 17, items 1, 3 and 6 in a real browser: every page type of the dashboard, on a desktop
(1280 px) and a phone (390 px) viewport, over a store holding every standard's demo run.

Each page must load without a console error (CSP violations included) or a request leaving
127.0.0.1, and must not overflow horizontally: wide tables scroll inside their own box. A
screenshot of each page at both widths lands in the test's tmp folder (`<page>-desktop.png`,
`<page>-phone.png`); docs/design/dashboard.md lists the same pages. Sorting a table by a header
click is checked on the runs list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from pingce.web.app import create_app

from .test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the same browser set-up)

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
pytestmark = pytest.mark.debian_package("chromium", path=CHROMIUM)

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser() -> Any:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pages(store: Any, runs: dict[str, str]) -> dict[str, str]:
    """Page name -> path: one of each page type, and each standard's run and sample page."""
    out = {"runs": "/", "leaderboards": "/leaderboard"}
    for standard, run_id in sorted(runs.items()):
        rid = quote(run_id, safe="")
        out[f"run-{standard}"] = f"/runs/{rid}"
        out[f"samples-{standard}"] = f"/runs/{rid}/samples"
        first = store.records(run_id)[0]
        out[f"sample-{standard}"] = f"/runs/{rid}/samples/{first.id}"
    row = store.get_run(runs["data-quality"])
    out["leaderboard"] = "/leaderboard?suite=" + quote(row.suite, safe="")
    out["trends"] = "/trends?suite=" + quote(row.suite, safe="")
    data_runs = [r.id for r in store.list_runs(limit=100) if r.standard == "data-quality"]
    out["compare"] = "/compare?" + "&".join(f"run={quote(r, safe='')}" for r in data_runs[:2])
    return out


def test_every_page_type_fits_desktop_and_phone(
    browser: Any, demo_store: Any, live_server: Any, tmp_path: Path
) -> None:
    store, runs = demo_store
    server = live_server(create_app(store))
    problems = []
    for size_name, (width, height) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        for name, path in pages(store, runs).items():
            response = page.goto(server.base + path)
            assert response is not None and response.status == 200, (name, path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 1:
                problems.append(f"{name} at {width}px overflows by {overflow}px")
            page.screenshot(path=str(tmp_path / f"{name}-{size_name}.png"), full_page=True)
        assert {urlsplit(u).hostname for u in requests} == {"127.0.0.1"}
        assert errors == []
        context.close()
    assert problems == []
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == 2 * len(pages(store, runs))


def test_a_header_click_sorts_the_table(browser: Any, demo_store: Any, live_server: Any) -> None:
    store, _ = demo_store
    server = live_server(create_app(store))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.base + "/")
    standards = "#runs tbody tr td:nth-child(3)"
    header = page.locator("#runs thead th").nth(2)  # Standard
    header.click()
    ascending = page.locator(standards).all_inner_texts()
    assert ascending == sorted(ascending, key=str.lower)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    descending = page.locator(standards).all_inner_texts()
    assert descending == sorted(ascending, key=str.lower, reverse=True)
    context.close()
