"""The analysis pipeline: settlements → regions → distances → statistics and shifts.

:func:`load_settlements` picks the settlement source; :func:`analyze` is pure and
returns an :class:`Analysis` holding every table the CLI, the report and the app use.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.assign import assign_regions, assignment_counts
from analysis.distances import settlement_distances
from analysis.population import compare_official, estimate_population, population_summary
from analysis.shifts import flow_matrix
from analysis.stats import affected_regions, region_stats, winners_losers
from boundaries.build import BuildResult
from boundaries.schema import (
    centre_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from boundaries.sources import GEONAMES_ATTRIBUTION, HOTOSM_ATTRIBUTION, BoundarySources
from geo.errors import DataError
from inputs.settlements import (
    find_settlement,
    load_geonames,
    load_hotosm,
    load_settlements_file,
    merge_gazetteers,
    name_skeletons,
)

#: Places named in the address of 16 March 2022 and other places the reform moved.
#: Each entry: label, the names to search for (any script or romanisation) and
#: optionally the pre-reform region meant (there is another Uzynagash in Kostanay).
CLAIM_PLACES: tuple[tuple, ...] = (
    ("Talgar", ("Talgar", "Талғар", "Талгар")),
    ("Uzynagash", ("Ұзынағаш", "Узынагач", "Uzynagash"), "KZ-19"),
    ("Kaskelen", ("Kaskelen", "Қаскелең", "Каскелен")),
    ("Esik", ("Есік", "Есик", "Esik", "Issyk")),
    ("Kurchatov", ("Курчатов", "Kurchatov")),
    ("Konaev (Kapshagai)", ("Қонаев", "Конаев", "Konaev", "Қапшағай", "Капчагай", "Kapshagay")),
    ("Zharkent", ("Жаркент", "Zharkent")),
    ("Ayagoz", ("Аягөз", "Аягоз", "Ayagoz")),
    ("Satpayev", ("Сәтбаев", "Сатпаев", "Satpayev")),
)


#: Claim places of the other reforms of the chain, by spec id (same layout as
#: :data:`CLAIM_PLACES`): for 2018 the towns of South Kazakhstan whose trip to the
#: centre changed most (Saryagash, Lenger, Kentau, Zhetisay, Arys) and Turkistan itself;
#: for 1997 the centres of the abolished oblasts.
REFORM_CLAIM_PLACES: dict[str, tuple[tuple, ...]] = {
    "kz-2018": (
        ("Saryagash", ("Сарыағаш", "Сарыагаш", "Saryagash"), "KZ-51"),
        ("Lenger", ("Леңгір", "Ленгер", "Lenger"), "KZ-51"),
        ("Kentau", ("Кентау", "Kentau"), "KZ-51"),
        ("Zhetisay", ("Жетісай", "Жетысай", "Zhetisay"), "KZ-51"),
        ("Arys", ("Арыс", "Арысь", "Arys"), "KZ-51"),
        ("Turkistan", ("Түркістан", "Туркестан", "Turkistan"), "KZ-51"),
    ),
    "kz-1997": (
        ("Zhezkazgan", ("Жезқазған", "Жезказган", "Zhezkazgan"), "KZ-ZHE"),
        ("Semey (Semipalatinsk)", ("Семей", "Semey", "Семипалатинск"), "KZ-SEM"),
        ("Taldykorgan", ("Талдықорған", "Талдыкорган", "Taldykorgan"), "KZ-TAL"),
        ("Kokshetau", ("Көкшетау", "Кокшетау", "Kokshetau"), "KZ-KOK"),
        ("Arkalyk", ("Арқалық", "Аркалык", "Arkalyk"), "KZ-TUR"),
        ("Balkhash", ("Балқаш", "Балхаш", "Balkhash"), "KZ-ZHE"),
    ),
}


@dataclass
class SettlementSource:
    """Settlements as loaded, with where they came from."""

    frame: gpd.GeoDataFrame
    description: str
    attribution: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def load_settlements(
    sources: BoundarySources, *, settlements_file: str | os.PathLike | None = None
) -> SettlementSource:
    """Settlements for an analysis.

    * ``settlements_file`` given: that file (GeoJSON, GeoPackage or CSV).
    * A data directory: the HOT populated places, with GeoNames places that HOT
      lacks merged in (no HOT place within 10 km under any transliteration).
    * Otherwise: the embedded GeoNames ``cities500`` places of Kazakhstan.
    """
    if settlements_file is not None:
        frame = load_settlements_file(settlements_file)
        return SettlementSource(
            frame,
            f"settlements file {settlements_file}",
            [f"user file {Path(settlements_file).name}"],
            {"loaded": len(frame)},
        )
    geonames = load_geonames()
    if sources.settlements_path is not None:
        path = sources.settlements_path
        if not path.exists():
            msg = f"{path}: settlements file not found; run 'reform-atlas data fetch --dest {sources.data_dir}' or pass --settlements FILE"
            raise DataError(msg)
        hot = load_hotosm(path)
        merged = mark_secondary_population(merge_gazetteers(hot, geonames))
        added = int((merged["merged_from"] == "secondary").sum())
        return SettlementSource(
            merged,
            f"HOT populated places ({len(hot):,}) + {added} GeoNames places HOT lacks",
            [HOTOSM_ATTRIBUTION, GEONAMES_ATTRIBUTION],
            {"hotosm": len(hot), "geonames_added": added, "loaded": len(merged)},
        )
    return SettlementSource(
        geonames,
        f"embedded default: GeoNames cities500 ({len(geonames)} places)",
        [GEONAMES_ATTRIBUTION],
        {"geonames": len(geonames), "loaded": len(geonames)},
    )


def mark_secondary_population(merged: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Treat populations of gap-filling (secondary) places as estimates, not counts.

    Their figure moves to ``population_secondary`` and ``population`` becomes
    unknown, so known-count totals rest on the primary gazetteer only; the
    estimator uses the secondary figure where there is one.
    """
    out = merged.copy()
    secondary = out["merged_from"] == "secondary"
    out["population_secondary"] = out["population"].where(secondary)
    out.loc[secondary, "population"] = float("nan")
    out.loc[secondary, "population_status"] = "estimated"
    return out


