"""The Streamlit app in headless Debian Chromium, driven by Playwright as a person would.

Starts ``streamlit run app.py`` on a free port with the real data (``../shared/data``),
then, each on a fresh page: clicks settlements and regions on the map without a prior
search (and again after clearing, after switching the epoch and in side by side),
searches "Talgar", checks that the wheel scrolls the page until the map has focus and
that "whole country" brings the country back, downloads a GeoJSON, and opens the
scenario lab. Every wait is Playwright's auto-waiting (``expect``, ``wait_for_function``),
no sleeps. Screenshots of each step go to ``test-artifacts/<test name>/`` in the
project (git-ignored; ``$REFORM_ATLAS_ARTIFACTS`` moves it), kept by CI.

Skipped when ``/usr/bin/chromium`` is missing, except under ``CI=true`` where that
fails. The page may fetch nothing but the app itself (Leaflet is bundled, the default
basemap is none), so every other request is blocked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest
from browser_kit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FOLIUM_FRAME,
    SETTLEMENT_AT_JS,
    start_server,
    stop_server,
)
from conftest import DATA

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

TIMEOUT_MS = int(os.environ.get("REFORM_ATLAS_BROWSER_TIMEOUT_MS", "120000"))
#: In the map frame: region polygons on map ``m`` (``map`` or ``map_div2``); ``visible``: only those in view.
REGIONS_JS = """(m, visible) => {
  const map = window[m];
  if (!map || !map._loaded) { return -1; }
  return Object.values(map._layers).filter(l => l.feature && l.feature.properties && l.feature.properties.code
    && l._parts && (!visible || l._parts.length)).length;
}"""

#: In the map frame: a container pixel inside district ``unit`` on the lab's scenario map (null until drawn).
DISTRICT_AT_JS = """(unit) => {
  if (!window.LAB || !LAB.layers) { return null; }
  const layer = LAB.layers.pieces.getLayers().find(l => LAB.G.units[l.feature.properties.i] === unit);
  const b = layer._pxBounds, pane = window.map_div._getMapPanePos();
  const inside = (x, y) => layer._containsPoint(L.point(x, y));
  for (let y = b.min.y + 2; y < b.max.y; y += 2) {
    for (let x = b.min.x + 2; x < b.max.x; x += 2) {  // well inside: 8 px from every edge
      if (inside(x, y) && inside(x - 8, y) && inside(x + 8, y) && inside(x, y - 8) && inside(x, y + 8)) {
        return [x + pane.x, y + pane.y];
      }
    }
  }
  return null;
}"""


def _missing(reason: str) -> None:
    """Skip, or fail on CI where everything the test needs must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium, .ci/install-chromium)")
    if importlib.util.find_spec("js_lib_leaflet") is None:
        # without it the map loads Leaflet from a CDN, which this machine cannot reach
        _missing("django-js-lib-leaflet (the bundled Leaflet) is not installed; pip install -e . to get it")
    return CHROMIUM


@pytest.fixture(scope="module")
def app_url(chromium, tmp_path_factory):
    if not (DATA / "geokz").is_dir():
        pytest.skip(f"real data folder {DATA} is absent")
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "REFORM_ATLAS_DATA_DIR": str(DATA)}
    env.pop("REFORM_ATLAS_ALLOWED_DATA_DIRS", None)
    from playwright.sync_api import sync_playwright  # noqa: F401 - fail early if missing

    with log.open("wb") as out:
        try:
            proc, url = start_server(env, output=out)
        except RuntimeError as err:
            pytest.fail(f"{err}: {log.read_text()[-2000:]}")
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(request) -> Path:
    """Folder for this test's screenshots: test-artifacts/<test> in the project (or $REFORM_ATLAS_ARTIFACTS)."""
    base = Path(os.environ.get("REFORM_ATLAS_ARTIFACTS", ROOT / "test-artifacts"))
    folder = base / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, app_url):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(app_url)
               else route.abort())
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(app_url)
    yield page
    context.close()
    assert not errors, errors


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))


