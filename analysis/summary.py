"""Figures an analysis is quoted by: what the reform changed and who it touched.

The report (and any other presentation) takes its numbers from here, so that its
templates only format: which regions the reform touched, centres that moved,
distance quantiles of the people it touched, the best and worst cases, and the
conservation check of the flow table.

Pure functions of an :class:`~analysis.pipeline.Analysis` (or its build); nothing
here changes its input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from analysis.stats import (  # the one weighting rule
    weighted_mean,
    weighted_quantile,
    weighted_share,
)
from boundaries.schema import (
    CHANGE_KM,
    DELTA_KM,
    FARTHER_THAN_OTHER,
    POPULATION_EST,
    dist_col,
    region_col,
)
from geo.distance import geodesic_km

if TYPE_CHECKING:
    from analysis.pipeline import Analysis
    from boundaries.build import BuildResult

#: Distance band reported as "within reach" of the regional centre (km).
WITHIN_KM = 100.0


# ---------------------------------------------------------------- the reform's footprint


def affected_codes(analysis: Analysis) -> list[str]:
    """Pre-reform regions where some settlement's centre changed."""
    col = region_col(analysis.epochs[0])
    return [] if analysis.affected.empty else [str(c) for c in analysis.affected[col]]


def affected_settlements(analysis: Analysis) -> pd.DataFrame:
    """Settlements of the pre-reform regions the reform touched (plain table, no geometry)."""
    before = analysis.epochs[0]
    s = analysis.settlements
    return pd.DataFrame(s[s[region_col(before)].isin(affected_codes(analysis))])


def changed_regions(analysis: Analysis) -> dict[str, str]:
    """Post-reform region code → ``"new"`` or ``"reduced"`` for regions touched by the reform."""
    before, after = analysis.epochs
    old = set(analysis.build.regions[before]["code"])
    cw = analysis.build.crosswalk
    touched = cw.loc[cw[region_col(before)].isin(affected_codes(analysis)), region_col(after)]
    return {str(c): ("reduced" if c in old else "new") for c in sorted(set(touched))}


@dataclass(frozen=True)
class CentreChange:
    """A region present in both epochs whose centre changed place or name."""

    code: str
    region: str
    old: str
    new: str
    former_name: str | None
    moved_km: float


def centre_changes(build: BuildResult) -> list[CentreChange]:
    """Regions of both epochs whose centre moved (or was renamed, ``moved_km`` ≈ 0)."""
    before, after = build.spec.epochs
    old = build.regions[before].set_index("code")
    out = []
    for r in build.regions[after].itertuples(index=False):
        if r.code not in old.index or old.loc[r.code, "centre_name_en"] == r.centre_name_en:
            continue
        o = old.loc[r.code]
        km = geodesic_km([o["centre_lon"]], [o["centre_lat"]], [r.centre_lon], [r.centre_lat])
        former = build.spec.centre_of(r.code, epoch=after).former_name_en
        out.append(
            CentreChange(
                r.code, r.name_en, o["centre_name_en"], r.centre_name_en, former, float(km[0])
            )
        )
    return out


def new_regions(build: BuildResult) -> pd.DataFrame:
    """Post-reform regions absent before, with centre and parent region."""
    before, after = build.spec.epochs
    regions = build.regions[after]
    fresh = regions[~regions["code"].isin(build.regions[before]["code"])]
    out = pd.DataFrame(fresh[["code", "name_en", "centre_name_en"]])
    return out.assign(parent=[build.spec.parent_of(c) for c in out["code"]])


# ---------------------------------------------------------------- distances of the people touched


def affected_mean_distances(analysis: Analysis) -> dict[str, float]:
    """Population-weighted mean distance to the own centre, before and after, in the regions touched.

    Returns
    -------
    dict
        ``population``, ``mean_before_km``, ``mean_after_km`` (NaN when nothing was touched).
    """
    before, after = analysis.epochs
    g = affected_settlements(analysis)
    w = g[POPULATION_EST]
    return {
        "population": float(w.sum()),
        "mean_before_km": weighted_mean(g[dist_col(before)], w),
        "mean_after_km": weighted_mean(g[dist_col(after)], w),
    }


def distance_quantiles(analysis: Analysis, *, within_km: float = WITHIN_KM) -> pd.DataFrame:
    """Per pre-reform region touched: weighted median, 90th percentile and share within reach.

    Returns
    -------
    DataFrame
        ``region``, ``settlements`` and, for each epoch ``e``, ``median_<e>_km``,
        ``p90_<e>_km`` and ``share_within_<e>`` (share of people within ``within_km``).
    """
    s = analysis.settlements
    before = analysis.epochs[0]
    rows = []
    for code in affected_codes(analysis):
        g = s[s[region_col(before)] == code]
        w = g[POPULATION_EST]
        row: dict[str, object] = {"region": code, "settlements": len(g)}
        for epoch in analysis.epochs:
            d = g[dist_col(epoch)]
            ok = d.notna() & w.notna()
            row[f"median_{epoch}_km"] = weighted_quantile(d, w, 0.5)
            row[f"p90_{epoch}_km"] = weighted_quantile(d, w, 0.9)
            row[f"share_within_{epoch}"] = weighted_share(d[ok] <= within_km, w[ok])
        rows.append(row)
    return pd.DataFrame(rows)


def nearest_centre_elsewhere(analysis: Analysis) -> dict[str, int]:
    """Settlements farther from their own post-reform centre than from another region's.

    Returns
    -------
    dict
        ``count`` (all regions), ``assigned`` (settlements with a post-reform region)
        and ``in_affected`` (those in the pre-reform regions the reform touched).
    """
    after = analysis.epochs[1]
    s = analysis.settlements
    far = s[FARTHER_THAN_OTHER].astype(bool)
    return {
        "count": int(analysis.counts.get(FARTHER_THAN_OTHER, int(far.sum()))),
        "assigned": int(s[region_col(after)].notna().sum()),
        "in_affected": int(affected_settlements(analysis)[FARTHER_THAN_OTHER].sum()),
    }


