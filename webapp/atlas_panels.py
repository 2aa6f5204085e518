"""The atlas's headline figures and tables, formatted like a report.

One number format per column (thousands separators, fixed decimals, units in the
headers), empty cells empty, the columns that matter first, plain captions.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from boundaries.schema import (
    centre_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from webapp import atlas_charts as charts
from webapp.common import plain, table_height, whole

POPULATION_COLUMNS = ("population", "population_known", "population_est", "population_low", "population_high")
TAB_NAMES = ("Regions", "Distances", "Population flows", "Winners & losers", "Named places", "Population by year",
             "Data & method")


def num(label: str, fmt: str = "localized", help: str | None = None):
    """Return a number column: ``localized`` = whole numbers with thousands separators."""
    return st.column_config.NumberColumn(label, format=fmt, help=help)


def km(label: str, *, signed: bool = False):
    """Return a distance column in km with one decimal."""
    return num(label, "%+,.1f" if signed else "%,.1f")


def report_table(frame: pd.DataFrame, order: list[str], config: dict, *, every_row: bool = True) -> None:
    """Show the columns of ``order`` that ``frame`` has, in that order, formatted by ``config``."""
    st.dataframe(
        frame[[c for c in order if c in frame.columns]],
        hide_index=True,
        width="stretch",
        height=table_height(len(frame)) if every_row else "auto",
        column_config=config,
    )


def summary_metrics(analysis) -> None:
    """Headline figures, each with its unit."""
    before, after = analysis.epochs
    aff = analysis.affected
    cols = st.columns(6)
    cols[0].metric(f"Regions {before}", len(analysis.build.regions[before]))
    cols[1].metric(f"Regions {after}", len(analysis.build.regions[after]))
    cols[2].metric("Settlements", f"{len(analysis.settlements):,}")
    cols[3].metric(
        "Settlements moved",
        f"{analysis.counts.get('changed_region', 0):,}",
        help="Settlements whose region differs between the epochs (they changed region).",
    )
    if len(aff):
        pop = aff["population"]
        nearer = float((aff["share_pop_nearer"] * pop).sum())
        farther = float((aff["share_pop_farther"] * pop).sum())
        cols[4].metric(
            "People nearer",
            f"{nearer:,.0f}",
            help="Persons in the pre-reform regions the reform changed whose trip to their regional centre "
            "got more than 0.5 km shorter.",
        )
        cols[5].metric("People farther", f"{farther:,.0f}", help="Same, for trips more than 0.5 km longer.")


def regions_table(analysis, epoch: int) -> None:
    """Region statistics of one epoch: distances first, then population, area and names."""
    from webapp.labels import epoch_name, is_approximate
    from webapp.maps.features import centre_label

    stats = analysis.region_stats[analysis.region_stats["epoch"] == epoch].copy()
    meta = analysis.build.regions[epoch].set_index("code")
    stats["name_kk"] = stats["region"].map(meta["name_kk"])
    stats["name_ru"] = stats["region"].map(meta["name_ru"])
    stats["centre"] = [centre_label(analysis.build.spec, c, epoch) for c in stats["region"]]
    stats["area_km2"] = stats["area_km2"].round()
    cols = ["name_en", "centre", "pop_weighted_mean_km", "median_km", "mean_km", "p90_km", "max_km",
            "population", "population_known", "settlements", "area_km2", "region", "name_kk", "name_ru"]
    st.dataframe(
        whole(stats[cols], *POPULATION_COLUMNS),
        hide_index=True,
        width="stretch",
        height=table_height(len(stats)),
        column_config={
            "region": "Code",
            "name_en": st.column_config.TextColumn("Region", pinned=True),
            "name_kk": "Name in Kazakh",
            "name_ru": "Name in Russian",
            "centre": "Centre",
            "settlements": num("Settlements"),
            "population": num("Population (persons)"),
            "population_known": num("Population with a known count (persons)"),
            "area_km2": num("Area (km²)"),
            "mean_km": km("Mean distance (km)"),
            "median_km": km("Median distance (km)"),
            "p90_km": km("90th percentile (km)"),
            "max_km": km("Farthest (km)"),
            "pop_weighted_mean_km": km("Population-weighted mean distance (km)"),
        },
    )
    st.caption(
        f"The {len(stats)} regions of {epoch_name(analysis.build.spec, epoch)}. Distances: geodesic from each "
        "settlement to its own regional centre; population estimated where no count is known; area on an "
        "equal-area projection."
        + (f" Approximate epoch. {analysis.build.spec.periods[epoch].note}" if is_approximate(analysis.build.spec, epoch) else "")
    )


def distances_table(analysis, names) -> None:
    """Shares of people nearer, unchanged and farther per pre-reform region the reform changed."""
    before, after = analysis.epochs
    table = whole(analysis.affected, *POPULATION_COLUMNS)
    table.insert(1, "name", table[region_col(before)].map(names))
    for col in ("share_pop_nearer", "share_pop_farther", "share_pop_unchanged"):
        table[col] = table[col] * 100
    order = ["name", "share_pop_nearer", "share_pop_unchanged", "share_pop_farther",
             f"pop_weighted_mean_{before}_km", f"pop_weighted_mean_{after}_km", "median_delta_km",
             "population", "settlements", region_col(before)]
    report_table(
        table,
        order,
        every_row=False,
        config={
            region_col(before): f"Code {before}",
            "name": st.column_config.TextColumn(f"Region {before}", pinned=True),
            "settlements": num("Settlements"),
            "population": num("Population (persons)"),
            "share_pop_nearer": num("Nearer (% of people)", "%.1f"),
            "share_pop_farther": num("Farther (% of people)", "%.1f"),
            "share_pop_unchanged": num("Unchanged (% of people)", "%.1f"),
            f"pop_weighted_mean_{before}_km": km(f"Mean distance {before} (km, pop.-weighted)"),
            f"pop_weighted_mean_{after}_km": km(f"Mean distance {after} (km, pop.-weighted)"),
            "median_delta_km": km("Median change (km)", signed=True),
        },
    )
    st.caption(
        "Pre-reform regions the reform changed: the share of their people whose trip to the regional centre "
        "got more than 0.5 km shorter, stayed the same or got longer, and mean distances weighted by population."
    )


def flows_table(analysis) -> None:
    """Settlements, people and area moving between the regions of the two epochs."""
    before, after = analysis.epochs
    shifts = analysis.shifts
    b, a = region_col(before), region_col(after)
    table = whole(shifts, *POPULATION_COLUMNS)
    table["area_km2"] = table["area_km2"].round()
    table["from"] = table[b].map(analysis.build.regions[before].set_index("code")["name_en"])
    table["to"] = table[a].map(analysis.build.regions[after].set_index("code")["name_en"])
    table["changed"] = table["changed"].map({True: "yes", False: ""})
    order = ["from", "to", "changed", "population", "settlements", "area_km2", "population_known",
             "population_low", "population_high", b, a]
    report_table(
        table,
        order,
        {
            b: f"Code {before}",
            a: f"Code {after}",
            "from": st.column_config.TextColumn(f"Region {before}", pinned=True),
            "to": f"Region {after}",
            "settlements": num("Settlements"),
            "population": num("Population (persons)"),
            "population_known": num("With a known count (persons)"),
            "population_low": num("Low estimate (persons)"),
            "population_high": num("High estimate (persons)"),
            "area_km2": num("Area (km²)"),
            "changed": "Changed region",
        },
    )
    st.caption(
        f"Settlements, people and area of each region of {before} by the region they belong to in {after}; "
        "the totals equal the totals over all settlements."
    )


def official_panel(analysis) -> None:
    """Show the official figures behind the populations (date, source) and the reform's shift."""
    if analysis.population_check is None:
        st.caption("Populations are gazetteer figures (no official control for this data source).")
        return
    from inputs.bns import BNS_SOURCE, BULLETIN_DATE

    st.caption(
        f"Populations are official: {BNS_SOURCE}, 1 January {BULLETIN_DATE[:4]}. Settlements the "
        "bulletin counts carry their count; the rest of each district's total is shared among its "
        "other settlements by their gazetteer figure. Totals cover settlements in Kazakhstan; places "
        "abroad are listed but not counted."
    )
    shift = analysis.official_shift
    if shift is None or not len(shift):
        return
    before, after = analysis.epochs
    table = shift.copy()
    table["from"] = table["region_before"].map(analysis.build.regions[before].set_index("code")["name_en"])
    table["to"] = table["region_after"].map(analysis.build.regions[after].set_index("code")["name_en"])
    table["share_pct"] = (100 * table["share_after"]).round(1)
    date_b, date_a = shift["date_before"].iloc[0], shift["date_after"].iloc[0]
    st.markdown("**The reform's shift in the official regional series**")
    report_table(
        table,
        ["from", "population_before", "to", "population_after", "share_pct"],
        {
            "from": st.column_config.TextColumn("Region, old borders", pinned=True),
            "population_before": num(f"Population on {date_b} (persons)"),
            "to": "Region, new borders",
            "population_after": num(f"Population on {date_a} (persons)"),
            "share_pct": num("Share of the old region (%)", "%.1f"),
        },
    )
    st.caption(f"{shift['source'].iloc[0]}; each year in the borders of its date.")