@dataclass
class Analysis:
    """Every table of an analysis run."""

    build: BuildResult
    settlement_source: SettlementSource
    settlements: gpd.GeoDataFrame
    region_stats: pd.DataFrame
    shifts: pd.DataFrame
    affected: pd.DataFrame
    winners_losers: pd.DataFrame
    claims: pd.DataFrame
    population: dict[str, float]
    counts: dict[str, int]
    official: pd.DataFrame | None
    seconds: float

    @property
    def epochs(self) -> tuple[int, int]:
        """``(before, after)``."""
        return self.build.spec.epochs


def claims_table(
    settlements: gpd.GeoDataFrame,
    *,
    before: int,
    after: int,
    places: tuple[tuple, ...] = CLAIM_PLACES,
) -> pd.DataFrame:
    """One row per place of ``places`` (default :data:`CLAIM_PLACES`) found (largest match of any of its names)."""
    rows = []
    skeletons = name_skeletons(settlements)
    for label, names, *hint in places:
        hit = None
        for name in names:
            found = find_settlement(settlements, name, skeletons=skeletons)
            if hint:
                found = found[found[region_col(before)] == hint[0]]
            if len(found):
                hit = found.iloc[0]
                break
        row = {"place": label, "found": hit is not None}
        if hit is not None:
            for col in (
                "id",
                "name",
                "population",
                "population_est",
                region_col(before),
                region_col(after),
                centre_col(before),
                centre_col(after),
                dist_col(before),
                dist_col(after),
                "delta_km",
                nearest_centre_col(after),
                nearest_centre_km_col(after),
            ):
                row[col] = hit.get(col)
        rows.append(row)
    return pd.DataFrame(rows)


def analyze(
    build: BuildResult,
    source: SettlementSource,
    *,
    official: pd.DataFrame | None = None,
) -> Analysis:
    """Run the whole analysis for one build and one set of settlements."""
    t0 = time.perf_counter()
    before, after = build.spec.epochs
    assigned = assign_regions(source.frame, build.pieces, epochs=(before, after))
    with_dist = settlement_distances(assigned, build.regions, before=before, after=after)
    settlements = estimate_population(with_dist, region_col=region_col(before))
    stats = region_stats(settlements, build.regions)
    shifts = flow_matrix(settlements, build.crosswalk, before=before, after=after)
    comparison = None
    if official is not None:
        est = stats[stats["epoch"] == after][["region", "population"]]
        comparison = compare_official(est, official)
    counts = {**source.counts, **assignment_counts(settlements)}
    counts["changed_region"] = int(settlements["changed_region"].sum())
    counts["farther_than_other_centre"] = int(settlements["farther_than_other_centre"].sum())
    return Analysis(
        build=build,
        settlement_source=source,
        settlements=settlements,
        region_stats=stats,
        shifts=shifts,
        affected=affected_regions(settlements, before=before, after=after),
        winners_losers=winners_losers(settlements, before=before, after=after),
        claims=claims_table(
            settlements,
            before=before,
            after=after,
            places=REFORM_CLAIM_PLACES.get(build.spec.id, CLAIM_PLACES),
        ),
        population=population_summary(settlements),
        counts=counts,
        official=comparison,
        seconds=time.perf_counter() - t0,
    )


def read_official(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV of official population by region (columns ``code``, ``population``)."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: official figures file not found; give a CSV with columns code,population"
        raise DataError(msg)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        msg = f"{path}: cannot read CSV ({str(err).splitlines()[0]}); give a CSV with columns code,population"
        raise DataError(msg) from err
    missing = {"code", "population"} - set(table.columns)
    if missing:
        msg = f"{path}: missing column(s) {', '.join(sorted(missing))}; give a CSV with columns code,population"
        raise DataError(msg)
    from boundaries.sources import region_code

    table["code"] = table["code"].map(region_code)
    table["population"] = pd.to_numeric(table["population"], errors="raise")
    return table
