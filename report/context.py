"""What the report says, as a template context: formatted numbers, table cells and figures.

:func:`report_context` gathers one entry per section of ``templates/body.j2``. The
numbers come from the :class:`~analysis.pipeline.Analysis` and
:mod:`analysis.summary`; here they are only looked up and formatted, so the
templates hold the wording and this module the cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.summary import (
    affected_codes,
    affected_mean_distances,
    centre_changes,
    changed_regions,
    new_regions,
)
from boundaries.schema import (
    FARTHER_THAN_OTHER,
)
from report import figures
from report.claims import claims_context
from report.format import (
    fmt_date,
    fmt_int,
    fmt_km,
    fmt_pct,
)
from report.model import Chart, Names
from report.official import official_context
from report.reforms import reforms_context
from report.sections import (
    distribution_context,
    flows_context,
    method_context,
    region_stats_context,
    sources_context,
    winners_context,
)

if TYPE_CHECKING:
    from analysis.pipeline import Analysis
    from analysis.summary import ChainSummary

# ---------------------------------------------------------------- intro and summary


def intro_context(analysis: Analysis) -> dict[str, Any]:
    """Describe what the reform did (new regions, moved and renamed centres) and its dates."""
    build = analysis.build
    names, meta = Names.of(analysis), dict(build.spec.meta)
    before = analysis.epochs[0]
    changes = centre_changes(build)
    labels = (
        ("proposed", "Proposed in the President's address"),
        ("enacted", "Decree signed"),
        ("in_force", "In force"),
    )
    return {
        "new_regions": [
            {"name": r.name_en, "centre": r.centre_name_en, "parent": names.name(r.parent, before)}
            for r in new_regions(build).itertuples()
        ],
        "moved": [
            {
                "region": c.region,
                "old": c.old,
                "new": c.new,
                "former": c.former_name,
                "km": fmt_km(c.moved_km),
            }
            for c in changes
            if c.moved_km > 1
        ],
        "renamed": [{"old": c.old, "new": c.new} for c in changes if c.moved_km <= 1],
        "dates": [
            {
                "label": label,
                "date": fmt_date(meta[key]),
                "source": meta.get("source", "") if key == "enacted" else "",
            }
            for key, label in labels
            if meta.get(key)
        ],
    }


def summary_context(analysis: Analysis) -> dict[str, Any]:
    """Key numbers: settlements, people, regions, and the mean distance in the regions touched."""
    before, after = analysis.epochs
    c, p = analysis.counts, analysis.population
    n = {e: len(r) for e, r in analysis.build.regions.items()}
    means = affected_mean_distances(analysis)
    touched = None
    if affected_codes(analysis):
        touched = {
            "mean_before": fmt_km(means["mean_before_km"]),
            "mean_after": fmt_km(means["mean_after_km"]),
            "fell": means["mean_after_km"] < means["mean_before_km"],
        }
    return {
        "settlements": f"{int(p['settlements']):,}",
        "controlled": "covers" in p,
        "abroad": f"{int(p.get('abroad', 0)):,}" if p.get("abroad") else "",
        "population": fmt_int(p["population_total"]),
        "known_share": fmt_pct(p["known_share"]),
        "regions_before": n[before],
        "regions_after": n[after],
        "changed_region": f"{c.get('changed_region', 0):,}",
        "touched": touched,
        "far": f"{c.get(FARTHER_THAN_OTHER, 0):,}",
    }


# ---------------------------------------------------------------- figures and the whole


def figures_context(analysis: Analysis) -> dict[str, Chart | None]:
    """Draw the map, the distance distributions and the flow chart, with captions."""
    before, after = analysis.epochs
    controlled = "covers" in analysis.population
    distances = figures.distance_figure(analysis)
    flows = figures.flow_figure(analysis)
    return {
        "map": Chart(
            figures.map_figure(analysis),
            f"Regions of {after} (filled; the reform's regions highlighted) with the {before} "
            "boundaries dashed, regional centres of both epochs, and settlements coloured by the "
            "change in distance to their own regional centre (blue nearer, red farther; grey "
            "unchanged).",
            f"Map of the regions of {before} and {after}",
        ),
        "distances": None
        if distances is None
        else Chart(
            distances,
            "Population-weighted cumulative distribution of each settlement's distance to its "
            f"own regional centre, {before} vs {after}, for the pre-reform regions whose centres "
            "changed (dotted lines: weighted means).",
            "Cumulative distance distributions before and after, per affected region",
        ),
        "flows": None
        if flows is None
        else Chart(
            flows,
            f"Population flows from the regions of {before} (left) to those of {after} (right): "
            "each band is as wide as the people it carries (thousands, "
            f"{'controlled to the official totals' if controlled else 'known counts plus estimates'}"
            "); the regions the reform touched are coloured, the others grey.",
            f"Alluvial chart of the population flows between the regions of {before} and {after}",
        ),
    }


def report_context(analysis: Analysis, *, chain: ChainSummary | None = None) -> dict[str, Any]:
    """Everything the templates show, section by section.

    ``chain`` is the reform chain of the analysed reform (see
    :func:`analysis.summary.reform_chain`); without it the report has no section per reform.
    """
    meta = dict(analysis.build.spec.meta)
    before, after = analysis.epochs
    return {
        "title": meta.get("title", analysis.build.spec.title) or "Regional reform",
        "before": before,
        "after": after,
        "intro": intro_context(analysis),
        "summary": summary_context(analysis),
        "claims": claims_context(analysis),
        "figures": figures_context(analysis),
        "distribution": distribution_context(analysis),
        "winners": winners_context(analysis),
        "flows": flows_context(analysis),
        "region_stats": region_stats_context(
            analysis, touched=set(changed_regions(analysis)) | set(affected_codes(analysis))
        ),
        "official": official_context(analysis),
        "reforms": reforms_context(chain),
        "sources": sources_context(analysis),
        "method": method_context(analysis),
    }
