"""The review UI in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium) against the app
served by uvicorn on a loopback port, over a real indexed store. Screenshots go to test-artifacts/web-*.png.

Skipped when /usr/bin/chromium is absent, unless CI=true (then it fails: scripts/test.sh installs it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from web_support import CASE, INVESTIGATOR, REASON, build_store, served

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUERY = "personne en haut rouge"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing on CI: install the Debian package `chromium`")
        pytest.skip("/usr/bin/chromium absent (apt-get install -y chromium); CI is not set")
    from vsearch.web.app import create_app

    env = build_store(tmp_path_factory.mktemp("webui"))
    app = create_app(env["store"], env["config"], exports_dir=env["store"].parent / "exports")
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def page(base_url: str):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        ctx = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=base_url)
        pg = ctx.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        # air-gapped: nothing may be fetched from anywhere but the app itself
        outside: list[str] = []
        pg.on("request", lambda r: None if r.url.startswith(base_url) else outside.append(r.url))
        pg.goto("/")
        pg.fill("input[name=investigator]", INVESTIGATOR)
        pg.fill("input[name=case]", CASE)
        pg.fill("input[name=reason]", REASON)
        pg.click("#login button[type=submit]")
        pg.wait_for_url(re.compile(r"/search$"))
        yield pg
        assert outside == [], f"requests outside the app: {outside}"
        browser.close()


def _shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"))


def _search(page, text: str) -> None:  # noqa: ANN001
    page.goto("/search")
    page.fill("#q", text)
    page.click("#search button[type=submit]")
    page.wait_for_selector("#hits .hit img")


def test_login_page_refuses_an_unknown_investigator(base_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(base_url=base_url)
        pg.goto("/")
        _shot(pg, "login")
        pg.fill("input[name=investigator]", "nobody")
        pg.fill("input[name=case]", CASE)
        pg.fill("input[name=reason]", REASON)
        pg.click("#login button[type=submit]")
        assert "not listed in the site config" in pg.inner_text("#login-error")
        assert pg.context.cookies() == [] or all(c["name"] != "vsearch_session" for c in pg.context.cookies())
        browser.close()


def test_search_shows_thumbnails_timeline_and_coverage(page) -> None:  # noqa: ANN001
    cookie = next(c for c in page.context.cookies() if c["name"] == "vsearch_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("vsearch_session") < 0  # not readable by scripts
    _search(page, QUERY)
    page.wait_for_function("() => [...document.querySelectorAll('#hits .hit img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    n = page.locator("#hits .hit").count()
    assert n >= 1 and page.inner_text("#hit-count").startswith(str(n))
    assert "fichier(s) fouillé(s)" in page.inner_text("#coverage-sentence")
    assert page.locator(".bar .seg.searched").count() == 1
    bar, seg = page.locator(".bar").bounding_box(), page.locator(".bar .seg.searched").bounding_box()
    assert seg["width"] > 0.95 * bar["width"] - 2  # all the footage was searched
    assert page.locator("#timeline .tl-mark").count() == n
    track = page.locator(".tl-track").bounding_box()
    marks = [page.locator("#timeline .tl-mark").nth(i).bounding_box() for i in range(n)]
    assert all(m["width"] >= 2 and track["x"] <= m["x"] <= track["x"] + track["width"] for m in marks)
    starts = {h["start_utc"] for h in page.request.get("/api/search", params={"q": QUERY}).json()["hits"]}
    assert len({round(m["x"]) for m in marks}) == len(starts)  # placed at their own times (one per distinct time)
    assert "red" in page.inner_text("#hits .hit >> nth=0")
    assert page.inner_text("#case") == CASE
    _shot(page, "search")
    page.goto("/search?q=person+in+red+top&lang=en")
    assert "file(s)" in page.inner_text("#coverage-sentence")
    page.goto("/search?lang=fr")


def test_tube_page_plays_the_clip_and_draws_the_path(page) -> None:  # noqa: ANN001
    _search(page, QUERY)
    page.click("#hits .hit >> nth=0")
    page.wait_for_url(re.compile(r"/tube/"))
    page.wait_for_function("() => document.getElementById('player').readyState >= 2")
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.2")
    assert page.evaluate("document.getElementById('player').error") is None
    page.wait_for_function("() => document.getElementById('still').naturalWidth > 0")
    assert page.locator("#path polyline.track").count() == 1
    assert page.locator("#similar .hit").count() >= 1
    _shot(page, "tube")


def test_zone_drawn_on_a_still_searches_with_the_zone(page) -> None:  # noqa: ANN001
    page.goto("/zone?camera=cam1")
    page.wait_for_function("() => document.getElementById('zone-img').naturalWidth > 0")
    box = page.locator("#zone-svg").bounding_box()
    corners = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.55), (0.3, 0.55)]  # across the red-top person's path (y = 0.42)
    for x, y in corners:
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    assert page.inner_text("#zone-clear") == "Effacer"
    zone = page.inner_text("#zone-text")
    assert zone.startswith("entered:") and len(zone.split(":", 1)[1].split()) == 4
    pts = [tuple(map(float, p.split(","))) for p in zone.split(":", 1)[1].split()]
    assert all(abs(a - b) < 0.01 and abs(c - d) < 0.01 for (a, c), (b, d) in zip(pts, corners))
    _shot(page, "zone")
    page.fill("#zone-search input[name=q]", QUERY)
    page.click("#zone-go")
    page.wait_for_url(re.compile(r"zone=entered"))
    page.wait_for_selector("#hit-count")
    assert page.locator("#hits .hit").count() >= 1
    assert page.input_value("#zone") == zone


def test_clicking_an_object_in_the_synopsis_opens_its_original(page) -> None:  # noqa: ANN001
    _search(page, QUERY)
    page.click("#make-synopsis")
    page.wait_for_url(re.compile(r"/synopsis/"), timeout=180_000)
    page.wait_for_function("() => document.querySelector('video.syn-video').readyState >= 2 && "
                           "document.querySelector('video.syn-video').dataset.ready === '1'")
    # pick the middle sample of the first object of the source map, show that instant, click inside its box
    target = page.evaluate("""async () => {
        const v = document.querySelector('video.syn-video');
        const map = await (await fetch(v.dataset.map)).json();
        const e = map.tubes[0], s = e.samples[Math.floor(e.samples.length / 2)];
        v.pause();
        await new Promise(ok => { v.addEventListener('seeked', ok, {once: true}); v.currentTime = s[0]; });
        const r = v.getBoundingClientRect(), k = Math.min(r.width / map.width_px, r.height / map.height_px);
        const ox = (r.width - map.width_px * k) / 2, oy = (r.height - map.height_px * k) / 2;
        return {tube: e.tube_id, x: r.left + ox + (s[2][0] + s[2][2]) / 2 * k,
                y: r.top + oy + (s[2][1] + s[2][3]) / 2 * k};
    }""")
    _shot(page, "synopsis")
    page.mouse.click(target["x"], target["y"])
    page.wait_for_url(re.compile(rf"/tube/{target['tube']}\?at="))
    page.wait_for_function("() => document.getElementById('player').readyState >= 2")
    seek = float(page.get_attribute("#player", "data-seek"))
    assert abs(page.evaluate("document.getElementById('player').currentTime") - seek) < 0.5


def test_confirmed_tubes_are_exported_with_progress(page) -> None:  # noqa: ANN001
    _search(page, QUERY)
    page.click("#hits .hit >> nth=0")
    page.wait_for_url(re.compile(r"/tube/"))
    page.click("#confirm")
    assert page.inner_text("#tube-state") == "confirmé"
    page.goto("/basket")
    assert page.locator(".basket .hit").count() == 1
    page.click("button.export")
    page.wait_for_selector("section.basket[data-state]", timeout=300_000)
    assert page.get_attribute("section.basket", "data-state") == "done", page.inner_text(".export-status")
    assert "SHA-256" in page.inner_text(".export-status")
    assert page.get_attribute("#export-zip", "href").endswith("/zip")
    _shot(page, "basket")
