"""The scenario lab page: edit the 2022 reform and see the maps and the metrics change at once.

It starts from the enacted reform (``kz-2022``), one of the example scenarios in
``scenarios/`` or an uploaded spec (TOML). Click a district on the map and give it to
another region, or give a region a new centre; every change is re-evaluated by the
fast path of :mod:`analysis.whatif` and compared with the enacted reform. The
scenario can be exported as a reform spec (TOML) for ``reform-atlas scenario
evaluate`` and as regions GeoJSON (RFC 7946).
"""

from __future__ import annotations

import hashlib
import time

import streamlit as st

from inputs.limits import input_limit
from webapp import cache
from webapp.datasource import EMBEDDED_NAME, error_text, sidebar_basemap, sidebar_source
from webapp.lab_editors import centre_editor, history_panel, move_editor
from webapp.lab_map import COLOUR_BY, render_map
from webapp.lab_model import (
    EXAMPLES,
    Lab,
    problems_markdown,
    scenario_key,
    spec_text,
    state_from_spec_text,
)
from webapp.lab_panels import headline, show_table
from webapp.lab_state import (
    current,
    enacted_state,
    evaluate_state,
    flash,
    load_enacted,
    load_example,
    push,
)
from webapp.urlstate import write_lab


def sidebar_map_options() -> tuple[str, str]:
    """Colouring of the regions and the basemap."""
    st.sidebar.subheader("Map")
    colour_by = st.sidebar.selectbox(
        "Colour regions by",
        list(COLOUR_BY),
        format_func=COLOUR_BY.get,
        key="lab_colour_by",
        help="Region: one colour per region, the same on both maps. A metric: one scale for both maps.",
    )
    return colour_by, sidebar_basemap(key="lab_basemap")


