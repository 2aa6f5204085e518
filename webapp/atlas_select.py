"""Search, click-to-select and the side panel of the atlas (a settlement's or a region's figures)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from webapp.common import fmt_count, fmt_km, plain

MAP_KEY = "atlas_map"
#: Session keys of what is selected (forgotten when the data changes).
SELECTION_KEYS = ("selected_id", "selected_region", "matches", "match_labels", "search_signature")


def forget() -> None:
    """Forget the selection and the search matches (another dataset is shown)."""
    for key in SELECTION_KEYS:
        st.session_state.pop(key, None)


def select_settlement(sid: str | None) -> None:
    """Make ``sid`` the selected settlement (and no region)."""
    st.session_state.selected_id = sid
    st.session_state.selected_region = None


def on_map_change() -> None:
    """Select what was clicked on the map: a settlement, or a region for its statistics."""
    from webapp.maps.settlements import parse_click

    click = parse_click(st.session_state.get(MAP_KEY))
    layer = st.session_state.get("settlement_layer")
    if click is None:
        return
    kind, key = click
    if kind == "s" and layer is not None and (sid := layer.settlement_id(key)) is not None:
        select_settlement(sid)
    elif kind == "r":
        st.session_state.selected_id = None
        st.session_state.selected_region = key


def on_pick() -> None:
    """Select the match picked from the search results."""
    select_settlement(st.session_state.get("match_pick"))


def match_label(row: dict) -> str:
    """``Uzynagash (Узынагач) · Almaty Region · 31,500 people (est.)`` for the list of matches."""
    latn, local = row.get("name_latn"), row.get("name")
    name = str(latn or local or row.get("id"))
    if local and latn and str(local).casefold() != str(latn).casefold():
        name += f" ({local})"
    region = row.get("region_name") or "outside every region"
    pop = row.get("population")
    pop_text = ""
    if pop is not None and np.isfinite(pop):
        pop_text = f" · {fmt_count(float(pop), 'person')}" + ("" if row.get("population_known") else " (est.)")
    return f"{name} · {region}{pop_text}"


def _search(analysis, key: tuple, query: str) -> list[str]:
    """Return the matches of ``query`` (ids, best first); a new query selects the first.

    Ranked by :func:`inputs.search.search_settlements`: exact names in any script first, then
    names that start with the query; each group places in regions the reform touched and
    larger places first.
    """
    from inputs.search import search_settlements
    from webapp import cache

    signature = (key, query)
    if query and st.session_state.get("search_signature") != signature:
        after = analysis.epochs[1]
        table = search_settlements(
            analysis.settlements,
            query,
            region_names=analysis.build.regions[after].set_index("code")["name_en"],
            skeletons=cache.cached_skeletons(key[0], key[1], analysis, analysis.build.spec.id),
        )
        rows = table.astype(object).where(table.notna(), None).to_dict("records")
        st.session_state["search_signature"] = signature
        st.session_state.matches = [str(r["id"]) for r in rows]
        st.session_state.match_labels = {str(r["id"]): match_label(r) for r in rows}
        select_settlement(st.session_state.matches[0] if st.session_state.matches else None)
    elif not query and st.session_state.get("search_signature"):
        st.session_state["search_signature"] = None
        st.session_state.matches = []
    return st.session_state.get("matches") or []


def settlement_search(analysis, key: tuple) -> None:
    """Name search in Kazakh, Russian or English (transliteration-aware)."""
    query = st.text_input(
        "Find a settlement",
        key="query",
        placeholder="Talgar · Талғар · Талгар",
        help="Any script or romanisation: Ұзынағаш, Узынагач and Uzynagash find the same place.",
    ).strip()
    matches = _search(analysis, key, query)
    if query and not matches:
        st.warning(f"No settlement named “{plain(query)}” in this data.")
    elif len(matches) > 1:
        st.selectbox(
            f"{len(matches)} matches",
            matches,
            format_func=lambda sid: st.session_state.get("match_labels", {}).get(sid, sid),
            key="match_pick",
            on_change=on_pick,
        )


def current_selection(analysis):
    """Return the selected settlement as a :class:`~webapp.maps.selection.Selection`, or None."""
    from webapp.maps.selection import selection

    sid = st.session_state.get("selected_id")
    return selection(analysis, sid) if sid else None


def side_panel(analysis, sel, source_name: str) -> None:
    """Draw the selected settlement's or region's figures, with a way to clear it; else a hint."""
    code = st.session_state.get("selected_region")
    if sel is None and not code:
        st.caption(
            "Search by name or click a settlement on the map to see its region, centre and distance "
            "before and after the reform; click a region for its statistics."
        )
        return
    if sel is not None:
        selection_panel(sel)
    else:
        region_panel(analysis, code, source_name)
    st.button("Clear selection", icon=":material/close:", key="clear_selection", on_click=clear_selection)


def clear_selection() -> None:
    """Select nothing (callback)."""
    select_settlement(None)
    st.session_state.matches = []


def selection_panel(sel) -> None:
    """Where a settlement was and is: region, centre and distance in both epochs."""
    before, after = sel.epochs
    st.subheader(sel.label, anchor=False)
    names = [v for k, v in sel.names.items() if k != "name" and v != sel.label]
    pop = sel.population if np.isfinite(sel.population) else sel.population_est
    pop_note = "" if np.isfinite(sel.population) else " (estimated)"
    line = " · ".join(dict.fromkeys(names))
    if np.isfinite(pop):
        line += f" — population {pop:,.0f}{pop_note}"
    st.caption(plain(line))
    for epoch in (before, after):
        region = f"{sel.region_name[epoch]} ({sel.region[epoch]})" if sel.region[epoch] else "outside every region"
        st.markdown(
            f"**{epoch}** · {plain(region)}  \ncentre **{plain(sel.centre_label[epoch] or '–')}**: "
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
            f"Nearest {after} regional centre: {plain(sel.nearest_centre)} ({fmt_km(sel.nearest_km, 1)}), not its own."
        )
    st.caption("Lines on the map: geodesics to the centre of each epoch (dashed = before).")


def region_panel(analysis, code: str, source_name: str) -> None:
    """Draw a region's statistics in each epoch it exists in (``analysis.region_stats``) and its official series."""
    from webapp.maps.features import centre_label

    stats = analysis.region_stats[analysis.region_stats["region"] == code]
    if stats.empty:
        st.caption(f"No statistics for region {plain(code)} in this data.")
        return
    st.subheader(f"{stats['name_en'].iloc[0]} ({code})", anchor=False)
    for row in stats.itertuples(index=False):
        centre = centre_label(analysis.build.spec, code, int(row.epoch))
        st.markdown(
            f"**{row.epoch}** · centre **{plain(centre)}**  \n"
            f"{fmt_count(row.population, 'person')} (est.) in {fmt_count(row.settlements, 'settlement')} · "
            f"{row.area_km2:,.0f} km²  \n"
            f"distance to the centre: mean {fmt_km(row.mean_km, 1)}, median {fmt_km(row.median_km, 1)}, "
            f"population-weighted mean {fmt_km(row.pop_weighted_mean_km, 1)}"
        )
    if len(stats) == 1:
        epoch = int(stats["epoch"].iloc[0])
        st.caption(f"This region exists only in {epoch}.")
    from webapp import cache
    from webapp.atlas_charts import region_series, series_names

    region_series(cache.cached_series(source_name), series_names(cache.cached_chain()), code)
