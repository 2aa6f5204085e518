"""What the browser tests and the app benchmarks share to drive the app in Chromium.

One home for the Chromium flags, the map frame's selector, the in-frame script that
finds a settlement's pixel, and starting/stopping checks of a Streamlit server, so that
``benchmarks/bench_app.py`` measures the app the way ``tests/test_browser.py`` checks it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = Path("/usr/bin/chromium")
#: Headless Chromium with no traffic of its own (updates, sync, QUIC).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
FOLIUM_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: In the map frame: container pixel of the settlement whose name starts with ``prefix`` on map ``m``
#: (panned into view first when it is outside, as a person would drag the map).
SETTLEMENT_AT_JS = """([m, prefix]) => {
  const map = window[m];
  const group = map && Object.values(map._layers).find(l => l.raNames);
  if (!group) { return null; }
  const index = group.raNames.findIndex(name => name.startsWith(prefix));
  const hit = group.getLayers().find(l => l._raIndex === index);
  if (!map.getBounds().pad(-0.1).contains(hit.getLatLng())) { map.panTo(hit.getLatLng(), {animate: false}); }
  const p = map.latLngToContainerPoint(hit.getLatLng());
  return [p.x, p.y];
}"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at ``url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(env: dict[str, str], *, output=subprocess.DEVNULL, timeout_s: float = 90.0):
    """Start the app (``streamlit run app.py``, headless, on a free local port) with ``env``.

    Returns the process and its URL once it answers its health check; its output
    goes to ``output`` (a file opened for writing, or nowhere). Raises RuntimeError
    when it exits first or ``timeout_s`` passes (the process is then stopped). The
    wait is on the process, not a sleep.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            code = proc.poll()
            stop_server(proc)
            msg = f"streamlit did not start (exit {code})"
            raise RuntimeError(msg)
        try:
            proc.wait(timeout=0.1)  # returns at once if the server exits
        except subprocess.TimeoutExpired:
            pass
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server process: terminate, then kill if it has not exited in 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
