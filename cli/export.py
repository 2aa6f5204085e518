"""Write build and analysis outputs; the CLI and the app share these writers.

Every file is written into a folder given by the caller (the CLI passes the
temporary folder of :func:`geo.io.atomic_output_dir`), so a failed run leaves
nothing behind, and the app's downloads are byte for byte the CLI's files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from boundaries.build import BuildResult
from geo.io import write_csv, write_geojson, write_gpkg

REGION_FILE = "regions_{epoch}.geojson"


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
        written.append(
            write_geojson(region_properties(regions), folder / REGION_FILE.format(epoch=epoch))
        )
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
            f"({getattr(row, f'share_of_{spec.before}_area'):.1%} of {row[0]})"
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


#: Settlement columns in the order they are exported (others follow).
SETTLEMENT_COLUMNS = (
    "id",
    "osm_id",
    "source",
    "name",
    "name_en",
    "name_kk",
    "name_ru",
    "place",
    "population",
    "population_est",
    "population_low",
    "population_high",
    "population_basis",
    "population_osm",
    "population_prior",
    "abroad",
    "bns_unit",
    "bns_name",
    "population_status",
    "region_{b}",
    "region_{a}",
    "assignment",
    "assign_km",
    "centre_{b}",
    "centre_{b}_lon",
    "centre_{b}_lat",
    "dist_{b}_km",
    "centre_{a}",
    "centre_{a}_lon",
    "centre_{a}_lat",
    "dist_{a}_km",
    "delta_km",
    "changed_region",
    "nearest_centre_{a}",
    "nearest_centre_{a}_km",
    "farther_than_other_centre",
)
_DROP = (
    "alt_names",
    "population_raw",
    "geonames_admin1",
    "merged_from",
    "population_secondary",
    "piece_index",
)


def settlement_export(
    settlements: gpd.GeoDataFrame, *, before: int, after: int
) -> gpd.GeoDataFrame:
    """Settlements with contract columns first, distances rounded to 1 m."""
    cols = [c.format(b=before, a=after) for c in SETTLEMENT_COLUMNS]
    present = [c for c in cols if c in settlements.columns]
    rest = [
        c for c in settlements.columns if c not in present and c not in _DROP and c != "geometry"
    ]
    out = settlements[[*present, *rest, "geometry"]].copy()
    for c in out.columns:
        if c.endswith("_km"):
            out[c] = out[c].round(3)
    return out


def write_analysis(analysis, folder: str | Path, *, gpkg: bool = False) -> list[Path]:
    """Write the build outputs plus settlements, region statistics and shifts."""
    folder = Path(folder)
    before, after = analysis.epochs
    written = write_build(analysis.build, folder, gpkg=gpkg)
    settlements = settlement_export(analysis.settlements, before=before, after=after)
    written.append(write_geojson(settlements, folder / "settlements.geojson"))
    written.append(write_csv(settlements_csv(settlements), folder / "settlements.csv"))
    if gpkg:
        written.append(write_gpkg(settlements, folder / "reform_atlas.gpkg", layer="settlements"))
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
    for name, table in tables.items():
        written.append(write_csv(table.round(3), folder / name))
    return written


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
    lines = [
        f"settlements: {src.description}",
        f"  assigned inside a region {c['inside']:,}, to the nearest region within 1 km {c['nearest']:,}, "
        f"unassigned {c['unassigned']:,} (kept, listed with assignment=unassigned)",
        f"  changed region {c['changed_region']:,}; own 2024 centre farther than another region's "
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
    before, after = analysis.epochs
    for row in analysis.claims.itertuples(index=False):
        if row.found:
            lines.append(
                f"  {row.place}: {getattr(row, f'dist_{before}_km'):.0f} km to {getattr(row, f'centre_{before}')} "
                f"→ {getattr(row, f'dist_{after}_km'):.0f} km to {getattr(row, f'centre_{after}')}"
            )
    lines.append(f"analysis time: {analysis.seconds:.2f} s")
    return lines
