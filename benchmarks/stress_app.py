"""Stress check of the Streamlit app: run on demand, prints the figures (not a test).

Starts ``streamlit run app.py`` once on a free port of 127.0.0.1 (with
``../shared/data`` as a second data source when present, so there are two sources to
switch between), then drives 4 browser contexts at once (asyncio Playwright, one
headless Debian Chromium) for a bounded time. Each session loops: choose "Uploaded
settlements file" and upload a bad file (population 1e19 or 1e15, NUL bytes, broken
GeoJSON, an empty file, a header without rows, binary bytes named .csv), switch to the
other data source, switch the epoch, and every third round upload a spec TOML with
``after = "x"`` in the scenario lab. Each step waits for its condition, not for a time:
a bad upload must bring one error box naming the file with the previous data kept, a
switch must leave its option selected. After every step the page text must show no
"Traceback" and no server path. The server's RSS (its process
and children, from ``/proc``: psutil is not a dependency) is sampled every 0.5 s.

Prints steps done per session, failures (with the text seen) and the peak RSS. Loopback
only; every other host is unresolvable. The machine is shared: figures vary.

Usage::

    .venv/bin/python benchmarks/stress_app.py [--seconds 60] [--sessions 4] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import CHROMIUM, CHROMIUM_ARGS, DEFAULT_DATA, ROOT, start_server

LEAKS = ("Traceback", "/work/", "/root", "/tmp/", "site-packages")
UPLOAD = "Uploaded settlements file"
EPOCHS = ("2018 · June 2018 – June 2022", "2024 · since June 2022")  # buttons of the timeline
STEP_TIMEOUT_MS = 120_000


def bad_files(folder: Path) -> list[Path]:
    """Write the hostile uploads into ``folder`` and return their paths."""
    files = {
        "pop_1e19.csv": "name,lon,lat,population\nAstana,71.43,51.13,1e19\nAlmaty,76.95,43.24,10000000000000000000\n",
        "nul_bytes.csv": "\x00" * 4096,
        "broken.geojson": '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": ',
        "empty.csv": "",
        "header_only.csv": "name,lon,lat,population\n",
        "binary_renamed.csv": bytes(range(256)) * 16,
        "pop_1e15.csv": "name,lon,lat,population\n**Bold** [link](http://x),76.95,43.24,1e15\n",
    }
    out = []
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        out.append(path)
    return out


def bad_spec(folder: Path) -> Path:
    spec = (ROOT / "boundaries" / "reforms" / "kz-2022.toml").read_text(encoding="utf-8")
    path = folder / "bad_after.toml"
    path.write_text(spec.replace("after = 2024", 'after = "x"', 1), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- memory


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in kB (0 for processes that are gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


class Sampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.samples.append(rss_kb(self.pid))


# --------------------------------------------------------------------------- one session


class Session:
    def __init__(self, index: int, page, url: str, sources: list[str], files: list[Path], spec: Path):
        self.index, self.page, self.url = index, page, url
        self.sources, self.files, self.spec = sources, files, spec
        self.steps = 0
        self.failures: list[str] = []
        self.refusals: dict[str, str] = {}  # bad file -> the error message the page showed for it

    async def idle(self) -> None:
        """Wait until the app has no run in progress (its status widget hidden)."""
        await self.page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=STEP_TIMEOUT_MS)

    async def refused(self, name: str) -> None:
        """Wait for the condition a bad file must bring: one error box naming it, the previous data kept."""
        from playwright.async_api import expect

        errors = self.page.get_by_test_id("stAlertContentError").filter(has_text=name)
        await expect(errors).to_have_count(1, timeout=STEP_TIMEOUT_MS)
        kept = self.page.get_by_text("Still showing the previous data").first
        if "/lab" not in self.page.url:
            await expect(kept).to_be_visible(timeout=STEP_TIMEOUT_MS)

    async def chosen(self, label: str) -> None:
        """Wait until the radio option ``label`` is the selected one."""
        from playwright.async_api import expect

        await expect(self.page.get_by_role("radio", name=label, exact=True).first).to_be_checked(
            timeout=STEP_TIMEOUT_MS
        )

    async def check(self, step: str) -> None:
        text = await self.page.inner_text("body")
        seen = [w for w in LEAKS if w in text]
        self.steps += 1
        if await self.page.get_by_test_id("stException").count():
            self.failures.append(f"{step}: an exception box (stException) is on the page")
        errors = self.page.get_by_test_id("stAlertContentError")
        if step.startswith(("upload", "lab")) and await errors.count():
            self.refusals[step] = (await errors.first.inner_text())[:160]
        if seen:
            at = min(text.index(w) for w in seen)
            self.failures.append(f"{step}: {seen} in …{text[max(0, at - 200):at + 300]!r}")

    async def step(self, name: str, action) -> None:
        try:
            await action()
            await self.idle()
            await self.check(name)
        except Exception as exc:  # a timeout or a missing widget is a failure to report, not a crash
            self.failures.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")

    async def choose_source(self, name: str) -> None:
        await self.page.get_by_test_id("stSidebar").get_by_text(name, exact=True).first.click()
        await self.chosen(name)

    async def choose_epoch(self, label: str) -> None:
        await self.page.get_by_text(label, exact=True).first.click()
        await self.chosen(label)

    async def upload(self, path: Path) -> None:
        """Upload ``path`` until the uploader holds it, then wait for its error box.

        A file chosen while the previous switch still reruns lands on an uploader that is
        about to be replaced (which then shows its previous file): it is chosen again, at
        most 3 times, as a visitor would.
        """
        from playwright.async_api import expect

        await self.choose_source(UPLOAD)
        await self.idle()
        uploader = self.page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader")
        for attempt in range(3):
            box = uploader.locator("input[type=file]")
            await box.wait_for(state="attached", timeout=STEP_TIMEOUT_MS)
            await box.set_input_files(str(path), timeout=STEP_TIMEOUT_MS)
            try:
                await expect(uploader.get_by_text(path.name, exact=True)).to_be_visible(timeout=STEP_TIMEOUT_MS // 3)
                break
            except AssertionError:
                if attempt == 2:
                    raise
                await self.idle()
        await self.refused(path.name)

    async def lab(self) -> None:
        await self.page.goto(f"{self.url}/lab")
        box = self.page.get_by_test_id("stSidebar").locator("input[type=file]")
        await box.wait_for(state="attached", timeout=STEP_TIMEOUT_MS)
        await self.idle()
        await box.set_input_files(str(self.spec), timeout=STEP_TIMEOUT_MS)
        await self.refused(self.spec.name)

    async def run(self, deadline: float) -> None:
        await self.page.goto(self.url)
        await self.step("open", lambda: self.page.get_by_test_id("stSidebar").wait_for(timeout=STEP_TIMEOUT_MS))
        i = 0
        while time.monotonic() < deadline:
            bad = self.files[(i + self.index) % len(self.files)]
            source = self.sources[(i + self.index) % len(self.sources)]
            epoch = EPOCHS[i % 2]
            await self.step(f"upload {bad.name}", lambda b=bad: self.upload(b))
            if time.monotonic() >= deadline:
                break
            await self.step(f"source {source}", lambda s=source: self.choose_source(s))
            if time.monotonic() >= deadline:
                break
            await self.step(f"epoch {epoch}", lambda e=epoch: self.choose_epoch(e))
            if i % 3 == 2 and time.monotonic() < deadline:
                await self.step("lab spec after=\"x\"", self.lab)
                await self.page.goto(self.url)
            i += 1


async def drive(url: str, sources: list[str], sessions: int, seconds: float, folder: Path) -> list[Session]:
    from playwright.async_api import async_playwright

    files, spec = bad_files(folder), bad_spec(folder)
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        out = []
        for i in range(sessions):
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            out.append(Session(i, await context.new_page(), url, sources, files, spec))
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(s.run(deadline) for s in out))
        await browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the sessions loop (default 60)")
    parser.add_argument("--sessions", type=int, default=4, help="browser sessions at once (default 4)")
    parser.add_argument("--embedded", action="store_true", help="embedded default only (no second source)")
    args = parser.parse_args(argv)
    data_dir = None if args.embedded or not (DEFAULT_DATA / "geokz").is_dir() else str(DEFAULT_DATA)
    sys.path.insert(0, str(ROOT))
    os.environ.pop("REFORM_ATLAS_ALLOWED_DATA_DIRS", None)
    if data_dir:
        os.environ["REFORM_ATLAS_DATA_DIR"] = data_dir
    else:
        os.environ.pop("REFORM_ATLAS_DATA_DIR", None)
    from webapp.datasource import configured_sources

    sources = list(configured_sources())  # the names the sidebar offers

    t0 = time.monotonic()
    proc, url = start_server(data_dir)
    sampler = Sampler(proc.pid)
    sampler.start()
    start_kb = rss_kb(proc.pid)
    try:
        with tempfile.TemporaryDirectory(prefix="ra-stress-") as tmp:
            sessions = asyncio.run(drive(url, sources, args.sessions, args.seconds, Path(tmp)))
    finally:
        sampler.stop.set()
        sampler.join()
        end_kb = rss_kb(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except Exception:
            proc.kill()
            proc.wait()

    samples = sampler.samples or [end_kb]
    print(f"Reform Atlas stress check — {args.sessions} sessions for {args.seconds:.0f} s; sources: {sources}")
    for s in sessions:
        print(f"  session {s.index}: {s.steps} steps checked, {len(s.failures)} failures")
    refusals = {k: v for s in sessions for k, v in s.refusals.items()}
    for step, message in sorted(refusals.items()):
        print(f"  {step} → error shown: {message!r}")
    failures = [(s.index, f) for s in sessions for f in s.failures]
    for index, text in failures:
        print(f"  FAIL session {index}: {text}")
    print(
        f"  server RSS (with children): after start {start_kb / 1024:.0f} MB, peak {max(samples) / 1024:.0f} MB, "
        f"at end {end_kb / 1024:.0f} MB ({len(samples)} samples every 0.5 s); wall {time.monotonic() - t0:.0f} s"
    )
    print("  (a shared, noisy machine: step counts vary from run to run)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