def map_frame(page):
    """The live streamlit-folium frame (a new one replaces it when the map's layout changes)."""
    for _ in range(50):
        frame = page.locator(FOLIUM_FRAME).first.element_handle(timeout=TIMEOUT_MS).content_frame()
        if frame is not None:  # None: the element found was detached as the new frame came in
            return frame
    raise AssertionError("no live map frame")


def wait_in_map(page, js: str, arg=None):
    """Wait until ``js`` is truthy in the live map frame, following the frame when the map reloads."""
    from playwright.sync_api import Error

    for _ in range(5):  # a reload replaces the frame mid-wait: wait again in the new one
        frame = map_frame(page)
        try:
            return frame.wait_for_function(js, arg=arg, timeout=TIMEOUT_MS, polling=100)
        except Error as err:
            if "detached" not in str(err) and "destroyed" not in str(err):
                raise
    raise AssertionError("the map frame kept reloading")


def wait_regions(page, count: int, m: str = "map") -> None:
    """Wait until map ``m`` of the live frame shows ``count`` regions."""
    wait_in_map(page, f"(m) => ({REGIONS_JS})(m) === {count}", m)


def idle(page) -> None:
    """Wait until the script run is over (Streamlit's running indicator gone)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()


def click_settlement(page, prefix: str, m: str = "map") -> None:
    """Click the circle of the settlement whose name starts with ``prefix`` on map ``m``."""
    wait_in_map(page, f"(a) => ({SETTLEMENT_AT_JS})(a) !== null", [m, prefix])
    frame = map_frame(page)
    x, y = frame.evaluate(SETTLEMENT_AT_JS, [m, prefix])
    map_id = "map_div" if m in ("map", "map_div") else "map_div2"
    box = frame.locator(f"#{map_id}").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def heading(page, text: str):
    return page.get_by_role("heading", name=re.compile(re.escape(text)))


def open_atlas(page) -> None:
    from playwright.sync_api import expect

    frame = page.frame_locator(FOLIUM_FRAME).first
    expect(frame.get_by_text("since June 2022 · after the 2022 reform · 20 regions")).to_be_visible()
    wait_regions(page, 20)
    idle(page)


def search(page, name: str) -> None:
    """Type ``name`` into the settlement search and submit it."""
    box = page.get_by_role("textbox", name="Find a settlement")
    box.fill(name)
    box.press("Enter")


def epoch_button(page, epoch: str):
    """The timeline's button of ``epoch`` (labelled ``2018 · June 2018 – June 2022``)."""
    return page.get_by_test_id("stButtonGroup").get_by_text(re.compile(rf"^{epoch} · "))