def claims_panel(analysis) -> None:
    """Places named in the address of 16 March 2022."""
    before, after = analysis.epochs
    from webapp.labels import centres_then

    claims = centres_then(whole(analysis.claims, *POPULATION_COLUMNS), analysis.build.spec,
                          {before: centre_col(before), after: centre_col(after)})  # fmt: skip
    order = ["place", "name", "found", dist_col(before), dist_col(after), "delta_km", centre_col(before),
             centre_col(after), region_col(before), region_col(after), nearest_centre_col(after),
             nearest_centre_km_col(after), "population", "population_est", "id"]
    report_table(
        claims,
        order,
        {
            "place": st.column_config.TextColumn("Place", pinned=True),
            "found": st.column_config.CheckboxColumn("Found"),
            "id": "Id",
            "name": "Name in the data",
            region_col(before): f"Region {before}",
            region_col(after): f"Region {after}",
            centre_col(before): f"Centre {before}",
            centre_col(after): f"Centre {after}",
            nearest_centre_col(after): f"Nearest centre {after}",
            "population": num("Population (persons)"),
            "population_est": num("Population (persons)"),
            dist_col(before): km(f"Distance {before} (km)"),
            dist_col(after): km(f"Distance {after} (km)"),
            "delta_km": km("Change (km)", signed=True),
            nearest_centre_km_col(after): km(f"To the nearest centre {after} (km)"),
        },
    )
    st.caption(
        "Places the reform's proposal named and other places it moved, found by name in any script; "
        "geodesic distances to the regional centre in km."
    )


