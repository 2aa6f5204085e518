"""The atlas's charts: distance distributions, population flows, who gained and who lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from boundaries.schema import centre_col, dist_col, region_col

#: Width of the distance bands in the distribution charts (km).
BAND_KM = 25
CHANGE_COLOURS = {"nearer": "#4292c6", "unchanged": "#c4c4c4", "farther": "#ef3b2c"}


def distance_bands(analysis, codes: list[str], names) -> pd.DataFrame:
    """Estimated persons per distance band, region and epoch (every band, zeros included)."""
    before, after = analysis.epochs
    s = analysis.settlements[analysis.settlements[region_col(before)].isin(codes)]
    region = [f"{names.get(c, c)} ({c})" for c in s[region_col(before)].astype(str)]
    weight = pd.to_numeric(s["population_est"], errors="coerce").fillna(0).to_numpy()
    frames = [
        pd.DataFrame({
            "region": region,
            "epoch": str(epoch),
            "distance_km": pd.to_numeric(s[dist_col(epoch)], errors="coerce").to_numpy(),
            "population": weight,
        })
        for epoch in (before, after)
    ]
    tidy = pd.concat(frames, ignore_index=True).dropna(subset=["distance_km"])
    tidy["band_km"] = (tidy["distance_km"] // BAND_KM) * BAND_KM
    bands = tidy.groupby(["region", "epoch", "band_km"], as_index=False).agg(
        population=("population", "sum"), settlements=("population", "size")
    )
    # every band of each region and epoch, so that the step lines drop to zero between peaks
    top = float(bands["band_km"].max()) if len(bands) else 0.0
    grid = pd.MultiIndex.from_product(
        [bands["region"].unique(), bands["epoch"].unique(), np.arange(0.0, top + 2 * BAND_KM, BAND_KM)],
        names=["region", "epoch", "band_km"],
    )
    return bands.set_index(["region", "epoch", "band_km"]).reindex(grid, fill_value=0).reset_index()


def distances_panel(analysis) -> None:
    """Distance distributions before and after for the pre-reform regions the reform changed."""
    import altair as alt

    from webapp.atlas_panels import distances_table

    before, after = analysis.epochs
    codes = analysis.affected[region_col(before)].tolist() if len(analysis.affected) else []
    if not codes:
        st.info("No region's centre changed for any settlement in this dataset.")
        return
    names = analysis.build.regions[before].set_index("code")["name_en"]
    bands = distance_bands(analysis, codes, names)
    colours = alt.Scale(domain=[str(before), str(after)], range=["#5e35b1", "#c62828"])
    base = alt.Chart().encode(
        x=alt.X("band_km:Q", title=f"Distance to own regional centre (km, {BAND_KM} km bands)"),
        y=alt.Y("population:Q", title="Population (persons)", stack=None),
        color=alt.Color("epoch:N", title="Epoch", scale=colours),
        tooltip=[
            alt.Tooltip("region:N"),
            alt.Tooltip("epoch:N"),
            alt.Tooltip("band_km:Q", title="from km"),
            alt.Tooltip("population:Q", title="persons", format=",.0f"),
            alt.Tooltip("settlements:Q", format=","),
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
        f"{before} (purple) and {after} (red): estimated persons per {BAND_KM} km band of geodesic distance."
    )
    distances_table(analysis, names)


def sankey(analysis, flows: pd.DataFrame):
    """Return Plotly Sankey of the people of each pre-reform region by their region after the reform."""
    import plotly.graph_objects as go

    before, after = analysis.epochs
    b, a = region_col(before), region_col(after)
    names_b = analysis.build.regions[before].set_index("code")["name_en"]
    names_a = analysis.build.regions[after].set_index("code")["name_en"]
    left = [f"{names_b.get(c, c)} ({before})" for c in flows[b].unique()]
    right = [f"{names_a.get(c, c)} ({after})" for c in flows[a].unique()]
    index = {n: i for i, n in enumerate(left + right)}
    link = {
        "source": [index[f"{names_b.get(c, c)} ({before})"] for c in flows[b]],
        "target": [index[f"{names_a.get(c, c)} ({after})"] for c in flows[a]],
        "value": flows["population"].round().tolist(),
        "color": ["rgba(84,20,120,0.45)" if ch else "rgba(150,150,150,0.35)" for ch in flows["changed"]],
        "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.0f} persons<extra></extra>",
    }
    node = {"label": left + right, "pad": 14, "thickness": 14,
            "color": ["#5e35b1"] * len(left) + ["#c62828"] * len(right)}
    fig = go.Figure(go.Sankey(arrangement="snap", node=node, link=link))
    fig.update_layout(height=330, margin={"l": 8, "r": 8, "t": 8, "b": 8}, font={"size": 12})
    return fig


def flows_panel(analysis) -> None:
    """Draw population flows between pre- and post-reform regions."""
    from webapp.atlas_panels import flows_table, official_panel

    before, after = analysis.epochs
    shifts = analysis.shifts
    b = region_col(before)
    touched = set(shifts.loc[shifts["changed"], b])
    flows = shifts[shifts[b].isin(touched) & (shifts["population"] > 0)]
    if len(flows):
        st.plotly_chart(sankey(analysis, flows), width="stretch", config={"displayModeBar": False})
        st.caption(
            f"Population (persons) of each pre-reform region that lost territory, by the "
            f"region it belongs to in {after}; purple links moved to another region."
        )
    flows_table(analysis)
    official_panel(analysis)


def winners_chart(analysis):
    """Stacked bars: the share of each changed region's people nearer, unchanged, farther."""
    import altair as alt

    before, _ = analysis.epochs
    aff = analysis.affected
    names = analysis.build.regions[before].set_index("code")["name_en"]
    long = aff.melt(
        id_vars=[region_col(before)],
        value_vars=["share_pop_nearer", "share_pop_unchanged", "share_pop_farther"],
        var_name="change",
        value_name="share",
    )
    long["region"] = [f"{names.get(c, c)} ({c})" for c in long[region_col(before)]]
    long["change"] = long["change"].str.removeprefix("share_pop_")
    long["change_order"] = long["change"].map({k: i for i, k in enumerate(CHANGE_COLOURS)})
    colour = alt.Color("change:N", title="Trip to the centre",
                       scale=alt.Scale(domain=list(CHANGE_COLOURS), range=list(CHANGE_COLOURS.values())))
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(share):Q", stack="normalize", title="Share of population (%)", axis=alt.Axis(format="%")),
            y=alt.Y("region:N", title=None),
            color=colour,
            order=alt.Order("change_order:Q"),
            tooltip=[alt.Tooltip("region:N"), alt.Tooltip("change:N"),
                     alt.Tooltip("sum(share):Q", title="share", format=".1%")],
        )
        .properties(height=34 * len(aff) + 30)
    )


