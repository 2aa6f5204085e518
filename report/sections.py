"""Template context of the report's tables: distances, winners, flows, regions, sources, method.

Each function looks numbers up in the :class:`~analysis.pipeline.Analysis` (and
:mod:`analysis.summary`) and formats them into :class:`~report.model.Table` cells;
the wording around them lives in ``templates/sections/``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import analysis.population as population_module
from analysis.summary import conservation, distance_quantiles, top_lists
from boundaries.schema import (
    CHANGE_KM,
    DELTA_KM,
    MAX_NEAREST_KM,
    centre_col,
    dist_col,
    pw_mean_col,
    region_col,
)
from report.format import (
    fmt_delta,
    fmt_int,
    fmt_km,
    fmt_pct,
    fmt_pct_points,
    fmt_signed,
    public_text,
    settlement_label,
    text,
)
from report.model import Names, Table
from report.official import shift_context

if TYPE_CHECKING:
    from analysis.pipeline import Analysis


def distribution_context(analysis: Analysis) -> dict[str, Table] | None:
    """Weighted distance quantiles per pre-reform region touched (None when none was)."""
    before, after = analysis.epochs
    q = distance_quantiles(analysis)
    if q.empty:
        return None
    names = Names.of(analysis)
    rows = tuple(
        (
            names.label(r["region"], before),
            f"{int(r['settlements']):,}",
            *(fmt_km(r[f"{stat}_{e}_km"]) for stat in ("median", "p90") for e in (before, after)),
            *(fmt_pct(r[f"share_within_{e}"]) for e in (before, after)),
        )
        for r in q.to_dict("records")
    )
    columns = ("Region (pre-reform borders)", "Settlements", f"Median {before}, km",
               f"Median {after}, km", f"90th pct {before}, km", f"90th pct {after}, km",
               f"Within 100 km {before}", f"Within 100 km {after}")  # fmt: skip
    caption = "Population-weighted distance quantiles and share of people within 100 km"
    return {"table": Table(columns, rows, caption=caption, numeric=(False, *(True,) * 7))}


def _affected_table(analysis: Analysis, names: Names) -> Table:
    before, after = analysis.epochs
    rows = tuple(
        (
            names.label(r[region_col(before)], before),
            f"{int(r['settlements']):,}",
            fmt_int(r["population"]),
            fmt_pct(r["share_pop_nearer"]),
            fmt_pct(r["share_pop_farther"]),
            fmt_pct(r["share_pop_unchanged"]),
            fmt_km(r[pw_mean_col(before)]),
            fmt_km(r[pw_mean_col(after)]),
            fmt_delta(r["median_delta_km"]),
        )
        for r in analysis.affected.to_dict("records")
    )
    columns = (f"Region ({before} borders)", "Settlements", "Population", "Nearer", "Farther",
               "Unchanged", f"Mean {before}, km", f"Mean {after}, km", "Median change, km")  # fmt: skip
    caption = (
        f"Share of population nearer / farther (by more than {CHANGE_KM} km) and "
        "population-weighted mean distance to the own regional centre"
    )
    return Table(columns, rows, caption=caption, numeric=(False, *(True,) * 8))


def _top_table(part: Any, title: str, epochs: tuple[int, int], names: Names) -> Table:
    before, after = epochs
    rows = tuple(
        (
            names.label(r[region_col(before)], before),
            settlement_label(r),
            fmt_int(r["population"]),
            f"{text(r[centre_col(before)])} → {text(r[centre_col(after)])}",
            fmt_km(r[dist_col(before)]),
            fmt_km(r[dist_col(after)]),
            fmt_delta(r[DELTA_KM]),
        )
        for r in part.to_dict("records")
    )
    columns = (f"Region ({before})", "Settlement", "Population", "Centre", f"{before}, km",
               f"{after}, km", "Change, km")  # fmt: skip
    caption = f"{title}: settlements with a known population of 1,000 or more, top 10 per region"
    return Table(columns, rows, caption=caption,
                 numeric=(False, False, True, False, True, True, True))  # fmt: skip


def winners_context(analysis: Analysis) -> dict[str, Any] | None:
    """Who got nearer and who farther per region touched, with the named top lists."""
    if analysis.affected.empty:
        return None
    names = Names.of(analysis)
    top = top_lists(analysis)
    lists = []
    for kind, title in (
        ("gainer", "Largest gains (distance cut most)"),
        ("loser", "Largest losses"),
    ):
        part = top[top["kind"] == kind] if len(top) else top
        table = None if part.empty else _top_table(part, title, analysis.epochs, names)
        lists.append({"title": title, "table": table})
    return {"table": _affected_table(analysis, names), "lists": lists}


def _conservation_cells(analysis: Analysis) -> dict[str, Any]:
    c = conservation(analysis)
    cells: dict[str, Any] = {k: v for k, v in c.items() if isinstance(v, bool)}
    for key in ("settlements", "flow_settlements", "unassigned"):
        cells[key] = f"{int(c[key]):,}"
    for key in ("population", "flow_population", "area_flows", "area_before", "area_after"):
        cells[key] = fmt_int(c[key])
    return cells


def flows_context(analysis: Analysis) -> dict[str, Any]:
    """Tabulate the flows with their total row and the conservation check."""
    before, after = analysis.epochs
    names, f = Names.of(analysis), analysis.shifts
    rows = tuple(
        (
            names.label(r[region_col(before)], before),
            names.label(r[region_col(after)], after),
            f"{int(r['settlements']):,}",
            fmt_int(r["population"]),
            f"{fmt_int(r['population_low'])}–{fmt_int(r['population_high'])}",
            fmt_int(r["area_km2"]),
            "yes" if r["changed"] else "",
        )
        for r in f.to_dict("records")
    )
    total = ("Total", "", f"{int(f['settlements'].sum()):,}", fmt_int(f["population"].sum()),
             f"{fmt_int(f['population_low'].sum())}–{fmt_int(f['population_high'].sum())}",
             fmt_int(f["area_km2"].sum()), "")  # fmt: skip
    table = Table(
        (f"From ({before})", f"To ({after})", "Settlements", "Population", "Population band",
         "Area, km²", "Changed"),
        rows,
        caption="Settlements, population and area moving between regions",
        numeric=(False, False, True, True, True, True, False),
        highlight=tuple(bool(c) for c in f["changed"]),
        total=total,
    )  # fmt: skip
    return {
        "table": table,
        "check": _conservation_cells(analysis),
        "official": shift_context(analysis),
        "controlled": "covers" in analysis.population,
    }


def _region_rows(part: Any, *, known: bool) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            f"{r['region']} {r['name_en']}",
            text(r["centre"]),
            f"{int(r['settlements']):,}",
            fmt_int(r["population"]),
            *((fmt_int(r["population_known"]),) if known else ()),
            fmt_int(r["area_km2"]),
            *(
                fmt_km(r[c])
                for c in ("mean_km", "median_km", "p90_km", "max_km", "pop_weighted_mean_km")
            ),
        )
        for r in part.to_dict("records")
    )


def _official_table(analysis: Analysis) -> Table | None:
    """Estimated against official population of the post-reform regions (``--official FILE``)."""
    if analysis.official is None:
        return None
    after = analysis.epochs[1]
    names = Names.of(analysis)
    rows = tuple(
        (
            names.label(r["region"], after),
            fmt_int(r["population"]),
            fmt_int(r["official_population"]),
            fmt_signed(r["error"]),
            fmt_pct_points(r["error_pct"]),
        )
        for r in analysis.official.to_dict("records")
    )
    return Table(("Region", "Estimate", "Official", "Difference", "Difference, %"), rows,
                 caption=f"Estimated ({after} regions) vs official population",
                 numeric=(False, True, True, True, True))  # fmt: skip


def region_stats_context(analysis: Analysis, *, touched: set[str]) -> dict[str, Any]:
    """Region statistics per epoch (``touched`` regions highlighted), and official figures if given."""
    stats = analysis.region_stats
    # under official control every figure is official or allocated (see the official section)
    known = "covers" not in analysis.population
    columns = ("Region", "Centre", "Settlements", "Population",
               *(("Known pop.",) if known else ()), "Area, km²", "Mean km", "Median km",
               "90th pct km", "Max km", "Pop-weighted mean km")  # fmt: skip
    tables = []
    for epoch in analysis.epochs:
        part = stats[stats["epoch"] == epoch]
        tables.append(
            Table(
                columns,
                _region_rows(part, known=known),
                caption=f"Regions of {epoch}: distances of settlements to their own centre "
                "(highlighted: touched by the reform)",
                numeric=(False, False, *(True,) * (len(columns) - 2)),
                highlight=tuple(r in touched for r in part["region"]),
            )
        )
    return {"tables": tables, "official": _official_table(analysis)}


def sources_context(analysis: Analysis) -> dict[str, Any]:
    """Which data were used (named without server paths), with licences and attribution."""
    build, src = analysis.build, analysis.settlement_source
    meta = dict(build.spec.meta)
    return {
        "boundaries": public_text(build.sources.description),
        "settlements": public_text(src.description),
        "reform": meta.get("source", ""),
        "spec_id": meta.get("id", build.spec.id),
        "attribution": list(dict.fromkeys([*build.sources.attribution, *src.attribution])),
    }


def docstring_rules(doc: str) -> list[str]:
    """Return the items of the bullet (``* ``) or numbered (``1. ``) lists of a docstring, as text."""
    doc = re.sub(r"\*(\w[^*]*)\*", r"\1", doc.replace("``", ""))
    doc = re.sub(r":(?:func|mod|class|data|attr):`~?([^`]+)`", r"\1", doc)
    item = re.compile(r"^(?:\* |\d+\. )")
    rules: list[str] = []
    for chunk in re.split(r"\n\s*\n", doc):
        lines = [ln.strip() for ln in chunk.strip().splitlines()]
        if lines and item.match(lines[0]):
            parts = re.split(r"\n(?=\* |\d+\. )", "\n".join(lines))
            rules += [" ".join(item.sub("", p).split()) for p in parts]
    return rules


def population_method() -> tuple[str, list[str]]:
    """Return the imputation method's name and rules from :mod:`analysis.population`'s docstring."""
    doc = population_module.__doc__ or ""
    named = re.search(r"^Method \((.+?)\)", doc, flags=re.M)
    return (named.group(1) if named else "documented estimate"), docstring_rules(doc)


def control_method() -> list[str]:
    """Return the rules of the official control totals from :mod:`analysis.control`'s docstring."""
    import analysis.control as control_module

    return docstring_rules(control_module.__doc__ or "")


