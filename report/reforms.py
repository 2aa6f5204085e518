"""Template context of the reform chain: one section per reform and today's regions vs the old oblasts.

Shown when the report has the reform chain (:class:`analysis.summary.ChainSummary`,
with the tables of :mod:`analysis.timeline`):
``reform_summary`` (per reform and pre-reform region: population-weighted mean
distance before and after, shares nearer and farther), ``successor_overlap``
(today's regions against the oblasts they were formed on), ``approximation``
(built against official areas of the approximate historical epoch) and, per
reform, its claim places. Absent tables skip their part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from report.claims import claim_facts, claims_table
from report.format import fmt_int, fmt_km, fmt_pct, fmt_pct_points, text
from report.model import Names, Table

if TYPE_CHECKING:
    from analysis.summary import ChainSummary


def _present(tables: Mapping[str, Any], name: str) -> pd.DataFrame | None:
    table = tables.get(name)
    return None if table is None or len(table) == 0 else table


def reform_regions_table(rows: pd.DataFrame) -> Table:
    """Tabulate the pre-reform regions where some centre changed, with who got nearer and farther."""
    first = rows.iloc[0]
    before, after = int(first["before"]), int(first["after"])
    cells = tuple(
        (
            f"{r['region_before']} {text(r['name_before'])}",
            text(r["centre_before"]),
            fmt_int(r["population"]),
            fmt_km(r["pop_weighted_mean_before_km"]),
            fmt_km(r["pop_weighted_mean_after_km"]),
            fmt_pct(r["share_pop_nearer"]),
            fmt_pct(r["share_pop_farther"]),
            fmt_pct(r["share_pop_unchanged"]),
        )
        for r in rows.to_dict("records")
    )
    columns = (f"Region ({before} borders)", f"Centre {before}", "Population",
               f"Mean {before}, km", f"Mean {after}, km", "Nearer", "Farther", "Unchanged")  # fmt: skip
    return Table(
        columns,
        cells,
        caption=f"{before} → {after}: population-weighted mean distance to the own regional "
        "centre and share of people nearer / farther",
        numeric=(False, False, *(True,) * 6),
    )


def epoch_period(epoch: int, periods: Mapping[int, Any]) -> str:
    """``1996 (1991 – April 1997, approximate)``: an epoch with the period its spec gives it."""
    p = periods.get(epoch)
    if p is None:
        return str(epoch)
    return f"{epoch} ({p.label}{', approximate' if p.approximate else ''})"


def name_then(name: str, epoch: int, periods: Mapping[int, Any], renames) -> str:
    """Name a place as the period of ``epoch`` knew it (Semey is Semipalatinsk in 1996), from the specs' renames."""
    from inputs.names import period_name

    p = periods.get(epoch)
    return name if p is None or not name else period_name(name, p.first_day, p.last_day, renames=renames)


def reform_sections(
    summary: pd.DataFrame,
    titles: Mapping[str, str],
    claims: Mapping[str, Table],
    *,
    periods: Mapping[int, Any] | None = None,
    renames=(),
) -> list[dict[str, Any]]:
    """One entry per reform of the chain, in chain order (epochs labelled by their periods)."""
    periods = periods or {}
    sections = []
    for reform, rows in summary.groupby("reform", sort=False):
        first = rows.iloc[0]
        before = int(first["before"])
        sections.append(
            {
                "id": reform,
                "title": titles.get(reform, reform),
                "before": before,
                "after": int(first["after"]),
                "before_period": epoch_period(before, periods),
                "after_period": epoch_period(int(first["after"]), periods),
                "regions": [
                    {
                        "name": text(r["name_before"]),
                        "centre": name_then(text(r["centre_before"]), before, periods, renames),
                        "population": fmt_int(r["population"]),
                        "mean_before": fmt_km(r["pop_weighted_mean_before_km"]),
                        "mean_after": fmt_km(r["pop_weighted_mean_after_km"]),
                        "farther": fmt_pct(r["share_pop_farther"]),
                        "nearer": fmt_pct(r["share_pop_nearer"]),
                    }
                    for r in rows.to_dict("records")
                ],
                "table": reform_regions_table(rows),
                "claims": claims.get(reform),
            }
        )
    return sections


def overlap_table(overlap: pd.DataFrame) -> Table:
    """Today's regions against the former oblasts they were formed on: overlap and centres."""
    rows = tuple(
        (
            f"{r['name_en']} ({r['epoch']})",
            f"{r['former_name_en']} ({r['former_epoch']}, approximate)",
            fmt_int(r["overlap_km2"]),
            fmt_pct(r["share_of_region"]),
            fmt_pct(r["share_of_former"]),
            f"{float(r['iou']):.3f}",
            f"{text(r['centre'])} / {text(r['former_centre'])}",
            fmt_km(r["centres_km"]),
        )
        for r in overlap.to_dict("records")
    )
    columns = ("Region today", "Former oblast", "Overlap, km²", "Share of the region",
               "Share of the oblast", "IoU", "Centres (today / then)", "Centres apart, km")  # fmt: skip
    return Table(
        columns,
        rows,
        caption="Today's regions and the oblasts abolished in 1997: area overlap (EPSG:6933) and "
        "geodesic distance between their centres",
        numeric=(False, False, True, True, True, True, False, True),
    )


def overlap_sources(overlap: pd.DataFrame) -> list[str]:
    """Where each former oblast's membership comes from (``Zhezkazgan Region: …``)."""
    if "former_source" not in overlap:
        return []
    return [
        f"{r['former_name_en']}: {text(r['former_source'])}"
        for r in overlap.to_dict("records")
        if text(r["former_source"])
    ]


def approximation_table(approximation: pd.DataFrame) -> Table:
    """Built area of each abolished oblast against its official area."""
    rows = tuple(
        (
            f"{r['name_en']} ({r['epoch']})",
            fmt_int(r["built_area_km2"]),
            fmt_int(r["official_area_km2"]),
            fmt_pct_points(r["difference_pct"]),
        )
        for r in approximation.to_dict("records")
    )
    return Table(
        ("Former oblast", "Built from today's districts, km²", "Official, km²", "Difference"),
        rows,
        caption="Size of the approximation: the historical oblasts are unions of today's "
        "districts, so their built areas differ from the official ones",
        numeric=(False, True, True, True),
    )


def claim_tables(chain: ChainSummary) -> dict[str, Table]:
    """Tabulate the claim places of each other reform of the chain, as the claims section does."""
    names = Names(chain.names)
    tables = {}
    for reform, claims in chain.claims.items():
        epochs = (int(chain.epochs[reform][0]), int(chain.epochs[reform][1]))
        facts = [
            claim_facts(r, epochs=epochs, names=names) if r.get("found") else {"place": r["place"]}
            for r in claims.to_dict("records")
        ]
        if facts:
            tables[reform] = claims_table(facts, epochs, address=False)
    return tables


def reforms_context(chain: ChainSummary | None) -> dict[str, Any] | None:
    """Gather the reform chain's sections, or return None when the report has no chain."""
    if chain is None:
        return None
    summary = _present(chain.tables, "reform_summary")
    overlap = _present(chain.tables, "successor_overlap")
    approximation = _present(chain.tables, "approximation")
    if summary is None and overlap is None:
        return None
    return {
        "reforms": []
        if summary is None
        else reform_sections(
            summary, chain.titles, claim_tables(chain), periods=chain.periods, renames=chain.renames
        ),
        "overlap": None if overlap is None else overlap_table(overlap),
        "overlap_sources": [] if overlap is None else overlap_sources(overlap),
        "approximation": None if approximation is None else approximation_table(approximation),
    }