def winners_panel(analysis) -> None:
    """Who gained and who lost: shares per region, then the largest changes by place."""
    from webapp.atlas_panels import POPULATION_COLUMNS, km, num
    from webapp.common import whole
    from webapp.labels import centres_then

    before, after = analysis.epochs
    if not len(analysis.affected):
        st.info("No settlement's distance to its centre changed.")
        return
    st.altair_chart(winners_chart(analysis), width="stretch")
    st.caption(
        "Share of each changed pre-reform region's population whose trip to the regional centre got "
        "more than 0.5 km shorter (nearer), longer (farther) or stayed the same."
    )
    wl = analysis.winners_losers
    if not len(wl):
        return
    order = ["name_latn", "name", "delta_km", dist_col(before), dist_col(after), "population", "kind",
             centre_col(before), centre_col(after), region_col(before), region_col(after), "id"]
    table = centres_then(whole(wl, *POPULATION_COLUMNS), analysis.build.spec,
                         {before: centre_col(before), after: centre_col(after)})  # fmt: skip
    st.dataframe(
        table[[c for c in order if c in table.columns]],
        hide_index=True,
        width="stretch",
        column_config={
            "kind": "Gained or lost", "id": "Id",
            "name_latn": st.column_config.TextColumn("Place", pinned=True), "name": "Local name",
            region_col(before): f"Region {before}", region_col(after): f"Region {after}",
            centre_col(before): f"Centre {before}", centre_col(after): f"Centre {after}",
            "population": num("Population (persons)"),
            dist_col(before): km(f"Distance {before} (km)"), dist_col(after): km(f"Distance {after} (km)"),
            "delta_km": km("Change (km)", signed=True),
        },
    )
    st.caption(
        "The ten places with the largest cut in distance (gainers) and the ten with the largest increase "
        "(losers) per changed region, among places with a known population of at least 1,000."
    )


