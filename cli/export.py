"""Write build and analysis outputs; the CLI and the app share these writers.

Every file is written into a folder given by the caller (the CLI passes the
temporary folder of :func:`geo.outdir.atomic_output_dir`), so a failed run leaves
nothing behind, and the app's downloads are byte for byte the CLI's files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.build import BuildResult, ChainBuild
from boundaries.schema import (
    AREA_KM2,
    ASSIGN_KM,
    ASSIGNMENT,
    CHANGED_REGION,
    DELTA_KM,
    FARTHER_THAN_OTHER,
    MAX_NEAREST_KM,
    PIECE_INDEX,
    POPULATION,
    POPULATION_BASIS,
    POPULATION_EST,
    POPULATION_HIGH,
    POPULATION_LOW,
    centre_col,
    centre_lat_col,
    centre_lon_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
    regions_file,
    share_of_area_col,
)
from boundaries.spec import save_spec
from cli import forked
from geo.errors import DataError
from geo.io import write_csv, write_geojson, write_gpkg

if TYPE_CHECKING:
    from analysis.scenario import ScenarioResult


def region_properties(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Regions as exported: contract columns, areas rounded to 0.01 km²."""
    out = regions.copy()
    out["area_km2"] = out["area_km2"].round(2)
    return out


def write_build(result: BuildResult, folder: str | Path, *, gpkg: bool = False) -> list[Path]:
    """Write ``regions_<epoch>.geojson``, ``crosswalk.csv`` and ``validation.csv``."""
    folder = Path(folder)
    written = []
    for epoch, regions in result.regions.items():
        written.append(write_geojson(region_properties(regions), folder / regions_file(epoch)))
        if gpkg:
            written.append(
                write_gpkg(regions, folder / "reform_atlas.gpkg", layer=f"regions_{epoch}")
            )
    table = result.crosswalk.copy()
    written.append(write_csv(table.round(6), folder / "crosswalk.csv"))
    written.append(write_csv(result.validation.round(6), folder / "validation.csv"))
    return written


def build_summary(result: BuildResult) -> list[str]:
    """Short human summary of a build, one line each."""
    spec, src = result.spec, result.sources
    lines = [f"source: {src.description}", f"attribution: {'; '.join(src.attribution)}"]
    for epoch, regions in result.regions.items():
        lines.append(
            f"{epoch}: {len(regions)} regions, {regions['area_km2'].sum():,.0f} km² (EPSG:6933 equal-area)"
        )
    changed = result.crosswalk[result.crosswalk["changed"]]
    for row in changed.itertuples(index=False):
        lines.append(
            f"  {row[0]} → {row[1]}: {row.area_km2:,.0f} km² "
            f"({getattr(row, share_of_area_col(spec.before)):.1%} of {row[0]})"
        )
    v = result.validation
    if len(v):
        worst = v.loc[v["iou"].idxmin()]
        lines.append(
            f"validation: {len(v)} published regions, IoU min {worst['iou']:.4f} "
            f"({worst['region']} {int(worst['epoch'])}), median {v['iou'].median():.5f}"
        )
    else:
        lines.append("validation: no published district-based layers with the embedded default")
    lines.extend(f"note: {n}" for n in result.notes)
    lines.append(f"build time: {result.seconds:.2f} s")
    return lines


def settlement_columns(before: int, after: int) -> list[str]:
    """Settlement columns in the order they are exported (others follow)."""
    return [
        "id",
        "osm_id",
        "source",
        "name",
        "name_latn",
        "name_en",
        "name_kk",
        "name_ru",
        "place",
        POPULATION,
        POPULATION_EST,
        POPULATION_LOW,
        POPULATION_HIGH,
        POPULATION_BASIS,
        "population_osm",
        "population_prior",
        "abroad",
        "bns_unit",
        "bns_name",
        "population_status",
        region_col(before),
        region_col(after),
        ASSIGNMENT,
        ASSIGN_KM,
        *(
            name
            for epoch in (before, after)
            for name in (
                centre_col(epoch),
                centre_lon_col(epoch),
                centre_lat_col(epoch),
                dist_col(epoch),
            )
        ),
        DELTA_KM,
        CHANGED_REGION,
        nearest_centre_col(after),
        nearest_centre_km_col(after),
        FARTHER_THAN_OTHER,
    ]


_DROP = (
    "alt_names",
    "population_raw",
    "geonames_admin1",
    "merged_from",
    "population_secondary",
    PIECE_INDEX,
)


def settlement_export(
    settlements: gpd.GeoDataFrame, *, before: int, after: int
) -> gpd.GeoDataFrame:
    """Settlements with contract columns first, distances rounded to 1 m."""
    cols = settlement_columns(before, after)
    present = [c for c in cols if c in settlements.columns]
    rest = [
        c for c in settlements.columns if c not in present and c not in _DROP and c != "geometry"
    ]
    out = settlements[[*present, *rest, "geometry"]].copy()
    for c in out.columns:
        if c.endswith("_km"):
            out[c] = out[c].round(3)
    return out


