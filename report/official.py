"""Template context of the official figures (BNS): checks, sources of each figure, the reform's shift.

Each table is shown only when the analysis carries it (``population_check``,
``population_sources``, ``official_shift`` of :class:`~analysis.pipeline.Analysis`,
made when official totals were applied); otherwise the section is skipped.
Every official figure is shown with its date and source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from inputs.bns import BNS_SOURCE
from report.figures import series_figure
from report.format import (
    fmt_date,
    fmt_int,
    fmt_pct,
    fmt_pct_points,
    fmt_signed,
    public_text,
    text,
)
from report.model import Chart, Names, Table

if TYPE_CHECKING:
    from analysis.pipeline import Analysis


def _table_of(analysis: Analysis, name: str) -> pd.DataFrame | None:
    table = getattr(analysis, name, None)
    return None if table is None or len(table) == 0 else table


def _dated_sources(rows: pd.DataFrame, date_col: str = "official_date") -> str:
    """``BNS …, 1 January 2023`` for each distinct (source, date) of ``rows``."""
    sources = rows["source"].map(lambda v: public_text(text(v)))
    pairs = dict.fromkeys(zip(sources, rows[date_col].map(fmt_date), strict=True))
    return "; ".join(f"{source}, {date}" for source, date in pairs)


def check_tables(check: pd.DataFrame, names: Names) -> list[Table]:
    """One table per epoch: the project's region totals against the official ones."""
    regions = check[check["level"] == "region"]
    tables = []
    for epoch, part in regions.groupby("epoch", sort=False):
        rows = tuple(
            (
                names.label(r["code"], int(epoch)),
                fmt_int(r["project_population"]),
                fmt_int(r["official_population"]),
                fmt_signed(r["difference"]),
                fmt_pct_points(100 * r["difference"] / r["official_population"])
                if r["official_population"]
                else "–",
            )
            for r in part.to_dict("records")
        )
        tables.append(
            Table(
                ("Region", "This analysis", "Official", "Difference", "Difference, %"),
                rows,
                caption=f"Regions of {epoch}: population in this analysis against the official "
                f"figure ({_dated_sources(part)})",
                numeric=(False, True, True, True, True),
            )
        )
    return tables


def sources_tables(sources: pd.DataFrame, names: Names) -> list[Table]:
    """One :func:`sources_table` per epoch, in the order of the table."""
    return [
        sources_table(part, names, epoch=int(epoch))
        for epoch, part in sources.groupby("epoch", sort=False)
    ]


def sources_table(sources: pd.DataFrame, names: Names, *, epoch: int) -> Table:
    """Per region of ``epoch``: people on official settlement counts, allocated (band), remainder points."""
    rows = tuple(
        (
            names.label(r["region"], epoch),
            fmt_int(r["population"]),
            fmt_int(r["counted"]),
            fmt_pct(r["counted_share"]),
            f"{fmt_int(r['allocated'])} ({fmt_int(r['allocated_low'])}–{fmt_int(r['allocated_high'])})",
            fmt_int(r["representative"]),
        )
        for r in sources.to_dict("records")
    )
    columns = ("Region", "Population", "Official settlement counts", "Share",
               "Allocated (band)", "Representative points")  # fmt: skip
    return Table(
        columns,
        rows,
        caption=f"Regions of {epoch}: where their people come from: settlements the bulletin counts, the rest "
        "of each district's official total allocated to its other settlements (band: allocation "
        "with the estimates' 25th and 75th percentiles), and districts with no settlement point",
        numeric=(False, True, True, True, True, True),
    )


