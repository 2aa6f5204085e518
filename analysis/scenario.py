"""Scenario lab: evaluate a what-if reform against the 2018 map and the enacted reform.

A scenario is a reform spec in the format of ``boundaries/reforms/kz-2022.toml``
(moves of 2018 districts, splits, merges, regions and their centres; a centre can be
any settlement, given by name and lon/lat). :func:`evaluate_scenario` builds its
regions with :func:`boundaries.build.build`, runs the analysis pipeline on them and
compares shape and distance metrics with the 2018 regions and the enacted 2024
regions built from the same districts and settlements. Every population-weighted
figure uses ``population_est`` (known counts plus the documented estimate for
untagged places, see :mod:`analysis.population`), as the rest of the analysis.
Ranking the centres of a region is :mod:`analysis.ranking`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points

from analysis.metrics import overall_metrics, region_metrics
from analysis.pipeline import Analysis, SettlementSource, analyze
from analysis.shape import enclaves
from boundaries.build import BuildResult, build
from boundaries.sources import BoundarySources
from boundaries.spec import (
    ReformSpec,
    ReformSpecError,
    dump_spec,
    load_spec,
    parse_spec,
    read_spec_toml,
)
from boundaries.spec_units import check_against_units, merge_target
from geo.crs import EQUAL_AREA
from geo.distance import geodesic_km
from geo.validation import iou

__all__ = [
    "ScenarioResult",
    "evaluate_scenario",
    "load_scenario",
    "scenario_problems",
    "scenario_summary",
]

#: Areas (km²) and IoU below these differences count as "the same region".
_SAME_AREA_KM2 = 1e-6
_SAME_IOU = 1 - 1e-9


# ---------------------------------------------------------------- loading and checks
def _raw_units(raw: Mapping[str, Any]) -> list[str]:
    """District codes named by the moves and splits of an unparsed spec."""
    units: list[str] = []
    for entry in raw.get("moves") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("units"), list):
            units += [u for u in entry["units"] if isinstance(u, str)]
    for entry in raw.get("splits") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("unit"), str):
            units.append(entry["unit"])
    return units


def _raw_unit_problems(raw: Mapping[str, Any], unit_regions: Mapping[str, str] | None) -> list[str]:
    """Duplicate and unknown districts, for a spec that did not parse.

    :func:`boundaries.spec.parse_spec` stops at structural problems before checking
    units; these are the same checks (same wording) on the raw mapping, so one run
    lists every problem.
    """
    problems = []
    units = _raw_units(raw)
    counts: dict[str, int] = {}
    for u in units:
        counts[u] = counts.get(u, 0) + 1
    for u, n in sorted(counts.items()):
        if n > 1:
            problems.append(
                f"unit {u} is assigned {n} times by moves/splits; keep it in exactly one"
            )
    if unit_regions is not None:
        reform = raw.get("reform") if isinstance(raw.get("reform"), Mapping) else {}
        before = reform.get("before", "before-epoch")
        for u in units:
            if u not in unit_regions:
                problems.append(
                    f"unit {u} is not a {before} district code in districts; "
                    "fix the code (ADM2_PCODE)"
                )
    return problems


def _embedded_problems(
    spec: ReformSpec, enacted: ReformSpec, sources: BoundarySources
) -> list[str]:
    """List what a scenario asks of the embedded default that it cannot do.

    The embedded units are the enacted post-reform regions, so the enacted moves
    and splits are already in them; a scenario may change centres, names and
    merges, but any other district move needs district boundaries.
    """
    problems = []
    ours, theirs = spec.moved_units(), enacted.moved_units()
    moved = sorted(u for u in set(ours) | set(theirs) if ours.get(u) != theirs.get(u))

    def split_key(s):
        return (s.unit, s.cut_layer, tuple(s.cut_codes), s.inside, s.outside)

    splits = sorted({split_key(s) for s in spec.splits} ^ {split_key(s) for s in enacted.splits})
    changed = [*moved, *sorted({k[0] for k in splits})]
    if changed:
        problems.append(
            f"the scenario moves or splits district(s) {', '.join(dict.fromkeys(changed))} "
            f"differently from the enacted reform {enacted.id}; that needs district boundaries "
            "and the embedded default has none (its units are the 20 post-reform regions): "
            "pass --data-dir DIR with the geokz districts (or set REFORM_ATLAS_DATA_DIR; "
            "'reform-atlas data fetch --dest DIR' downloads them)"
        )
        return problems
    after = spec.regions_of(spec.after)
    units = sorted(set(sources.units["unit"]))
    targets = {u: merge_target(spec, u) for u in units}
    for u, code in targets.items():
        if code not in after:
            problems.append(
                f"embedded region {u} ends up in {code}, which is not a {spec.after} region of the "
                "scenario; add it to [[regions]] or merge it into one"
            )
    merged_away = {c for g in spec.merges for c in g.regions if c != g.into}
    for code in after:
        if code not in set(targets.values()) and code not in merged_away:
            problems.append(
                f"{spec.after} region {code} receives no district; the embedded default can only "
                "keep, rename, re-centre or merge the 20 post-reform regions (pass --data-dir DIR "
                "to move districts into a new region)"
            )
    return problems


def _epoch_problems(before: Any, after: Any, enacted: ReformSpec) -> list[str]:
    problems = []
    if before != enacted.before:
        problems.append(
            f"[reform] before = {before}, but scenarios apply to the {enacted.before} "
            f"districts of the enacted reform; set before = {enacted.before}"
        )
    if after == before:
        problems.append(
            f"[reform] after = before = {before}; give the scenario's epoch, e.g. after = 2024"
        )
    return problems


def compatibility_problems(
    spec: ReformSpec, enacted: ReformSpec, sources: BoundarySources | None = None
) -> list[str]:
    """List the problems of evaluating ``spec`` against ``enacted`` on ``sources``."""
    problems = _epoch_problems(spec.before, spec.after, enacted)
    if sources is not None and sources.kind == "embedded":
        problems += _embedded_problems(spec, enacted, sources)
    return problems


def scenario_problems(
    raw: Mapping[str, Any],
    *,
    source: str = "<scenario>",
    sources: BoundarySources | None = None,
    enacted_spec: ReformSpec | None = None,
) -> tuple[ReformSpec | None, list[str]]:
    """Parse a scenario and list every problem, from every stage of validation.

    Parameters
    ----------
    raw : mapping
        The parsed TOML.
    source : str
        Name used in messages (the file path).
    sources : BoundarySources, optional
        Boundaries the scenario will be built on: with district data the district
        codes and split cut codes are checked; with the embedded default, that the
        scenario moves no district differently from the enacted reform.
    enacted_spec : ReformSpec, optional
        The enacted reform (default: the bundled ``kz-2022``).

    Returns
    -------
    spec : ReformSpec or None
        The parsed spec (None if it does not parse).
    problems : list of str
        Every problem found; empty when the scenario can be evaluated.
    """
    districts = sources is not None and sources.kind != "embedded"
    unit_regions = (
        dict(zip(sources.units["unit"], sources.units["region"], strict=True))
        if districts
        else None
    )
    problems: list[str] = []
    spec = None
    try:
        spec = parse_spec(raw, source=source)
    except ReformSpecError as err:
        problems += err.problems
        problems += _raw_unit_problems(raw, unit_regions)
        reform = raw.get("reform")
        if isinstance(reform, Mapping) and "before" in reform and "after" in reform:
            problems += _epoch_problems(
                reform["before"], reform["after"], enacted_spec or load_spec()
            )
    if spec is not None:
        if unit_regions is not None:
            layer_codes = {k: v["code"].tolist() for k, v in sources.cut_layers.items()}
            try:
                check_against_units(
                    spec, unit_regions, layer_codes=layer_codes if spec.splits else None
                )
            except ReformSpecError as err:
                problems += err.problems
        problems += compatibility_problems(spec, enacted_spec or load_spec(), sources)
    return spec, list(dict.fromkeys(problems))


def load_scenario(
    path: str | os.PathLike,
    *,
    sources: BoundarySources | None = None,
    enacted_spec: ReformSpec | None = None,
) -> ReformSpec:
    """Load a scenario spec (TOML), checking it completely before anything is built.

    Unlike :func:`boundaries.spec.load_spec`, which stops at the first stage that
    fails, every problem is listed at once: structure, duplicate and unknown
    districts, unknown cut codes, empty regions, epochs, and what the embedded
    default cannot do (see :func:`scenario_problems`).

    Raises
    ------
    ReformSpecError
        The file is missing or not TOML, or the scenario has problems (all listed).
    """
    raw, source = read_spec_toml(path)
    spec, problems = scenario_problems(
        raw, source=source, sources=sources, enacted_spec=enacted_spec
    )
    if problems or spec is None:
        raise ReformSpecError(source, problems)
    return spec


# ------------------------------------------------------------------------- metrics
def variant_metrics(analysis: Analysis, epoch: int) -> pd.DataFrame:
    """Compute :func:`~analysis.metrics.region_metrics` of one epoch of an analysis."""
    return region_metrics(analysis.build.regions[epoch], analysis.settlements, epoch=epoch)


def compare_overall(
    overall: Mapping[str, pd.Series], *, scenario: str, enacted: str
) -> pd.DataFrame:
    """Metric rows × variant columns, plus ``scenario_minus_enacted``."""
    table = pd.DataFrame({label: s for label, s in overall.items()})
    table["scenario_minus_enacted"] = table[scenario] - table[enacted]
    table.index.name = "metric"
    return table.reset_index()


_REGION_FIELDS = (
    "population",
    "settlements",
    "pop_weighted_mean_km",
    "share_pop_beyond_100km",
    "share_pop_beyond_200km",
    "share_pop_beyond_300km",
    "area_km2",
    "polsby_popper",
    "reock",
    "convex_hull_ratio",
    "n_parts",
)


def compare_regions(
    enacted_regions: gpd.GeoDataFrame,
    enacted_metrics: pd.DataFrame,
    scenario_regions: gpd.GeoDataFrame,
    scenario_metrics: pd.DataFrame,
) -> pd.DataFrame:
    """One row per region that differs between the enacted and the scenario map.

    A region differs when it exists in one map only, its centre moved, its outline
    changed (IoU below 1) or its settlements changed. Columns: ``code``,
    ``name_en``, ``status`` (``changed``/``new``/``removed``), ``centre_enacted``,
    ``centre_scenario``, ``iou`` (outlines, equal-area), then ``<m>_enacted``,
    ``<m>_scenario`` and ``<m>_delta`` for population, settlements, distances,
    area and shape measures.
    """
    e_geo = enacted_regions.set_index("code")
    s_geo = scenario_regions.set_index("code")
    codes = list(dict.fromkeys([*e_geo.index, *s_geo.index]))
    e_ea = e_geo.geometry.to_crs(EQUAL_AREA).make_valid()
    s_ea = s_geo.geometry.to_crs(EQUAL_AREA).make_valid()
    rows = []
    for code in sorted(codes):
        in_e, in_s = code in e_geo.index, code in s_geo.index
        row: dict[str, Any] = {
            "code": code,
            "name_en": (s_geo if in_s else e_geo).loc[code, "name_en"],
            "status": "changed" if in_e and in_s else ("new" if in_s else "removed"),
            "centre_enacted": e_geo.loc[code, "centre_name_en"] if in_e else None,
            "centre_scenario": s_geo.loc[code, "centre_name_en"] if in_s else None,
        }
        same = False
        if in_e and in_s:
            a, b = e_geo.loc[code], s_geo.loc[code]
            centre_same = (a["centre_lon"], a["centre_lat"]) == (b["centre_lon"], b["centre_lat"])
            geom_same = bool(shapely.equals_exact(a.geometry, b.geometry, tolerance=0))
            row["iou"] = 1.0 if geom_same else iou(e_ea.loc[code], s_ea.loc[code])
            me, ms = enacted_metrics.loc[code], scenario_metrics.loc[code]
            metrics_same = (
                all(
                    (pd.isna(me[f]) and pd.isna(ms[f])) or me[f] == ms[f]
                    for f in _REGION_FIELDS
                    if f != "area_km2"
                )
                and abs(me["area_km2"] - ms["area_km2"]) <= _SAME_AREA_KM2
            )
            same = centre_same and row["iou"] >= _SAME_IOU and metrics_same
        else:
            row["iou"] = np.nan
        for f in _REGION_FIELDS:
            ve = float(enacted_metrics.loc[code, f]) if in_e else np.nan
            vs = float(scenario_metrics.loc[code, f]) if in_s else np.nan
            row[f"{f}_enacted"], row[f"{f}_scenario"], row[f"{f}_delta"] = ve, vs, vs - ve
        if not same:
            rows.append(row)
    columns = ["code", "name_en", "status", "centre_enacted", "centre_scenario", "iou"] + [
        f"{f}_{k}" for f in _REGION_FIELDS for k in ("enacted", "scenario", "delta")
    ]
    return pd.DataFrame(rows, columns=columns)


def _centre_notes(regions: gpd.GeoDataFrame) -> list[str]:
    """Describe the centres that lie outside their own region."""
    notes = []
    for r in regions.itertuples(index=False):
        point = shapely.Point(r.centre_lon, r.centre_lat)
        geom = r.geometry
        if geom is None or geom.is_empty or geom.covers(point):
            continue
        near = nearest_points(geom, point)[0]
        km = float(geodesic_km(r.centre_lon, r.centre_lat, near.x, near.y))
        notes.append(
            f"centre {r.centre_name_en} of {r.code} lies outside the region, {km:.1f} km from it"
        )
    return notes


# ------------------------------------------------------------------------ evaluate
@dataclass
class ScenarioResult:
    """Everything :func:`evaluate_scenario` computes.

    Attributes
    ----------
    spec, enacted_spec : ReformSpec
        The scenario and the enacted reform it is compared with.
    build : BuildResult
        The scenario's build (both epochs; ``regions[spec.after]`` is the scenario map).
    analysis, enacted : Analysis
        The analysis pipeline on the scenario and on the enacted reform.
    metrics : DataFrame
        :func:`analysis.metrics.region_metrics` of the scenario regions, by ``code``.
    overall : Series
        :func:`analysis.metrics.overall_metrics` of ``metrics``.
    variant_metrics : dict
        Variant label (``"2018"``, ``"2024_enacted"``, ``"scenario"``) → per-region metrics.
    compare : DataFrame
        ``metric`` rows × variant columns plus ``scenario_minus_enacted``.
    region_compare : DataFrame
        Regions that differ from the enacted map (see :func:`compare_regions`).
    notes : list of str
        Remarks (centres outside their region, build notes).
    enclaves : DataFrame
        Regions of the scenario map lying in a hole of another
        (:func:`analysis.metrics.enclaves`: ``enclave_code``, ``host_code``, ``share``).
    """

    spec: ReformSpec
    enacted_spec: ReformSpec
    build: BuildResult
    analysis: Analysis
    enacted: Analysis
    metrics: pd.DataFrame
    overall: pd.Series
    variant_metrics: dict[str, pd.DataFrame]
    compare: pd.DataFrame
    region_compare: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    enclaves: pd.DataFrame | None = None
    seconds: float = 0.0

    @property
    def regions(self) -> gpd.GeoDataFrame:
        """The scenario's regions (its ``after`` epoch)."""
        return self.build.regions[self.spec.after]

    @property
    def labels(self) -> tuple[str, str, str]:
        """Variant labels: before, enacted after, scenario."""
        return tuple(self.variant_metrics)