def write_analysis(
    analysis,
    folder: str | Path,
    *,
    gpkg: bool = False,
    started: Mapping[str, Callable[[], list[Path]]] | None = None,
) -> list[Path]:
    """Write the build outputs plus settlements, region statistics and shifts.

    ``started``: the files already being written into ``folder`` (``"build"``:
    :func:`write_build`, ``"settlements"``: :func:`write_settlements`), as the calls
    that wait for them (:func:`cli.forked.start`); the build's files are otherwise
    written by a forked process meanwhile. A GeoPackage, one file for all layers, is
    written in order, here.
    """
    folder = Path(folder)
    started = started or {}
    if gpkg:
        build_files = forked.deferred(write_build, analysis.build, folder, gpkg=True)
    else:
        build_files = started.get("build") or forked.start(write_build, analysis.build, folder)
    settlement_files = started.get("settlements") or forked.deferred(
        write_settlements, analysis.settlements, folder, epochs=analysis.epochs, gpkg=gpkg
    )
    written = [*build_files(), *settlement_files()]
    for name, table in analysis_tables(analysis).items():
        written.append(write_csv(table.round(3), folder / name))
    return written


def write_settlements(
    settlements: gpd.GeoDataFrame,
    folder: str | Path,
    *,
    epochs: tuple[int, int],
    gpkg: bool = False,
) -> list[Path]:
    """Write ``settlements.geojson`` and ``settlements.csv`` (:func:`settlement_export`).

    With ``gpkg``, also the ``settlements`` layer of ``reform_atlas.gpkg`` (after the
    build's layers: :func:`write_build` comes first).
    """
    folder = Path(folder)
    before, after = epochs
    out = settlement_export(settlements, before=before, after=after)
    written = [
        write_geojson(out, folder / "settlements.geojson"),
        write_csv(settlements_csv(out), folder / "settlements.csv"),
    ]
    if gpkg:
        written.append(write_gpkg(out, folder / "reform_atlas.gpkg", layer="settlements"))
    return written


def analysis_tables(analysis) -> dict[str, pd.DataFrame]:
    """Return the analysis's tables by file name, in the order they are written."""
    tables = {
        "region_stats.csv": analysis.region_stats,
        "shifts.csv": analysis.shifts,
        "affected_regions.csv": analysis.affected,
        "winners_losers.csv": analysis.winners_losers,
        "claims.csv": analysis.claims,
    }
    if analysis.official is not None:
        tables["official_vs_estimate.csv"] = analysis.official
    for name, table in (
        ("population_check.csv", analysis.population_check),
        ("official_shift.csv", analysis.official_shift),
        ("population_sources.csv", analysis.population_sources),
    ):
        if table is not None:
            tables[name] = table
    return tables


def settlements_csv(settlements: gpd.GeoDataFrame) -> pd.DataFrame:
    """Settlements as a table with ``lon``/``lat`` columns instead of geometry."""
    table = pd.DataFrame(settlements.drop(columns="geometry"))
    table.insert(len(table.columns), "lon", settlements.geometry.x.round(6).to_numpy())
    table.insert(len(table.columns), "lat", settlements.geometry.y.round(6).to_numpy())
    return table


def analysis_summary(analysis) -> list[str]:
    """Short human summary of an analysis run."""
    c, p = analysis.counts, analysis.population
    src = analysis.settlement_source
    before, after = analysis.epochs
    lines = [
        f"settlements: {src.description}",
        f"  assigned inside a region {c['inside']:,}, to the nearest region within {MAX_NEAREST_KM:g} km {c['nearest']:,}, "
        f"outside every region {c['unassigned']:,} (listed with assignment=unassigned, "
        "left out of the totals)",
        f"  changed region {c['changed_region']:,}; own {after} centre farther than another region's "
        f"{c['farther_than_other_centre']:,}",
        f"population ({p.get('covers', 'all settlements')}): {p['population_total']:,.0f} of which "
        f"{p['known_share']:.1%} from {'official settlement counts' if 'covers' in p else 'known counts'} "
        f"({'allocated' if 'covers' in p else 'imputed'} part {p['imputed_est']:,.0f}, "
        f"band {p['imputed_low']:,.0f}–{p['imputed_high']:,.0f})",
    ]
    if "covers" in p:
        lines.append(
            f"  official: BNS 1 January 2023, every {analysis.epochs[1]} region total = BNS; "
            f"{p['abroad']:,} places abroad listed, not counted"
        )
    for row in analysis.claims.itertuples(index=False):
        if row.found:
            lines.append(
                f"  {row.place}: {getattr(row, dist_col(before)):.0f} km to {getattr(row, centre_col(before))} "
                f"→ {getattr(row, dist_col(after)):.0f} km to {getattr(row, centre_col(after))}"
            )
    lines.append(f"analysis time: {analysis.seconds:.2f} s")
    return lines


# ------------------------------------------------------------------ timeline
#: Rounding of the chain's tables as written (decimals); ``timeline`` rounds its own.
TIMELINE_ROUNDING = {
    "reform_summary": 4,
    "winners_losers": 3,
    "successor_overlap": 4,
    "approximation": 2,
    "former_centres": 3,
    "validation": 6,
}


