"""The scenario lab's figures: headline metrics and the comparison table with the enacted reform."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from webapp.lab_model import Lab

#: Comparison columns: metric, label (with units), delta label, scale, national figure.
FIELDS = (
    ("population", "Population (persons)", "Δ population (persons)", 1.0, "population"),
    ("pop_deviation_pct", "Deviation from mean (%)", "Δ deviation (pp)", 1.0, "max_abs_deviation_pct"),
    ("pop_weighted_mean_km", "Pop.-weighted mean distance (km)", "Δ distance (km)", 1.0, "pop_weighted_mean_km"),
    ("share_pop_beyond_100km", "Beyond 100 km (% of pop.)", "Δ beyond 100 km (pp)", 100.0, "share_pop_beyond_100km"),
    ("share_pop_beyond_200km", "Beyond 200 km (% of pop.)", "Δ beyond 200 km (pp)", 100.0, "share_pop_beyond_200km"),
    ("share_pop_beyond_300km", "Beyond 300 km (% of pop.)", "Δ beyond 300 km (pp)", 100.0, "share_pop_beyond_300km"),
    ("polsby_popper", "Polsby–Popper (0–1)", "Δ Polsby–Popper", 1.0, "mean_polsby_popper"),
    ("reock", "Reock (0–1)", "Δ Reock", 1.0, "mean_reock"),
    ("convex_hull_ratio", "Convex hull ratio (0–1)", "Δ hull ratio", 1.0, "mean_convex_hull_ratio"),
    ("area_km2", "Area (km²)", "Δ area (km²)", 1.0, None),
)


def overall(lab: Lab, result) -> tuple[pd.Series, pd.Series]:
    """National figures of the enacted reform (once per data source) and of the scenario (its result's)."""
    from analysis.metrics import overall_metrics

    enacted = lab.memo.get("overall")
    if enacted is None:
        enacted = lab.memo["overall"] = overall_metrics(lab.base.metrics)
    return enacted, result.overall


def comparison_table(lab: Lab, result) -> pd.DataFrame:
    """Per region and national: scenario values and deltas vs the enacted reform."""
    e, s = lab.base.metrics, result.metrics
    eo, so = overall(lab, result)
    rows = []
    national = {
        "Code": "KZ",
        "Region": "Kazakhstan (national)",
        "Centre": "",
        "Changed": bool(result.changed),
    }
    for f, label, delta, scale, nat in FIELDS:
        ve = float(e[f].sum()) if nat is None else float(eo[nat])
        vs = float(s[f].sum()) if nat is None else float(so[nat])
        national[label], national[delta] = vs * scale, (vs - ve) * scale
    rows.append(national)
    for code in lab.base.codes:
        row = {
            "Code": code,
            "Region": s.loc[code, "name_en"],
            "Centre": s.loc[code, "centre_name_en"],
            "Changed": code in result.changed,
        }
        for f, label, delta, scale, _ in FIELDS:
            ve, vs = float(e.loc[code, f]), float(s.loc[code, f])
            row[label], row[delta] = vs * scale, (vs - ve) * scale
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("Population (persons)", "Δ population (persons)", "Area (km²)", "Δ area (km²)"):
        table[col] = table[col].round(0)
    table["Changed"] = table["Changed"].map({True: "yes", False: ""})
    return table


def show_table(lab: Lab, result, key: str) -> None:
    """Show the comparison table (made once per state ``key``) with units in the column names and a caption."""
    table = lab.per_state(key, "table", lambda: comparison_table(lab, result))
    only = st.toggle(
        "Only regions that differ from the enacted reform",
        key="lab_only_changed",
        value=False,
        disabled=not result.changed,
    )
    if only and result.changed:
        table = table[(table["Changed"] == "yes") | (table["Code"] == "KZ")]
    num = st.column_config.NumberColumn
    config = {
        "Region": st.column_config.TextColumn("Region", pinned=True),
        "Changed": st.column_config.TextColumn("Changed", help="Districts or centre differ from the enacted reform"),
    }
    for f, label, delta, _scale, _ in FIELDS:
        if f in ("population", "area_km2"):
            config[label], config[delta] = num(label, format="localized"), num(delta, format="%+,.0f")
        elif f in ("polsby_popper", "reock", "convex_hull_ratio"):
            config[label], config[delta] = num(label, format="%.3f"), num(delta, format="%+.3f")
        else:
            config[label], config[delta] = num(label, format="%,.1f"), num(delta, format="%+,.1f")
    st.dataframe(table, hide_index=True, width="stretch", column_config=config, key="lab_table")
    st.caption(
        "Each region in the scenario, with Δ = scenario minus the enacted reform. The first row is the whole "
        "country: total population, the largest deviation, distances and shares weighted by population, "
        "the plain mean of the shape scores and the total area. Distances are geodesic, to the region's own "
        "centre; populations are estimated where no count is known."
    )


def headline(lab: Lab, result) -> None:
    """National figures of the scenario with their change from the enacted reform."""
    eo, so = overall(lab, result)
    d = so - eo
    cols = st.columns(5)

    def delta(key: str, scale: float, fmt: str, unit: str = "") -> dict:
        value = float(d[key]) * scale
        if abs(value) < 1e-9:
            return {"delta": "no change", "delta_color": "off", "delta_arrow": "off"}
        return {"delta": f"{value:{fmt}}{unit}"}

    cols[0].metric(
        "Distance to centre (km)",
        f"{so['pop_weighted_mean_km']:.1f}",
        help="Population-weighted mean geodesic distance from every settlement to its own regional "
        "centre; change vs the enacted reform below.",
        **({"delta_color": "inverse"} | delta("pop_weighted_mean_km", 1, "+.2f", " km")),
    )
    cols[1].metric(
        "Beyond 100 km (% of pop.)",
        f"{so['share_pop_beyond_100km'] * 100:.1f}",
        help="Share of the population living more than 100 km from its regional centre.",
        **({"delta_color": "inverse"} | delta("share_pop_beyond_100km", 100, "+.2f", " pp")),
    )
    cols[2].metric(
        "Largest deviation (%)",
        f"{so['max_abs_deviation_pct']:.1f}",
        help="Largest deviation of a region's population from the mean region population.",
        **({"delta_color": "inverse"} | delta("max_abs_deviation_pct", 1, "+.2f", " pp")),
    )
    cols[3].metric(
        "Mean Polsby–Popper (0–1)",
        f"{so['mean_polsby_popper']:.3f}",
        help="Compactness 4πA/P² (geodesic), unweighted mean over the regions; 1 = a circle.",
        **delta("mean_polsby_popper", 1, "+.4f"),
    )
    cols[4].metric(
        "Non-contiguous regions",
        f"{so['non_contiguous']:.0f}",
        help="Regions in more than one piece (slivers under 0.01 km² ignored).",
        **({"delta_color": "inverse"} | delta("non_contiguous", 1, "+.0f")),
    )