def evaluate_scenario(
    spec: ReformSpec,
    *,
    sources: BoundarySources,
    settlements_source: SettlementSource,
    enacted_spec: ReformSpec | None = None,
    enacted: Analysis | None = None,
) -> ScenarioResult:
    """Build, analyse and compare a scenario with the 2018 map and the enacted reform.

    Parameters
    ----------
    spec : ReformSpec
        The scenario (see :func:`load_scenario`).
    sources : BoundarySources
        Boundaries (district data, or the embedded default for scenarios that only
        re-centre, rename or merge the enacted regions).
    settlements_source : SettlementSource
        Settlements (:func:`analysis.pipeline.load_settlements`).
    enacted_spec : ReformSpec, optional
        The enacted reform; default the bundled ``kz-2022``.
    enacted : Analysis, optional
        An analysis of the enacted reform on the same sources and settlements, to
        reuse instead of recomputing it.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    ReformSpecError
        The scenario does not fit the districts (unknown codes, empty regions), its
        epochs differ from the enacted reform's, or it moves districts on the
        embedded default; every problem is listed.
    """
    t0 = time.perf_counter()
    enacted_spec = _checked_enacted_spec(spec, sources, enacted_spec=enacted_spec, enacted=enacted)
    result = build(sources, spec)
    scen = analyze(result, settlements_source)
    if enacted is None:
        enacted = analyze(build(sources, enacted_spec), settlements_source)

    before, after = enacted_spec.epochs
    enacted_label = f"{after}_enacted"
    per_variant = {
        str(before): variant_metrics(enacted, before),
        enacted_label: variant_metrics(enacted, after),
        "scenario": variant_metrics(scen, spec.after),
    }
    overall = {label: overall_metrics(m) for label, m in per_variant.items()}
    compare = compare_overall(overall, scenario="scenario", enacted=enacted_label)
    region_compare = compare_regions(
        enacted.build.regions[after],
        per_variant[enacted_label],
        result.regions[spec.after],
        per_variant["scenario"],
    )
    notes = _centre_notes(result.regions[spec.after])
    return ScenarioResult(
        spec=spec,
        enacted_spec=enacted_spec,
        build=result,
        analysis=scen,
        enacted=enacted,
        metrics=per_variant["scenario"],
        overall=overall["scenario"],
        variant_metrics=per_variant,
        compare=compare,
        region_compare=region_compare,
        notes=notes,
        enclaves=enclaves(result.regions[spec.after]),
        seconds=time.perf_counter() - t0,
    )