def test_the_timeline_of_reforms_and_its_link(page, app_url, artifacts):
    """Issue 13: the timeline moves to 2017 and 1996 (approximate) with their reform; a link reopens 1996."""
    from playwright.sync_api import expect

    open_atlas(page)
    frame = page.frame_locator(FOLIUM_FRAME).first
    regions_1996 = page.get_by_test_id("stMetric").filter(has_text="Regions 1996")
    expect(regions_1996).to_have_count(0)
    epoch_button(page, "2017").click()  # the 2017 map and the reform that produced it, the 1997 mergers
    expect(frame.get_by_text("April 2001 – June 2018 · after the 1997 reform · 16 regions")).to_be_visible()
    expect(regions_1996).to_contain_text("20")
    wait_regions(page, 16)
    idle(page)
    shot(page, artifacts, "1_epoch_2017")

    epoch_button(page, "1996").click()
    expect(frame.get_by_text("1991 – April 1997 (approximate) · before the 1997 reform · 20 regions")).to_be_visible()
    expect(page.get_by_text("The 1996 map is approximate.")).to_be_visible()
    wait_regions(page, 20)
    idle(page)
    search(page, "Zhezkazgan")
    # Zhezkazgan, centre of its oblast until 1997, then 455 km from its centre Karaganda
    expect(page.get_by_text(re.compile(r"1996 · Zhezkazgan Region \(KZ-ZHE\)"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Karaganda: 45\d(\.\d)? km"))).to_be_visible()
    assert "epoch=1996" in page.url
    idle(page)
    shot(page, artifacts, "2_epoch_1996_zhezkazgan")

    page.goto(app_url + "/?epoch=1996&colour=change_km")  # a copied link reopens the epoch
    expect(frame.get_by_text("1991 – April 1997 (approximate) · before the 1997 reform · 20 regions")).to_be_visible()
    expect(regions_1996).to_contain_text("20")
    wait_regions(page, 20)
    idle(page)
    shot(page, artifacts, "3_link_1996")


def test_uzynagash_search_and_its_shared_link(page, artifacts):
    """Items 2 and 8 of issue 11: "Uzynagash" finds the Almaty-region village; its URL reopens it."""
    from playwright.sync_api import expect

    def shows_uzynagash(p) -> None:
        # the village the address names (Zhambyl district, Almaty Region), not the Kostanay one
        expect(p.get_by_text(re.compile(r"2024 · Almaty Region \(KZ-19\)"))).to_be_visible()
        expect(p.get_by_text(re.compile(r"Konaev \(former Kapshagai\): 90(\.\d)? km"))).to_be_visible()

    open_atlas(page)
    search(page, "Uzynagash")
    shows_uzynagash(page)
    expect(page).to_have_url(re.compile(r"[?&]place="))
    idle(page)
    shot(page, artifacts, "1_uzynagash")

    link = page.url
    other = page.context.new_page()  # the copied link, opened in a new tab
    other.goto(link)
    shows_uzynagash(other)
    expect(other.get_by_role("textbox", name="Find a settlement")).to_have_value("")  # opened by the link alone
    idle(other)
    shot(other, artifacts, "2_shared_link")
    other.close()


def test_click_to_select_in_every_state(page, artifacts):
    """Item 1 of issue 11: clicks select on a fresh page, after clearing, after switching, side by side."""
    from playwright.sync_api import expect

    open_atlas(page)
    shot(page, artifacts, "1_fresh")
    click_settlement(page, "Өскемен")  # Oskemen, no search before: one click
    expect(heading(page, "Өскемен")).to_be_visible()
    expect(page.get_by_text(re.compile(r"2024 · East Kazakhstan Region"))).to_be_visible()
    shot(page, artifacts, "2_oskemen")

    idle(page)
    page.get_by_role("button", name="Clear selection").click()
    expect(heading(page, "Өскемен")).to_be_hidden()
    idle(page)
    page.frame_locator(FOLIUM_FRAME).first.get_by_role("button", name="Whole country").click()
    click_settlement(page, "Семей")  # after clearing
    expect(heading(page, "Семей")).to_be_visible()

    idle(page)
    epoch_button(page, "2018").click()  # the epoch, labelled by its period: the 2018 reform's after
    expect(page.frame_locator(FOLIUM_FRAME).first.get_by_text("June 2018 – June 2022 · after the 2018 reform · 17 regions")).to_be_visible()
    wait_regions(page, 17)
    idle(page)
    click_settlement(page, "Есік")  # after switching the epoch
    expect(heading(page, "Есік")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Taldykorgan: 198(\.\d)? km")).first).to_be_visible()  # 2017 and 2018
    shot(page, artifacts, "3_esik_2018")

    idle(page)
    page.get_by_text("Side by side").first.click()
    expect(page.frame_locator(FOLIUM_FRAME).first.locator("#map_div2")).to_be_attached()  # the pair reloads the map
    idle(page)
    wait_regions(page, 16, "map_div")  # the 2018 reform: 2017 on the left, 2018 on the right
    wait_regions(page, 17, "map_div2")
    idle(page)
    click_settlement(page, "Талғар", "map_div2")  # on the right map of the pair
    expect(heading(page, "Талғар")).to_be_visible()
    shot(page, artifacts, "4_side_by_side_talgar")


def test_click_on_a_region_shows_its_statistics(page, artifacts):
    from playwright.sync_api import expect

    open_atlas(page)
    switch = page.get_by_role("switch", name="Settlements")
    page.locator("label").filter(has=switch).click()  # circles off: a click lands on the region
    expect(switch).not_to_be_checked()
    expect(page.frame_locator(FOLIUM_FRAME).first.locator("#map_div")).to_be_attached()
    idle(page)
    wait_in_map(page, "() => window.map && window.map._loaded && !Object.values(window.map._layers).some(l => l.raNames)")
    wait_regions(page, 20)
    def click_karaganda() -> None:
        frame = map_frame(page)
        x, y = frame.evaluate("""() => {
          const p = window.map.latLngToContainerPoint([48.3, 72.5]);  // the middle of Karaganda Region
          return [p.x, p.y];
        }""")
        box = frame.locator("#map_div").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)

    click_karaganda()
    expect(heading(page, "Karaganda Region (KZ-35)")).to_be_visible()
    expect(page.get_by_text(re.compile(r"population-weighted mean \d"))).to_have_count(2)  # both epochs
    shot(page, artifacts, "region_karaganda")


def test_search_wheel_and_whole_country(page, artifacts):
    from playwright.sync_api import expect

    open_atlas(page)
    search(page, "Talgar")
    expect(page.get_by_text(re.compile(r"Taldykorgan: 211(\.\d)? km"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Konaev \(former Kapshagai\): 62(\.\d)? km"))).to_be_visible()
    frame = page.frame_locator(FOLIUM_FRAME).first
    expect(frame.locator(".ra-dist")).to_have_count(2)  # both distance lines are drawn
    idle(page)
    shot(page, artifacts, "1_talgar")

    live = map_frame(page)
    live.wait_for_function("() => !window.map._animatingZoom", polling=100)
    zoom = live.evaluate("() => window.map.getZoom()")
    page.mouse.move(700, 600)
    page.mouse.wheel(0, 400)  # no focus: the wheel scrolls the page, the map keeps its zoom
    expect(frame.locator(".ra-hint")).to_be_visible()
    assert live.evaluate("() => window.map.getZoom()") == zoom
    frame.get_by_role("button", name="Whole country").click()
    live.wait_for_function(f"() => window.map.getZoom() < {zoom} && window.map.getBounds().contains([48, 67])", polling=100)
    assert live.evaluate(f"() => ({REGIONS_JS})('map', true)") == 20  # the whole country in view
    shot(page, artifacts, "2_whole_country")


def test_download_and_the_lab_page(page, artifacts):
    from playwright.sync_api import expect

    open_atlas(page)
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.get_by_role("button", name=re.compile(r"Regions 2018 \(GeoJSON\)")).click()
    download = info.value
    assert download.suggested_filename == "regions_2018.geojson"
    doc = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) >= 17 and "crs" not in doc

    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Atlas", exact=True)).to_be_visible()
    nav.get_by_text("Scenario lab", exact=True).click()
    expect(page.get_by_role("heading", name="Scenario lab")).to_be_visible()
    frame = page.frame_locator(FOLIUM_FRAME).first
    expect(frame.get_by_text("Enacted 2024")).to_be_visible()
    expect(page.get_by_text("Regions:", exact=True)).to_be_visible()  # the region colouring's colour key
    idle(page)
    shot(page, artifacts, "lab")
    x, y = wait_in_map(page, DISTRICT_AT_JS, "KZ193400").json_value()  # Alakol, on the scenario map
    box = map_frame(page).locator("#map_div").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # one click selects the district
    expect(page.get_by_text("Now in Zhetysu Region (KZ-33).")).to_be_visible()
    shot(page, artifacts, "lab_alakol")


def test_the_map_as_a_png(page, artifacts):
    """Item 9 of issue 11: the current map, with its title and legend, as a PNG download."""
    from playwright.sync_api import expect

    open_atlas(page)
    frame = page.frame_locator(FOLIUM_FRAME).first
    button = frame.get_by_role("button", name=re.compile("Download this map as PNG"))
    expect(button).to_be_visible()
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "reform-atlas-map.png"
    target = artifacts / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    box = frame.locator("#map_div").bounding_box()
    assert (width, height) == (round(box["width"]) * 2, round(box["height"]) * 2)  # drawn at twice the size
    assert len(data) > 100_000  # regions, settlements and labels, not an empty canvas