def sidebar_start(lab: Lab) -> None:
    """Start from the enacted reform, an example or an uploaded spec."""
    sb = st.sidebar
    sb.subheader("Start from")
    sb.button(f"Enacted reform ({lab.base.spec.id})", key="lab_load_enacted", on_click=load_enacted,
              args=(lab,), icon=":material/flag:", width="stretch")
    for i, (file, label) in enumerate(EXAMPLES):
        sb.button(f"Example: {label}", key=f"lab_example_{i}", on_click=load_example, args=(lab, file),
                  icon=":material/science:", width="stretch", help=f"scenarios/{file}")
    limit_mb = max(1, input_limit("spec").max_bytes // (1024 * 1024))  # the command line's limit
    upload = sb.file_uploader(
        "Scenario spec (.toml)",
        type=["toml"],
        key="lab_upload",
        help=f"A reform spec like boundaries/reforms/kz-2022.toml (at most {limit_mb} MB): moves of 2018 "
        "districts and regional centres; every problem is listed if it does not fit.",
        max_upload_size=limit_mb,
    )
    if upload is None:
        st.session_state.pop("lab_upload_seen", None)
        return
    data = upload.getvalue()
    seen = (hashlib.sha256(data).hexdigest(), lab.source)
    if st.session_state.get("lab_upload_seen") != seen:
        st.session_state["lab_upload_seen"] = seen
        state, problems = state_from_spec_text(lab, upload.name, data)
        st.session_state["lab_upload_problems"] = (upload.name, problems)
        if state is not None:
            push(state)
    name, problems = st.session_state.get("lab_upload_problems", ("", []))
    if problems:
        st.error(problems_markdown(name, problems, can_move=lab.base.can_move), icon=":material/error:")


def sidebar_export(lab: Lab) -> None:
    """Download the scenario spec (TOML) and its regions (GeoJSON).

    The buttons sit outside the editing fragment: their bytes are made from the scenario
    current when they are clicked, and their file names from its id (an edit that changes
    the id reruns the whole page, :func:`workspace`).
    """
    def toml() -> bytes:
        state = current()
        return spec_text(lab, state, evaluate_state(lab, state)).encode("utf-8")

    def geojson() -> bytes:
        state = current()
        return cache.cached_regions_geojson(lab.source, scenario_key(state), evaluate_state(lab, state))

    scenario_id = current()["id"]
    st.session_state["lab_export_id"] = scenario_id
    sb = st.sidebar
    sb.subheader("Export")
    sb.download_button(
        "Scenario spec (TOML)", data=toml, file_name=f"{scenario_id}.toml", mime="application/toml",
        key="lab_download_toml", on_click="ignore", icon=":material/download:", width="stretch",
    )
    sb.download_button(
        f"Scenario regions {lab.base.after} (GeoJSON)", data=geojson,
        file_name=f"{scenario_id}_regions_{lab.base.after}.geojson", mime="application/geo+json",
        key="lab_download_geojson", on_click="ignore", icon=":material/download:", width="stretch",
    )
    sb.caption(
        "The spec evaluates with `reform-atlas scenario evaluate FILE --data-dir DIR --out OUT` (a full build "
        "and analysis); the GeoJSON is RFC 7946 at full resolution."
    )


def choose_lab(source: str) -> Lab:
    """Return the lab of the chosen data source, or the embedded default's if it fails (error shown)."""
    try:
        with st.spinner("Building the regions and measuring every settlement's distance (first load only)…"):
            return cache.cached_lab(source)
    except Exception as err:  # whatever the data does: one line, the embedded default instead
        if source == EMBEDDED_NAME:
            raise
        st.error(error_text(err), icon=":material/error:")
        st.caption("Showing the embedded default instead.")
        with st.spinner("Loading the embedded default…"):
            return cache.cached_lab(EMBEDDED_NAME)


def start_history(lab: Lab) -> None:
    """Start a history at the enacted reform, again when the data source changed."""
    if st.session_state.get("lab_history_source") == lab.source and "lab_history" in st.session_state:
        return
    had = len(st.session_state.get("lab_history", [])) > 1
    st.session_state["lab_history"] = [enacted_state(lab)]
    st.session_state["lab_future"] = []
    st.session_state["lab_history_source"] = lab.source
    for key in ("lab_unit", "lab_upload_seen", "lab_upload_problems"):
        st.session_state.pop(key, None)
    if had:
        flash("info", "The data source changed, so the scenario started again from the enacted reform.")


def open_link_once(lab: Lab) -> None:
    """On a session's first run of the lab, the scenario its link describes becomes current."""
    from webapp.lab_state import derived_state
    from webapp.urlstate import lab_state_from_url

    if st.session_state.get("lab_url_read"):
        return
    st.session_state["lab_url_read"] = True
    diff = lab_state_from_url(lab)
    if diff is not None:
        push(derived_state(current(), diff["moves"], diff["centres"], "opened from a link"))


def evaluate_current(lab: Lab, messages):
    """Return the current state and its evaluation; a state that no longer fits goes back to enacted."""
    from boundaries.spec import ReformSpecError

    state = current()
    try:
        return state, evaluate_state(lab, state)
    except ReformSpecError as err:
        messages.error(problems_markdown(state["label"], err.problems), icon=":material/error:")
        push(enacted_state(lab, "Back to the enacted reform (the last state did not fit the data)"))
        return current(), evaluate_state(lab, current())


def lab_tabs(lab: Lab, state: dict, result) -> None:
    """Draw the comparison table and the spec text (only the open tab is drawn)."""
    tabs = st.tabs(["Regions vs enacted", "Scenario spec (TOML)"], key="lab_panel", on_change="rerun")
    if tabs[0].open is not False:
        with tabs[0]:
            show_table(lab, result, scenario_key(state))
    if tabs[1].open is not False:
        with tabs[1]:
            st.code(spec_text(lab, state, result), language="toml")


@st.fragment
def workspace(lab: Lab, colour_by: str, basemap: str) -> None:
    """Headline, maps, editors and tables: an edit (a button, a click on the map) reruns only this part."""
    if current()["id"] != st.session_state.get("lab_export_id"):
        st.rerun(scope="app")  # the export buttons' file names follow the scenario's id
    t0 = st.session_state.pop("lab_edit_started", None) or time.perf_counter()
    messages = st.container()
    for kind, text in st.session_state.pop("lab_flash", []):
        getattr(messages, kind)(text, icon=":material/error:" if kind == "error" else ":material/info:")
    state, result = evaluate_current(lab, messages)
    key = scenario_key(state)
    headline(lab, result)
    selected = st.session_state.get("lab_unit") if lab.base.can_move else None
    render_map(lab, key, result, colour_by=colour_by, selected=selected, basemap=basemap)
    timing = st.empty()
    col_move, col_centre, col_history = st.columns([1, 1.15, 1], gap="large")
    with col_move:
        move_editor(lab, state, result)
    with col_centre:
        centre_editor(lab, state, result)
    with col_history:
        history_panel(lab, state, result)
    lab_tabs(lab, state, result)
    write_lab(state)
    timing.caption(
        "Left: the scenario — click a district to select it; hatched = in another region than in the enacted "
        "reform; orange dot and dotted line = a centre that moved. Right: the enacted reform. "
        f"This update took {(time.perf_counter() - t0) * 1000:,.0f} ms on the server; the browser then redraws "
        "the maps."
    )


def main() -> None:
    """Draw the scenario lab page."""
    st.title("Scenario lab")
    st.caption(
        "What if the 2022 reform had drawn other borders or chosen other centres? Click a district on the left "
        "map and give it to another region, or pick a new regional centre; the scenario is compared with the "
        "enacted reform on the right."
    )
    source = sidebar_source(key="lab_source")
    colour_by, basemap = sidebar_map_options()
    with st.container():
        lab = choose_lab(source)
    start_history(lab)
    open_link_once(lab)
    sidebar_start(lab)
    sidebar_export(lab)
    from webapp.atlas import sidebar_status

    sidebar_status(lab.analysis)
    workspace(lab, colour_by, basemap)