def _checked_enacted_spec(
    spec: ReformSpec,
    sources: BoundarySources,
    *,
    enacted_spec: ReformSpec | None,
    enacted: Analysis | None,
) -> ReformSpec:
    """Return the enacted reform's spec (given, of ``enacted``, or bundled) once ``spec`` fits it."""
    if enacted is not None:
        if enacted_spec is not None and dump_spec(enacted_spec) != dump_spec(enacted.build.spec):
            msg = "evaluate_scenario: enacted_spec and enacted.build.spec differ; pass one of them"
            raise ValueError(msg)
        enacted_spec = enacted.build.spec
    enacted_spec = enacted_spec or load_spec()
    problems = compatibility_problems(spec, enacted_spec, sources)
    if problems:
        raise ReformSpecError(spec.source, problems)
    return enacted_spec


def scenario_summary(result: ScenarioResult) -> list[str]:
    """Short human summary of a scenario evaluation, one line each."""
    spec = result.spec
    labels = list(result.variant_metrics)
    cmp = result.compare.set_index("metric")
    lines = [f"scenario {spec.id}: {spec.title}", f"source: {result.build.sources.description}"]

    def row(metric: str, fmt: str, unit: str = "") -> str:
        values = " | ".join(
            f"{label} {format(cmp.loc[metric, label], fmt)}{unit}" for label in labels
        )
        return f"  {metric}: {values}"

    lines.append("national figures (population-weighted with population_est):")
    lines.append(row("regions", ".0f"))
    lines.append(row("pop_weighted_mean_km", ".1f", " km"))
    for metric in [m for m in cmp.index if m.startswith("share_pop_beyond_")]:
        lines.append(row(metric, ".1%"))
    lines.append(row("max_abs_deviation_pct", ".1f", " %"))
    lines.append(row("mean_polsby_popper", ".3f"))
    lines.append(row("non_contiguous", ".0f"))
    diff = result.region_compare
    if diff.empty:
        lines.append("regions differing from the enacted map: none")
    else:
        lines.append(f"regions differing from the enacted map: {len(diff)}")
        for r in diff.itertuples(index=False):
            lines.append(
                f"  {r.code} {r.name_en} [{r.status}]: "
                f"centre {r.centre_enacted} → {r.centre_scenario}, "
                f"area {r.area_km2_enacted:,.0f} → {r.area_km2_scenario:,.0f} km², "
                f"population {r.population_enacted:,.0f} → {r.population_scenario:,.0f}, "
                f"pop-weighted mean {r.pop_weighted_mean_km_enacted:.1f} → "
                f"{r.pop_weighted_mean_km_scenario:.1f} km"
            )
    if result.enclaves is not None and len(result.enclaves):
        pairs = [f"{r.enclave_code} in {r.host_code}" for r in result.enclaves.itertuples()]
        lines.append(f"enclaves (regions inside another region): {', '.join(pairs)}")
    lines.extend(f"note: {n}" for n in result.notes)
    lines.append(f"evaluation time: {result.seconds:.1f} s")
    return lines