def _validation_cells(analysis: Analysis) -> dict[str, str] | None:
    v = analysis.build.validation
    if not len(v):
        return None
    worst = v.loc[v["iou"].idxmin()]
    return {
        "regions": str(len(v)),
        "min": f"{worst['iou']:.4f}",
        "worst": f"{worst['region']} {int(worst['epoch'])}",
        "median": f"{v['iou'].median():.5f}",
    }


def method_context(analysis: Analysis) -> dict[str, Any]:
    """How regions, validation, assignment and population were made, with their counts."""
    build, c, p = analysis.build, analysis.counts, analysis.population
    method, rules = population_method()
    return {
        "embedded": build.sources.kind == "embedded",
        "moved_units": sum(len(m.units) for m in build.spec.moves),
        "splits": len(build.spec.splits),
        "validation": _validation_cells(analysis),
        "nearest_km": f"{MAX_NEAREST_KM:g}",
        **{k: f"{c.get(k, 0):,}" for k in ("inside", "nearest", "unassigned")},
        "population": {
            "method": method,
            "rules": rules,
            "control": control_method() if "covers" in p else [],
            "abroad": f"{int(p.get('abroad', 0)):,}" if p.get("abroad") else "",
            "total": fmt_int(p["population_total"]),
            "settlements": f"{int(p['settlements']):,}",
            "known": f"{int(p['with_known_population']):,}",
            "known_share": fmt_pct(p["known_share"]),
            "imputed": fmt_int(p["imputed_est"]),
            "low": fmt_int(p["imputed_low"]),
            "high": fmt_int(p["imputed_high"]),
        },
        "notes": [public_text(n) for n in build.notes],
    }
