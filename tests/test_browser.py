"""The Streamlit app in headless Debian Chromium, driven by Playwright.

Starts ``streamlit run app.py`` on a free port with the real data
(``../shared/data``), then: waits for the map inside the streamlit-folium iframe,
counts the region polygons drawn, searches "Talgar", clicks a settlement on the
canvas, switches the epoch and the view, downloads a GeoJSON and saves
screenshots (also copied to ``/tmp/reform-atlas-screens/`` for review).

Skipped when ``/usr/bin/chromium`` is missing, except under ``CI=true`` where that
fails. The page may fetch nothing but the app itself (Leaflet is bundled), so
every other request is blocked: tiles simply stay blank.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REVIEW = Path("/tmp/reform-atlas-screens")
FOLIUM_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: JS run in the map frame: region polygons on the first (left) map's canvas.
REGIONS_JS = """() => {
  if (!window.map || !window.map._loaded) { return 0; }
  return Object.values(window.map._layers).filter(
    l => l.feature && l.feature.properties && l.feature.properties.code && l._renderer).length;
}"""
#: Regions on the left and right maps of the side-by-side view.
DUAL_JS = """() => {
  if (!window.map_div2 || !window.map_div || !window.map_div._loaded) { return null; }
  const n = m => Object.values(m._layers).filter(l => l.feature && l.feature.properties && l.feature.properties.code).length;
  return [n(window.map_div), n(window.map_div2)];
}"""
#: ... and how many of them are in view and drawn (Leaflet clips the rest).
VISIBLE_JS = """() => Object.values(window.map._layers).filter(
    l => l.feature && l.feature.properties && l.feature.properties.code && l._parts && l._parts.length).length"""


def _missing(reason: str) -> None:
    """Skip, or fail on CI where everything the test needs must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _missing(
            f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium, .ci/install-chromium)"
        )
    if importlib.util.find_spec("js_lib_leaflet") is None:
        # without it the map loads Leaflet from a CDN, which this machine cannot reach
        _missing(
            "django-js-lib-leaflet (the bundled Leaflet) is not installed; pip install -e . to get it"
        )
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def app_url(chromium, tmp_path_factory):
    if not (DATA / "geokz").is_dir():
        pytest.skip(f"real data folder {DATA} is absent")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "REFORM_ATLAS_DATA_DIR": str(DATA)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not start (exit {proc.poll()}): {log.read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(app_url) else route.abort(),
    )
    yield page
    context.close()


def current_frame(page):
    """The live frame of the streamlit-folium iframe (it is replaced when the map reloads)."""
    try:
        return page.locator(FOLIUM_FRAME).first.element_handle(timeout=5000).content_frame()
    except Exception:
        return None


def map_frame(page, *, timeout: float = 60):
    """The streamlit-folium frame once its map has drawn at least one region."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = current_frame(page)
        try:
            if frame is not None and frame.evaluate(REGIONS_JS) > 0:
                return frame
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError("no map with regions appeared")


def wait_regions(page, predicate, *, timeout: float = 30) -> int:
    """Wait until ``predicate(number of regions drawn)`` holds; return that number."""
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        frame = map_frame(page, timeout=timeout)
        try:
            n = frame.evaluate(REGIONS_JS)
        except Exception:
            n = -1
        if predicate(n):
            return n
        time.sleep(0.2)
    raise AssertionError(f"regions drawn: {n}")


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    REVIEW.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, REVIEW / path.name)
    return path


def idle(page, timeout: float = 60) -> None:
    """Wait until the script run is over (Streamlit's running indicator gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=timeout * 1000)
    page.wait_for_timeout(300)


def panel(page, pattern: str):
    page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(pattern)).first.wait_for(
        timeout=30000
    )


def test_app_in_chromium(page, app_url, tmp_path):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(app_url)
    frame = page.frame_locator(FOLIUM_FRAME).first
    frame.locator(".leaflet-container").first.wait_for(timeout=120000)
    # the regions show first; the full map follows once settlements are analysed
    frame.get_by_text("2024 · after the reform · 20 regions").wait_for(timeout=120000)
    assert wait_regions(page, lambda n: n >= 20) == 20
    assert map_frame(page).evaluate(VISIBLE_JS) == 20  # the whole country is in view
    assert shot(page, tmp_path, "browser_1_initial").stat().st_size > 50_000

    # search in any script: Talgar was 211 km from Taldykorgan and is 62 km from Konaev
    box = page.get_by_role("textbox", name="Find a settlement")
    box.fill("Talgar")
    box.press("Enter")
    panel(page, r"Taldykorgan: 211(\.\d)? km")
    panel(page, r"Konaev \(former Kapshagai\): 62(\.\d)? km")
    fr = map_frame(page)
    fr.locator(".ra-dist").nth(1).wait_for(timeout=15000)  # both distance lines are drawn
    assert fr.locator(".ra-dist").count() == 2
    idle(page)
    page.wait_for_timeout(800)  # let the zoom animation end before the picture
    shot(page, tmp_path, "browser_2_talgar")

    # click a settlement on the canvas: Esik (Есік), east of Talgar
    point = fr.evaluate("""() => {
      const group = Object.values(window.map._layers).find(l => l.raNames);
      const index = group.raNames.findIndex(name => name.startsWith('Есік'));
      const hit = group.getLayers().find(l => l._raIndex === index);
      const p = window.map.latLngToContainerPoint(hit.getLatLng());
      return [p.x, p.y];
    }""")
    box_ = fr.frame_element().bounding_box()
    idle(page)
    page.mouse.click(box_["x"] + point[0], box_["y"] + point[1])
    page.locator("h3", has_text="Есік").first.wait_for(timeout=30000)
    panel(page, r"Taldykorgan: 198(\.\d)? km")

    # epoch toggle: 17 regions in 2018, without reloading the map
    idle(page)
    page.get_by_text("2018", exact=True).first.click()
    assert wait_regions(page, lambda n: n == 17) == 17
    frame.get_by_text("2018 · before the reform · 17 regions").wait_for()
    page.get_by_test_id("stDataFrame").first.wait_for()
    shot(page, tmp_path, "browser_3_epoch_2018")

    # side-by-side comparison: 17 regions on the left map, 20 on the right one
    idle(page)
    page.get_by_text("Side by side").first.click()
    counts = None
    deadline = time.monotonic() + 60
    while counts != [17, 20] and time.monotonic() < deadline:
        time.sleep(0.2)
        frame_ = current_frame(page)
        try:
            counts = frame_.evaluate(DUAL_JS) if frame_ is not None else None
        except Exception:
            counts = None
    assert counts == [17, 20], counts
    idle(page)
    shot(page, tmp_path, "browser_4_side_by_side")

    # download: the full-resolution 2018 regions, as the CLI writes them
    idle(page)
    with page.expect_download(timeout=120000) as info:
        page.get_by_role("button", name=re.compile(r"Regions 2018 \(GeoJSON\)")).click()
    download = info.value
    assert download.suggested_filename == "regions_2018.geojson"
    doc = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) >= 17
    assert "crs" not in doc
    assert not errors, errors