def top_lists(analysis: Analysis) -> pd.DataFrame:
    """Winners and losers with gainers strictly nearer and losers strictly farther."""
    wl = analysis.winners_losers
    if wl.empty:
        return wl
    keep = ((wl["kind"] == "gainer") & (wl[DELTA_KM] < -CHANGE_KM)) | (
        (wl["kind"] == "loser") & (wl[DELTA_KM] > CHANGE_KM)
    )
    return pd.DataFrame(wl[keep]).reset_index(drop=True)


def gained(delta_km: object) -> bool:
    """Whether a change in distance is a real gain (nearer by more than :data:`CHANGE_KM`)."""
    return delta_km is not None and not pd.isna(delta_km) and float(delta_km) < -CHANGE_KM


# ---------------------------------------------------------------- conservation


def counted_settlements(analysis: Analysis) -> pd.DataFrame:
    """Settlements that count in totals and flows: all but places abroad (listed, not counted)."""
    s = analysis.settlements
    return s[~s["abroad"].astype(bool)] if "abroad" in s else s


def conservation(analysis: Analysis) -> dict[str, float | int | bool]:
    """Totals of the flow table against totals over settlements and regions, with pass flags.

    Population and area agree when within 0.5 people and 0.01 % of the area. Places
    abroad (``abroad``, when official totals were applied) are in no flow and no total.
    """
    before, after = analysis.epochs
    f, s = analysis.shifts, counted_settlements(analysis)
    area = {e: float(r["area_km2"].sum()) for e, r in analysis.build.regions.items()}
    flows_area = float(f["area_km2"].sum())
    out: dict[str, float | int | bool] = {
        "settlements": len(s),
        "flow_settlements": int(f["settlements"].sum()),
        "unassigned": int(f.loc[f[region_col(before)] == "unassigned", "settlements"].sum()),
        "population": float(s[POPULATION_EST].sum()),
        "flow_population": float(f["population"].sum()),
        "area_flows": flows_area,
        "area_before": area[before],
        "area_after": area[after],
    }
    out["settlements_ok"] = out["flow_settlements"] == out["settlements"]
    out["population_ok"] = abs(out["flow_population"] - out["population"]) < 0.5
    out["area_ok"] = all(abs(flows_area - a) <= 1e-4 * a for a in (area[before], area[after]))
    out["passed"] = bool(out["settlements_ok"] and out["population_ok"] and out["area_ok"])
    return out


# ---------------------------------------------------------------- the chain of reforms


@dataclass(frozen=True)
class ChainSummary:
    """The reform chain an analysis belongs to, as the report quotes it.

    ``tables`` are :func:`analysis.timeline.chain_tables`; ``titles`` and ``epochs``
    (before, after) of the reforms by spec id; ``claims`` the claim places of every other reform of the
    chain (:data:`analysis.pipeline.REFORM_CLAIM_PLACES`) by spec id; ``names``
    epoch → region code → English name, for every epoch built; ``periods`` epoch →
    its :class:`boundaries.spec.Period` and ``renames`` the chain's renamings (the
    specs' ``[periods]`` and ``[[renames]]``), to label epochs and name places as
    their period knew them.
    """

    tables: dict[str, pd.DataFrame]
    titles: dict[str, str]
    epochs: dict[str, tuple[int, int]]
    claims: dict[str, pd.DataFrame]
    names: dict[int, dict[str, str]]
    periods: dict[int, object] = field(default_factory=dict)
    renames: tuple = ()


def reform_claims(
    timeline: pd.DataFrame, *, reform_id: str, before: int, after: int
) -> pd.DataFrame:
    """Claim places of one reform of the chain, with their change in distance (``delta_km``)."""
    from analysis.pipeline import REFORM_CLAIM_PLACES, claims_table

    view = pd.DataFrame(timeline).assign(
        **{DELTA_KM: timeline[dist_col(after)] - timeline[dist_col(before)]}
    )
    places = REFORM_CLAIM_PLACES.get(reform_id, ())
    return claims_table(view, before=before, after=after, places=places)


def reform_chain(analysis: Analysis) -> ChainSummary | None:
    """Every reform of the bundled chain that ends with the analysed reform, with its tables.

    Builds the chain's earlier epochs from the analysis' own build (the latest
    reform) and settlements. None when the analysed spec is not the latest reform
    of the bundled chain (another ``--reform``, or a spec file of one's own).
    """
    from analysis.timeline import chain_tables, timeline_settlements
    from boundaries.build import build_chain
    from boundaries.chain import load_chain

    chain = load_chain()
    if chain.specs[-1].id != analysis.build.spec.id:
        return None
    built = build_chain(analysis.build.sources, chain, base=analysis.build)
    # the analysis' own settlements, so every reform is weighted by the same population figures
    timeline = timeline_settlements(analysis.settlements, built)
    claims = {
        s.id: reform_claims(timeline, reform_id=s.id, before=s.before, after=s.after)
        for s in chain.specs[:-1]
        if s.before in built.regions and s.after in built.regions
    }
    return ChainSummary(
        tables=chain_tables(timeline, built),
        titles={s.id: str(dict(s.meta).get("title") or s.title) for s in chain.specs},
        epochs={s.id: s.epochs for s in chain.specs},
        claims=claims,
        names={
            e: dict(zip(r["code"], r["name_en"], strict=True)) for e, r in built.regions.items()
        },
        periods={e: p for e in chain.epochs if (p := chain.period(e)) is not None},
        renames=chain.renames,
    )
