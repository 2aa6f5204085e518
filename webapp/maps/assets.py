"""Leaflet and the app's own map scripts and styles, loaded with no network.

Leaflet is served from the ``django-js-lib-leaflet`` package (a plain copy of
Leaflet 1.9.4, no Django needed); the app's helpers are the files of
``webapp/static`` (``ra.js``, ``lab.js``, ``map.css``). Inside a Streamlit script
run both folders are served by the Streamlit server itself (declared as never
rendered components, so the browser caches them); elsewhere (a map saved to a
file) they are inlined as ``data:`` URIs. Without the Leaflet package, the public
CDN is used for Leaflet only.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import re
from pathlib import Path

import folium

STATIC = Path(__file__).resolve().parents[1] / "static"
LEAFLET_ORIGIN = "Leaflet 1.9.4 bundled with the app (django-js-lib-leaflet, BSD-2-Clause)"
_CDN = (
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css",
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def leaflet_folder() -> Path | None:
    """Folder of the Leaflet 1.9.4 copy in the ``js_lib_leaflet`` package, if installed."""
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "js_lib_leaflet"
    ok = (folder / "leaflet.js").is_file() and (folder / "leaflet.css").is_file()
    return folder if ok else None


@functools.cache
def _data_uri(path: Path) -> str:
    """Return a file as a ``data:`` URI; CSS with its ``images/*.png`` inlined too."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".js":
        text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)
        return "data:text/javascript;base64," + _b64(text.encode("utf-8"))

    def image(match: re.Match[str]) -> str:
        img = path.parent / match.group(1)
        return f"url(data:image/png;base64,{_b64(img.read_bytes())})" if img.exists() else match.group(0)

    text = re.sub(r"url\((images/[^)]+\.png)\)", image, text)
    return "data:text/css;base64," + _b64(text.encode("utf-8"))


def _served_base(folder: Path, name: str) -> str | None:
    """URL prefix under which the Streamlit server serves ``folder``; None outside a script run.

    The folder is declared as a (never rendered) component, which makes Streamlit serve its
    files under ``/component/<name>/``; the map frame lives under
    ``/component/streamlit_folium.st_folium/``, so a relative link reaches them.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return None
    import streamlit.components.v1 as components

    return f"../{components.declare_component(name, path=str(folder)).name}/"


def _links(folder: Path, name: str, files: tuple[str, ...]) -> list[tuple[str, str]]:
    base = _served_base(folder, name)
    return [(Path(f).stem, base + f if base else _data_uri(folder / f)) for f in files]


def leaflet_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """Leaflet JS and CSS links for the maps and where they come from: ``(js, css, origin)``."""
    folder = leaflet_folder()
    if folder is None:
        origin = "Leaflet 1.9.4 from the jsDelivr CDN (install django-js-lib-leaflet to work offline)"
        return [("leaflet", _CDN[0])], [("leaflet_css", _CDN[1])], origin
    js = _links(folder, "leaflet", ("leaflet.js",))
    css = _links(folder, "leaflet", ("leaflet.css",))
    return js, css, LEAFLET_ORIGIN


def offline(m: folium.Map, *, scripts: tuple[str, ...] = ("ra.js",)) -> folium.Map:
    """Make a folium map load only Leaflet and the app's ``static/`` files (in that order)."""
    js, css, _ = leaflet_assets()
    m.default_js = js + _links(STATIC, "reform_atlas_static", scripts)
    m.default_css = css + _links(STATIC, "reform_atlas_static", ("map.css",))
    return m