def write_timeline(
    chain: ChainBuild, tables: dict[str, pd.DataFrame], folder: str | Path
) -> list[Path]:
    """Write ``regions_<epoch>.geojson`` for every epoch and each table as ``<name>.csv``.

    ``tables`` is :func:`analysis.timeline.chain_tables`.
    """
    folder = Path(folder)
    written = [
        write_geojson(region_properties(regions), folder / regions_file(epoch))
        for epoch, regions in sorted(chain.regions.items())
    ]
    for name, table in tables.items():
        digits = TIMELINE_ROUNDING.get(name)
        written.append(
            write_csv(table if digits is None else table.round(digits), folder / f"{name}.csv")
        )
    return written


def timeline_summary(chain: ChainBuild, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Short human summary of a timeline run, one line each."""
    lines = [
        f"source: {chain.sources.description}",
        f"reforms: {', '.join(chain.chain.reform_ids)}",
    ]
    for epoch, regions in sorted(chain.regions.items()):
        lines.append(
            f"{epoch}: {len(regions)} regions, {regions[AREA_KM2].sum():,.0f} km² (EPSG:6933)"
        )
    for r in tables["reform_summary"].itertuples(index=False):
        lines.append(
            f"  {r.reform} {r.name_before} (centre {r.centre_before}): population-weighted mean "
            f"{r.pop_weighted_mean_before_km:.1f} → {r.pop_weighted_mean_after_km:.1f} km, "
            f"{r.share_pop_farther:.1%} of people farther, {r.share_pop_nearer:.1%} nearer"
        )
    for r in tables["successor_overlap"].itertuples(index=False):
        lines.append(
            f"  {r.name_en} ({r.epoch}) / {r.former_name_en} ({r.former_epoch}): overlap "
            f"{r.overlap_km2:,.0f} km² = {r.share_of_region:.1%} of {r.name_en}, "
            f"{r.share_of_former:.1%} of {r.former_name_en} (approximate {r.former_epoch} borders)"
        )
    lines.extend(f"note: {n}" for n in chain.notes)
    lines.append(f"build time: {chain.seconds:.2f} s")
    return lines


# ------------------------------------------------------------------ scenarios
#: Output files of :func:`write_scenario` (``{after}`` is the scenario's after epoch).
SCENARIO_FILES = (
    "regions_{after}.geojson",
    "settlements.csv",
    "metrics.csv",
    "compare.csv",
    "compare_regions.csv",
    "scenario.toml",
)


def scenario_settlements(result: ScenarioResult) -> pd.DataFrame:
    """Scenario settlements as a CSV table, with the enacted region and distance beside.

    The columns of :func:`cli.export.settlement_export` (regions, centres and
    distances of the 2018 map and the scenario), then ``region_<after>_enacted``,
    ``centre_<after>_enacted``, ``dist_<after>_enacted_km`` and
    ``delta_vs_enacted_km`` (scenario minus enacted; negative = nearer).
    """
    before, after = result.spec.epochs
    e_after = result.enacted_spec.after
    scen, enac = result.analysis.settlements, result.enacted.settlements
    if not np.array_equal(scen["id"].to_numpy(dtype=object), enac["id"].to_numpy(dtype=object)):
        msg = "scenario and enacted analyses were run on different settlements; use the same source"
        raise DataError(msg)
    table = settlements_csv(settlement_export(scen, before=before, after=after))
    table[f"region_{e_after}_enacted"] = enac[region_col(e_after)].to_numpy()
    table[f"centre_{e_after}_enacted"] = enac[centre_col(e_after)].to_numpy()
    table[f"dist_{e_after}_enacted_km"] = enac[dist_col(e_after)].round(3).to_numpy()
    table["delta_vs_enacted_km"] = (
        (scen[dist_col(after)] - enac[dist_col(e_after)]).round(3).to_numpy()
    )
    return table


def write_scenario(result: ScenarioResult, folder: str | os.PathLike) -> list[Path]:
    """Write the files of :data:`SCENARIO_FILES` into ``folder``.

    ``regions_<after>.geojson`` (RFC 7946), ``settlements.csv``, ``metrics.csv``
    (per region), ``compare.csv`` (metric × variant), ``compare_regions.csv``
    (regions that differ from the enacted map) and ``scenario.toml`` (the spec as
    evaluated).
    """
    folder = Path(folder)
    after = result.spec.after
    regions = region_properties(result.regions)
    written = [write_geojson(regions, folder / regions_file(after), name="scenario regions")]
    written.append(write_csv(scenario_settlements(result), folder / "settlements.csv"))
    metrics = result.metrics.reset_index()
    metrics.insert(2, "epoch", after)
    written.append(write_csv(metrics.round(6), folder / "metrics.csv"))
    written.append(write_csv(result.compare.round(6), folder / "compare.csv"))
    written.append(write_csv(result.region_compare.round(6), folder / "compare_regions.csv"))
    written.append(save_spec(result.spec, folder / "scenario.toml"))
    return written
