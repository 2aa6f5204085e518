"""The scenario lab's editors: move a district, change a centre, and the history (undo, redo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from webapp.common import plain
from webapp.lab_model import Lab
from webapp.lab_state import (
    apply_centre,
    apply_move,
    history,
    redo,
    reset,
    restore_centre,
    result_region,
    undo,
)


def move_editor(lab: Lab, state: dict, result) -> None:
    """Pick a district (or click it on the map) and give it to another region."""
    base = lab.base
    st.markdown("**Move a district**")
    if not base.can_move:
        st.info(
            "District moves need district boundaries: choose **Data directory** in the sidebar (geokz "
            "districts). Centre changes below work on the embedded default.",
            icon=":material/info:",
        )
        return
    units = sorted(base.unit_pieces, key=lambda u: (base.unit_names.get(u, u), u))
    if st.session_state.get("lab_unit") not in base.unit_pieces:
        st.session_state.pop("lab_unit", None)
    unit = st.selectbox(
        "District (or click one on the map)",
        units,
        index=None,
        key="lab_unit",
        format_func=lab.unit_labels.get,
        placeholder="Choose or click a district",
    )
    codes = list(base.codes)
    target = st.selectbox(
        "Give it to", codes, key="lab_target", format_func=lambda c: f"{lab.region_name(c)} ({c})"
    )
    now = result_region(lab, state, unit) if unit else None
    split_whole = (
        unit is not None and len(base.unit_pieces[unit]) > 1 and unit not in state["moves"]
    )
    if unit:
        note = (
            " The enacted reform split it; moving it gives the whole district to one region."
            if split_whole
            else ""
        )
        st.caption(f"Now in **{plain(lab.region_name(now))}** ({now}).{note}")
    st.button(
        "Move district",
        key="lab_move",
        icon=":material/swap_horiz:",
        on_click=apply_move,
        args=(lab,),
        disabled=unit is None or (target == now and not split_whole),
        width="stretch",
    )


def centre_label_row(row) -> str:
    """``1. Қаскелең (Qaskeleñ) — 31.2 km · 84k people``."""
    name = str(row["candidate"])
    en = row.get("name_latn") or row.get("name_en")
    if isinstance(en, str) and en and en.casefold() != name.casefold():
        name = f"{name} ({en})"
    current_mark = " · current" if bool(row.get("is_current")) else ""
    return f"{int(row['rank'])}. {name} — {row['pop_weighted_mean_km']:.1f} km · {_short(row['population'])}{current_mark}"


def _short(population: float) -> str:
    if not np.isfinite(population):
        return "population unknown"
    if population >= 1e6:
        return f"{population / 1e6:.1f}M people"
    if population >= 1e4:
        return f"{population / 1e3:.0f}k people"
    return f"{population:,.0f} people"


def centre_candidates(lab: Lab, result, code: str, query: str) -> tuple[pd.DataFrame, str]:
    """Settlements of region ``code`` to choose a centre from (ranked), and what they are."""
    from analysis.ranking import candidate_centres
    from inputs.names import name_skeletons
    from inputs.search import find_settlement

    if not query:
        table = candidate_centres(result, code)  # the ranking is kept (analysis.ranking)
        return table, f"{len(table)} towns of ≥ 5,000 people (counted), ranked"
    skeletons = lab.memo.get("skeletons")  # the settlements' name keys, once per lab
    if skeletons is None:
        skeletons = lab.memo["skeletons"] = name_skeletons(lab.base.settlements)
    mask = np.asarray(result.settlement_region == code, dtype=bool)
    hits = find_settlement(lab.base.settlements[mask], query, skeletons=skeletons[mask])
    ids = hits["id"].astype(str).head(30).tolist()
    table = candidate_centres(result, code, ids=ids) if ids else pd.DataFrame()
    return table, f"{len(table)} match{'es' if len(table) != 1 else ''}, ranked"


def candidate_rows(table: pd.DataFrame) -> dict[str, dict]:
    """Candidates by id, as the centre callback needs them."""
    return {
        str(r["id"]): {
            "id": str(r["id"]), "name": r["candidate"], "name_en": r.get("name_en"), "name_kk": r.get("name_kk"),
            "name_ru": r.get("name_ru"), "lon": float(r["lon"]), "lat": float(r["lat"]),
            "label": centre_label_row(r), "is_current": bool(r["is_current"]),
        }
        for _, r in table.iterrows()
    }


def centre_editor(lab: Lab, state: dict, result) -> None:
    """Pick a region and a settlement of it as its new centre."""
    base = lab.base
    st.markdown("**Change a centre**")
    code = st.selectbox(
        "Region", list(base.codes), key="lab_centre_region", format_func=lambda c: f"{lab.region_name(c)} ({c})"
    )
    query = st.text_input(
        "Search a settlement of it", key="lab_centre_query", placeholder="Kaskelen · Қаскелең · Каскелен"
    ).strip()
    table, what = centre_candidates(lab, result, code, query)
    if query and table.empty:
        st.warning(f"No settlement of {plain(lab.region_name(code))} is named “{plain(query)}”.")
    rows = candidate_rows(table)
    st.session_state["lab_centre_rows"] = rows
    pick = st.selectbox(
        f"New centre — {what} by pop.-weighted mean distance",
        list(rows),
        key="lab_centre_pick",
        format_func=lambda i: rows[i]["label"] if i in rows else i,
        help="Population-weighted mean geodesic distance (km) from the region's settlements to the candidate.",
    )
    enacted = "" if code not in state["centres"] else f" (enacted: {plain(base.centre(code).name_en)})"
    st.caption(f"Current centre: **{plain(result.centre(code).name_en)}**{enacted}")
    cols = st.columns(2)
    cols[0].button("Set centre", key="lab_set_centre", icon=":material/location_on:", on_click=apply_centre,
                   args=(lab,), disabled=pick is None or rows.get(pick, {}).get("is_current", False), width="stretch")
    cols[1].button("Enacted centre", key="lab_restore_centre", on_click=restore_centre, args=(lab, code),
                   disabled=code not in state["centres"], width="stretch")


def history_panel(lab: Lab, state: dict, result) -> None:
    """Undo, reset and the list of steps."""
    st.markdown("**History**")
    buttons = (
        ("Undo", "lab_undo", ":material/undo:", undo, (), len(history()) < 2),
        ("Redo", "lab_redo", ":material/redo:", redo, (), not st.session_state.get("lab_future")),
        ("Reset", "lab_reset", ":material/restart_alt:", reset, (lab,), not state["moves"] and not state["centres"]),
    )
    for col, (label, key, icon, callback, args, disabled) in zip(st.columns(3), buttons, strict=True):
        col.button(label, key=key, icon=icon, on_click=callback, args=args, disabled=disabled, width="stretch")
    steps = history()
    shown = steps[-6:]
    first = len(steps) - len(shown) + 1
    lines = [f"{first + i}. {plain(s['label'])}" for i, s in enumerate(shown)]
    lines[-1] = f"{len(steps)}. **{plain(shown[-1]['label'])}** (current)"
    st.markdown("\n".join(lines))
    changes = []
    base = lab.base
    for unit in result.moved_units:
        idx = base.unit_pieces[unit]
        pop = float(lab.piece_population[idx].sum())
        frm, to = str(base.piece_region[idx[0]]), str(result.piece_region[idx[0]])
        changes.append(
            f"{base.unit_names.get(unit, unit)}: {lab.region_name(frm)} → {lab.region_name(to)} "
            f"(≈{pop:,.0f} people)"
        )
    for code in sorted(result.centres):
        if code in result.changed:
            changes.append(
                f"{lab.region_name(code)} centre: {base.centre(code).name_en} → "
                f"{result.centres[code].name_en}"
            )
    if changes:
        st.caption("Differences from the enacted reform: " + plain("; ".join(changes)) + ".")
