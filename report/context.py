"""What the report says, as a template context: formatted numbers, table cells and figures.

:func:`report_context` gathers one entry per section of ``templates/body.j2``. The
numbers come from the :class:`~analysis.pipeline.Analysis` and
:mod:`analysis.summary`; here they are only looked up and formatted, so the
templates hold the wording and this module the cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from analysis.summary import (
    affected_codes,
    affected_mean_distances,
    centre_changes,
    changed_regions,
    gained,
    nearest_centre_elsewhere,
    new_regions,
)
from boundaries.schema import (
    DELTA_KM,
    FARTHER_THAN_OTHER,
    centre_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    pw_mean_col,
    region_col,
)
from report import figures
from report.format import (
    distance_verdict,
    fmt_date,
    fmt_delta,
    fmt_int,
    fmt_km,
    fmt_pct,
    join_words,
    population_text,
    text,
)
from report.model import Chart, Names, Table
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

#: Claims of the address of the President of 16 March 2022 that the report answers, by
#: reform spec id: the quote naming places (and the places of
#: :data:`analysis.pipeline.CLAIM_PLACES` it names) and the quote about distances.
#: Reforms without an entry get the same numbers without quotes.
ADDRESS_CLAIMS: dict[str, dict[str, Any]] = {
    "kz-2022": {
        "places": "It is not easy to solve problems of Uzynagash or Talgar from Taldykorgan",
        "quoted_places": ("Uzynagash", "Talgar"),
        "distance": "People have to travel long distances to get to the centre of the region",
    },
}
ADDRESS = "Address of the President of Kazakhstan"


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
        }
    return {
        "settlements": f"{len(analysis.settlements):,}",
        "population": fmt_int(p["population_total"]),
        "known_share": fmt_pct(p["known_share"]),
        "regions_before": n[before],
        "regions_after": n[after],
        "changed_region": f"{c.get('changed_region', 0):,}",
        "touched": touched,
        "far": f"{c.get(FARTHER_THAN_OTHER, 0):,}",
    }


# ---------------------------------------------------------------- claims


def claim_facts(row: dict[str, Any], *, epochs: tuple[int, int], names: Names) -> dict[str, Any]:
    """One found claim place: its distances, regions, verdict and nearest centre, formatted."""
    before, after = epochs
    rb, ra = row.get(region_col(before)), row.get(region_col(after))
    own, nearest = text(row.get(centre_col(after))), text(row.get(nearest_centre_col(after)))
    return {
        "place": row["place"],
        "name": text(row.get("name")),
        "population": population_text(row),
        "verdict": distance_verdict(row.get(DELTA_KM)),
        "centre_before": text(row.get(centre_col(before))),
        "centre_after": own,
        "dist_before": fmt_km(row.get(dist_col(before))),
        "dist_after": fmt_km(row.get(dist_col(after))),
        "delta": fmt_delta(row.get(DELTA_KM)),
        "moved": rb != ra,
        "region_before": names.name(rb, before),
        "region_after": names.name(ra, after),
        "regions": f"{names.label(rb, before)} → {names.label(ra, after)}",
        "nearest": nearest,
        "nearest_km": fmt_km(row.get(nearest_centre_km_col(after))),
        "nearest_elsewhere": bool(nearest) and nearest != own,
        "gained": gained(row.get(DELTA_KM)),
    }


def claims_table(
    facts: list[dict[str, Any]], epochs: tuple[int, int], *, address: bool = True
) -> Table:
    """Tabulate the claim places: distance to the centre before and after."""
    before, after = epochs
    rows = []
    for f in facts:
        if "verdict" not in f:
            rows.append((f["place"], "not found in the settlement source", *("–",) * 8))
            continue
        nearest = f"{f['nearest']} {f['nearest_km']}" if f["nearest_elsewhere"] else "own centre"
        rows.append(
            (f["place"], f"{f['name']}, {f['population']}", f["regions"], f["centre_before"],
             f["dist_before"], f["centre_after"], f["dist_after"], f["delta"], f["verdict"], nearest)
        )  # fmt: skip
    return Table(
        ("Place", "Settlement in data", f"Region {before} → {after}", f"Centre {before}", "km",
         f"Centre {after}", "km", "Change, km", "Verdict", f"Nearest {after} centre, km"),
        tuple(rows),
        caption=f"Places {'named in or around the address' if address else 'the reform moved'}: "
        "geodesic distance to the regional centre (highlighted: no gain)",
        numeric=(False, False, False, False, True, False, True, True, False, False),
        highlight=tuple("verdict" in f and not f["gained"] for f in facts),
    )  # fmt: skip


def distance_claim(analysis: Analysis, names: Names) -> dict[str, Any] | None:
    """Answer the distance claim: mean distance in the regions touched, before and after (None if none)."""
    before, after = analysis.epochs
    if analysis.affected.empty:
        return None
    means = affected_mean_distances(analysis)
    far = nearest_centre_elsewhere(analysis)
    return {
        "supported": means["mean_after_km"] < means["mean_before_km"],
        "regions": [names.name(c, before) for c in affected_codes(analysis)],
        "population": fmt_int(means["population"]),
        "mean_before": fmt_km(means["mean_before_km"]),
        "mean_after": fmt_km(means["mean_after_km"]),
        "rows": [
            {
                "name": names.name(r[region_col(before)], before),
                "mean_before": fmt_km(r[pw_mean_col(before)]),
                "mean_after": fmt_km(r[pw_mean_col(after)]),
                "nearer": fmt_pct(r["share_pop_nearer"]),
                "farther": fmt_pct(r["share_pop_farther"]),
                "unchanged": fmt_pct(r["share_pop_unchanged"]),
            }
            for r in analysis.affected.to_dict("records")
        ],
        "far": {
            "count": f"{far['count']:,}",
            "assigned": f"{far['assigned']:,}",
            "share": fmt_pct(far["count"] / far["assigned"] if far["assigned"] else None),
            "in_affected": f"{far['in_affected']:,}",
        },
    }


def claims_context(analysis: Analysis) -> dict[str, Any]:
    """Answer the address's two claims with the claim places and the regions touched."""
    names, meta = Names.of(analysis), dict(analysis.build.spec.meta)
    facts = [
        claim_facts(r, epochs=analysis.epochs, names=names)
        if r.get("found")
        else {"place": r["place"]}
        for r in analysis.claims.to_dict("records")
    ]
    found = {f["place"]: f for f in facts if "verdict" in f}
    quotes = ADDRESS_CLAIMS.get(analysis.build.spec.id)
    places = quotes["quoted_places"] if quotes else ()
    quoted = [found[p] for p in places if p in found]
    distance = distance_claim(analysis, names)
    return {
        "quotes": quotes,
        "source": f"{ADDRESS}, {fmt_date(meta['proposed'])}" if meta.get("proposed") else ADDRESS,
        "quoted": quoted,
        "missing_places": join_words([p for p in places if p not in found]),
        "supported": bool(places)
        and len(quoted) == len(places)
        and all(f["gained"] for f in quoted),
        "distance": distance,
        "far": distance["far"] if distance else None,
        "exceptions": [f for f in found.values() if not f["gained"]],
        "table": claims_table(facts, analysis.epochs, address=quotes is not None),
    }


# ---------------------------------------------------------------- figures and the whole


def figures_context(analysis: Analysis) -> dict[str, Chart | None]:
    """Draw the map, the distance distributions and the flow chart, with captions."""
    before, after = analysis.epochs
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
            "each band is as wide as the people it carries (thousands, known counts plus "
            "estimates); the regions the reform touched are coloured, the others grey.",
            f"Alluvial chart of the population flows between the regions of {before} and {after}",
        ),
    }


def report_context(
    analysis: Analysis, *, timeline: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the templates show, section by section.

    ``timeline`` holds the reform chain's tables (see :mod:`report.reforms`); without
    it the report has no section per reform.
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
        "reforms": reforms_context(timeline),
        "sources": sources_context(analysis),
        "method": method_context(analysis),
    }