def shift_table(shift: pd.DataFrame, names: Names, epochs: tuple[int, int]) -> Table:
    """Tabulate the reform's shift in the official regional series: old region → its successors."""
    before, after = epochs
    rows = tuple(
        (
            names.label(r["region_before"], before),
            fmt_int(r["population_before"]),
            names.label(r["region_after"], after),
            fmt_int(r["population_after"]),
            fmt_pct(r["share_after"]),
        )
        for r in shift.to_dict("records")
    )
    first = shift.iloc[0]
    return Table(
        (f"Region, {fmt_date(first['date_before'])}", "Population",
         f"Region, {fmt_date(first['date_after'])}", "Population", "Share of the successors"),
        rows,
        caption=f"The reform's shift in official numbers ({public_text(text(first['source']))}): the old "
        f"region on {fmt_date(first['date_before'])} in its old borders, its successors on "
        f"{fmt_date(first['date_after'])} in the new ones",
        numeric=(False, True, False, True, True),
    )  # fmt: skip


def osm_error_cells(check: pd.DataFrame) -> dict[str, str] | None:
    """How far the gazetteer's own figures are from the official settlement counts."""
    from analysis.official import osm_error

    err = osm_error(check)
    if not err["places_compared"]:
        return None
    return {
        "places": f"{int(err['places_compared']):,}",
        "mdape": f"{err['mdape_pct']:.1f} %",
        "within_10pct": fmt_pct(err["within_10pct"]),
    }


def official_context(analysis: Analysis) -> dict[str, Any] | None:
    """Tabulate the official figures, or return None when the analysis was not controlled to them."""
    check = _table_of(analysis, "population_check")
    sources = _table_of(analysis, "population_sources")
    series = series_context(analysis)
    if check is None and sources is None and series is None:
        return None
    names = Names.of(analysis)
    return {
        "checks": check_tables(check, names) if check is not None else [],
        "osm_error": osm_error_cells(check)
        if check is not None and (check["level"] == "settlement").any()
        else None,
        "sources": sources_tables(sources, names) if sources is not None else [],
        "series": series,
    }


def shift_context(analysis: Analysis) -> Table | None:
    """Tabulate the official before/after shown beside the flows (None when absent)."""
    shift = _table_of(analysis, "official_shift")
    return None if shift is None else shift_table(shift, Names.of(analysis), analysis.epochs)


#: Years of the official series shown in its table (the first and last years are added).
SERIES_YEARS = (2010, 2018, 2021, 2022)


def series_table(series: pd.DataFrame, names: dict[str, str]) -> Table:
    """Official population by region in a few years: the first, the reform years, the last."""
    regions = series[series["region"] != "KZ"]
    years = sorted({int(regions["year"].min()), *SERIES_YEARS, int(regions["year"].max())})
    years = [y for y in years if y in set(regions["year"])]
    wide = regions.pivot_table(index="region", columns="year", values="population", aggfunc="first")
    rows = tuple(
        (f"{code} {names.get(code, '')}".strip(), *(fmt_int(wide.at[code, y]) for y in years))
        for code in wide.index
    )
    first = regions.iloc[0]
    source = public_text(text(first.get("source", ""))) or f"{BNS_SOURCE}, regional series"
    return Table(
        ("Region", *(f"1 Jan {y}" for y in years)),
        rows,
        caption=f"Population on 1 January by region ({source}), in the borders of each date: "
        "'–' where the region did not exist",
        numeric=(False, *(True,) * len(years)),
    )


def series_context(analysis: Analysis) -> dict[str, Any] | None:
    """Show the official regional series as a figure and a table (None when the analysis has none)."""
    series = _table_of(analysis, "official_series")
    if series is None:
        return None
    names = {c: n for by in Names.of(analysis).by_epoch.values() for c, n in by.items()}
    years = series["year"].astype(int)
    marks = tuple(y for y in (2018, 2022) if years.min() < y <= years.max())
    return {
        "first": int(years.min()),
        "last": int(years.max()),
        "figure": Chart(
            series_figure(series, names, marks=marks),
            f"Population on 1 January of each region, {int(years.min())}–{int(years.max())}, "
            "from the regional series of the Bureau of National Statistics, in the borders of "
            "each date (dotted: the reforms of 2018 and 2022, after which a region's line "
            "jumps or starts).",
            "Official population of each region by year",
        ),
        "table": series_table(series, names),
    }