# --------------------------------------------------------------------------- the official series

#: What every view of the BNS regional series says: each year is in the borders of its date.
SERIES_CAVEAT = (
    "Each year is in the borders of its date, so a reform breaks a region's line: South Kazakhstan "
    "region's line (KZ-61, Turkistan region since 2018) drops where the city of Shymkent's starts; in 2022 "
    "Abai, Zhetysu and Ulytau regions were split from East Kazakhstan, Almaty and Karaganda regions (their "
    "lines start in 2022, their parents' drop)."
)


def series_names(chain) -> dict[str, str]:
    """English name of every region code of the chain, as of the latest epoch it exists in."""
    names = {}
    for spec in chain.specs:  # oldest first: the latest name wins
        for epoch in spec.epochs:
            names.update({code: r.name_en for code, r in spec.regions_of(epoch).items()})
    return names


def series_chart(series: pd.DataFrame, names: dict[str, str], *, height: int = 360):
    """Line chart of population on 1 January by region and year (one line per region)."""
    import altair as alt

    data = series[series["region"] != "KZ"].dropna(subset=["population"]).copy()
    data["name"] = [f"{names.get(c, c)} ({c})" for c in data["region"]]
    data["population"] = data["population"].astype(float)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:O", title="1 January of"),
            y=alt.Y("population:Q", title="Population (persons)", axis=alt.Axis(format=",.0f")),
            # 20 regions: a 20-colour scheme, so no two lines share a colour
            color=alt.Color(
                "name:N",
                title="Region",
                scale=alt.Scale(scheme="category20"),
                legend=alt.Legend(orient="right", labelLimit=260),
            ),
            tooltip=[
                alt.Tooltip("name:N", title="region"),
                alt.Tooltip("year:O"),
                alt.Tooltip("population:Q", title="persons", format=",.0f"),
            ],
        )
        .properties(height=height)
    )


def series_panel(series: pd.DataFrame, names: dict[str, str]) -> None:
    """Show the BNS regional series: every region's line and the report's table of it."""
    from report.official import series_table

    years = series["year"].astype(int)
    st.markdown(f"**Official population of each region, 1 January {years.min()}–{years.max()}**")
    st.altair_chart(series_chart(series, names), width="stretch")
    table = series_table(series, names)
    st.dataframe(pd.DataFrame(table.rows, columns=list(table.columns)), hide_index=True, width="stretch")
    st.caption(f"{table.caption}. {SERIES_CAVEAT}")


def region_series(series: pd.DataFrame, names: dict[str, str], code: str) -> None:
    """One region's official population by year (in the region panel), or why there is none."""
    import altair as alt

    rows = series[(series["region"] == code)].dropna(subset=["population"])
    if rows.empty:
        st.caption(
            f"No official population series for {names.get(code, code)}: the BNS regional series "
            f"({int(series['year'].min())}–{int(series['year'].max())}) has no region of that name in its years."
        )
        return
    st.markdown("**Official population on 1 January**")
    st.altair_chart(series_chart(rows, names, height=160).encode(color=alt.value("#3b6ea8")), width="stretch")
    first, last = rows.iloc[0], rows.iloc[-1]
    st.caption(
        f"{int(first['population']):,} persons in {int(first['year'])}, {int(last['population']):,} in "
        f"{int(last['year'])} (Bureau of National Statistics). {SERIES_CAVEAT}"
    )

