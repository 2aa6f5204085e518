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
        written.append(write_geojson(region_properties(regions), folder / REGION_FILE.format(epoch=epoch)))
        if gpkg:
            written.append(write_gpkg(regions, folder / "reform_atlas.gpkg", layer=f"regions_{epoch}"))
    table = result.crosswalk.copy()
    written.append(write_csv(table.round(6), folder / "crosswalk.csv"))
    written.append(write_csv(result.validation.round(6), folder / "validation.csv"))
    return written


def build_summary(result: BuildResult) -> list[str]:
    """Short human summary of a build, one line each."""
    spec, src = result.spec, result.sources
    lines = [f"source: {src.description}", f"attribution: {'; '.join(src.attribution)}"]
    for epoch, regions in result.regions.items():
        lines.append(f"{epoch}: {len(regions)} regions, {regions['area_km2'].sum():,.0f} km² (EPSG:6933 equal-area)")
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


def frame_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry for CSV output."""
    return pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
