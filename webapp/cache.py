"""The app's one cache: builds, analyses, map layers, downloads and labs, shared by both pages.

Every entry is keyed by the data source's *name* (resolved to its directory on the
server by :mod:`webapp.datasource`), for uploads the file's SHA-256, and for the
atlas's timeline the id of the reform of the bundled chain (default the latest,
:data:`ENACTED`). Each
cache is bounded (``max_entries``) and its entries expire (``ttl``), so memory
stays bounded however many visitors come and go.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from boundaries.chain import DEFAULT_CHAIN
from webapp.common import scrub
from webapp.datasource import path_names, source_of

#: The reform the atlas opens on, the bundled chain's latest (its downloads are ``reform-atlas analyze``'s).
ENACTED = DEFAULT_CHAIN[-1]

#: Seconds an unused entry is kept.
TTL = 3600
#: Entries per cache: data sources (builds, labs) and analyses (sources x uploads).
SOURCES_MAX = 4
ANALYSES_MAX = 8


def compute_sources(source_name: str):
    """Boundary sources of a data source (the embedded default when it has no directory)."""
    from boundaries.sources import load_embedded, load_sources

    path = source_of(source_name).path
    return load_sources(path) if path else load_embedded()


def compute_build(source_name: str, *, sources=None):
    """Regions of both epochs for a data source (the embedded default when it has no directory)."""
    from boundaries.build import build
    from boundaries.spec import load_spec

    return build(sources if sources is not None else compute_sources(source_name), load_spec())


def compute_reform_build(source_name: str, reform_id: str = ENACTED, *, base=None):
    """One reform of the bundled chain on a data source, built as ``reform-atlas analyze --reform`` builds it.

    ``base`` is the data source's build of the latest reform (:func:`compute_build`),
    which is that reform itself and whose pieces the earlier epochs derive from.
    """
    from cli.main import reform_plan

    base = base if base is not None else compute_build(source_name)
    if reform_id == base.spec.id:
        return base
    _, plan = reform_plan(reform_id)
    return plan(base.sources, base=base)


def compute_analysis(source_name: str, upload_name: str = "", upload: bytes | None = None, *, build=None):
    """Analyse a data source (with an uploaded settlements file) as ``reform-atlas analyze`` does.

    With the CLI's official population (BNS) wiring (:func:`cli.main.official_analysis`);
    ``build`` is the reform to analyse (default: the latest reform's build).
    """
    from analysis.pipeline import load_settlements
    from cli.main import official_analysis
    from webapp.uploads import load_upload

    result = build if build is not None else compute_build(source_name)
    if upload is not None:
        source = load_upload(result.sources, upload_name, upload)
    else:
        source = load_settlements(result.sources)
    return official_analysis(result, source)


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_sources(source_name: str):
    """Boundary sources keyed on the data source (read once: the first-load preview, then the build)."""
    return compute_sources(source_name)


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_build(source_name: str):
    """Build keyed on the data source."""
    return compute_build(source_name, sources=cached_sources(source_name))


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_preview_regions(source_name: str):
    """Return the spec and the regions drawn while the first analysis runs (published layer, else the build's)."""
    from boundaries.spec import load_spec
    from webapp.maps.geometry import preview_regions

    spec = load_spec()
    regions = preview_regions(cached_sources(source_name), spec)
    if regions is None:
        regions = cached_geometry(source_name).regions[spec.after]
    return spec, regions


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX * len(DEFAULT_CHAIN), ttl=TTL)
def cached_reform_build(source_name: str, reform_id: str = ENACTED):
    """Build of one reform of the bundled chain, keyed on the data source and the reform."""
    return compute_reform_build(source_name, reform_id, base=cached_build(source_name))


@st.cache_resource(show_spinner=False, max_entries=ANALYSES_MAX, ttl=TTL)
def cached_analysis(
    source_name: str, upload_digest: str, upload_name: str, _upload: bytes | None, reform_id: str = ENACTED
):
    """Analysis keyed on the data source, the uploaded file's SHA-256 and the reform."""
    build = cached_reform_build(source_name, reform_id)
    result = compute_analysis(source_name, upload_name, _upload if upload_digest else None, build=build)
    table = ready()
    table[(source_name, upload_digest, reform_id)] = True
    while len(table) > 4 * ANALYSES_MAX:  # bounded: forget the oldest
        table.pop(next(iter(table)))
    return result


@st.cache_resource(show_spinner=False)
def cached_chain():
    """Return the bundled chain of reforms (1996 → 2017 → 2018 → 2024), checked once."""
    from boundaries.chain import load_chain

    return load_chain()


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_series(source_name: str):
    """Return the BNS regional series of a data source (its ``bns/`` workbook, else the packaged table)."""
    from inputs.bns import load_series

    return load_series(cached_build(source_name).sources.data_dir)


@st.cache_resource(show_spinner=False, ttl=TTL)
def ready() -> dict:
    """Keys of analyses computed in this server process (to tell a first load from a cached one)."""
    return {}


def is_ready(key: tuple[str, str]) -> bool:
    """Whether the analysis of the atlas's ``(source, upload digest)`` key (latest reform) was computed before.

    It may still have expired since.
    """
    return (*key, ENACTED) in ready()


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX * len(DEFAULT_CHAIN), ttl=TTL)
def cached_geometry(source_name: str, reform_id: str = ENACTED):
    """Display geometry (coverage-simplified) of a reform's build."""
    from webapp.maps.geometry import display_geometry

    return display_geometry(cached_reform_build(source_name, reform_id))