def method_panel(analysis, geometry) -> None:
    """Draw sources, notes, counts and display-geometry checks."""
    from webapp.atlas import describe
    from webapp.maps.assets import leaflet_assets

    src = analysis.build.sources
    st.markdown(
        f"**Boundaries:** {plain(describe(src.description))}  \n"
        f"**Settlements:** {plain(describe(analysis.settlement_source.description))}"
    )
    attribution = "; ".join(dict.fromkeys([*src.attribution, *analysis.settlement_source.attribution]))
    st.markdown(f"**Attribution:** {plain(attribution)}")
    st.markdown(f"**Map library:** {plain(leaflet_assets()[2])}")
    for note in analysis.build.notes:
        st.caption(f"Build note: {plain(describe(note))}")
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
    st.dataframe(counts, hide_index=True, height=table_height(len(counts)),
                 column_config={"count of": "Count of", "settlements": num("Settlements")})
    st.caption(
        f"Settlement counts of this run; regions built in {analysis.build.seconds:.2f} s, "
        f"settlements analysed in {analysis.seconds:.2f} s."
    )


def tabs(analysis, epoch: int, source_name: str) -> None:
    """Draw the tabs under the map; only the open one is drawn."""
    from webapp import cache

    names = list(TAB_NAMES)
    names[0] = f"Regions {epoch}"
    drawn = st.tabs(names, key="panel", on_change="rerun")
    panels = (
        lambda: regions_table(analysis, epoch),
        lambda: charts.distances_panel(analysis),
        lambda: charts.flows_panel(analysis),
        lambda: charts.winners_panel(analysis),
        lambda: claims_panel(analysis),
        lambda: charts.series_panel(cache.cached_series(source_name), charts.series_names(cache.cached_chain())),
        lambda: method_panel(analysis, cache.cached_geometry(source_name, analysis.build.spec.id)),
    )
    for tab, panel in zip(drawn, panels, strict=True):
        if tab.open is not False:
            with tab:
                panel()