@st.cache_resource(show_spinner=False, max_entries=ANALYSES_MAX, ttl=TTL)
def cached_settlement_layer(source_name: str, upload_digest: str, _analysis, reform_id: str = ENACTED):
    """Settlement payload of an analysis."""
    from webapp.maps.settlements import settlement_layer

    return settlement_layer(_analysis)


@st.cache_resource(show_spinner=False, max_entries=4 * ANALYSES_MAX, ttl=TTL)
def cached_metric_layers(source_name: str, upload_digest: str, metric: str, _analysis, reform_id: str = ENACTED):
    """Choropleth GeoJSON per epoch and legends for one metric."""
    from webapp.maps.figures import metric_layers

    return metric_layers(_analysis, cached_geometry(source_name, reform_id), metric)


@st.cache_resource(show_spinner=False, max_entries=ANALYSES_MAX, ttl=TTL)
def cached_changed(source_name: str, upload_digest: str, _analysis, reform_id: str = ENACTED):
    """Changed-territory GeoJSON text."""
    from webapp.maps.features import changed_features
    from webapp.maps.script import Json, to_json

    return Json(to_json(changed_features(_analysis, cached_geometry(source_name, reform_id))))


@st.cache_resource(show_spinner=False, max_entries=ANALYSES_MAX, ttl=TTL)
def cached_skeletons(source_name: str, upload_digest: str, _analysis, reform_id: str = ENACTED):
    """Name skeletons of an analysis's settlements, for search in any script."""
    from inputs.names import name_skeletons

    return name_skeletons(_analysis.settlements)


#: Files offered for download: name pattern, MIME type, button label.
DOWNLOADS = (
    ("regions_{before}.geojson", "application/geo+json", "Regions {before} (GeoJSON)"),
    ("regions_{after}.geojson", "application/geo+json", "Regions {after} (GeoJSON)"),
    ("settlements.geojson", "application/geo+json", "Settlements (GeoJSON)"),
    ("settlements.csv", "text/csv", "Settlements (CSV)"),
    ("report.html", "text/html", "Report (HTML)"),
)


def download_files(analysis) -> dict[str, bytes]:
    """Return the files of :data:`DOWNLOADS`, written by the CLI's writers, with no server path in them.

    Text naming an allowed data directory names it by its source name instead.
    """
    from cli.export import write_analysis

    before, after = analysis.epochs
    wanted = {name.format(before=before, after=after) for name, _, _ in DOWNLOADS}
    with tempfile.TemporaryDirectory(prefix="reform-atlas-export-") as tmp:
        written = list(write_analysis(analysis, tmp))
        try:
            from report.render import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            written += list(write_report(analysis, tmp))
        files = {Path(p).name: Path(p).read_bytes() for p in written if Path(p).name in wanted}
    return {name: _scrubbed(data) for name, data in files.items()}


def _scrubbed(data: bytes) -> bytes:
    names = path_names()
    if not any(path.encode() in data for path, _ in names):
        return data  # as the CLI wrote it, byte for byte
    return scrub(data.decode("utf-8"), names).encode("utf-8")


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_downloads(source_name: str, upload_digest: str, _analysis, reform_id: str = ENACTED) -> dict[str, bytes]:
    """Download bytes, written once per analysis."""
    return download_files(_analysis)


@st.cache_resource(show_spinner=False, max_entries=SOURCES_MAX, ttl=TTL)
def cached_lab(source_name: str):
    """Return the scenario lab of a data source (its base build and analysis come from the caches above)."""
    from webapp.lab_model import compute_lab

    return compute_lab(source_name, cached_analysis(source_name, "", "", None))


@st.cache_data(show_spinner=False, max_entries=16, ttl=TTL)
def cached_regions_geojson(source_name: str, scenario_key: str, _result) -> bytes:
    """RFC 7946 GeoJSON of a scenario's regions (full resolution), once per state (keyed as its result)."""
    from cli.export import region_properties
    from geo.io import geojson_text

    return geojson_text(region_properties(_result.regions), name="scenario regions").encode("utf-8")
