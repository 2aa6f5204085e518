"""The analysis pipeline: settlements → regions → distances → statistics and shifts.

:func:`load_settlements` picks the settlement source; :func:`analyze` is pure and
returns an :class:`Analysis` holding every table the CLI, the report and the app use.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.assign import assign_regions, assignment_counts, with_pieces
from analysis.distances import settlement_distances
from analysis.official import (
    ControlUnits,
    OfficialResult,
    apply_official,
    controlled_summary,
    official_shift,
    population_check,
    population_sources,
)
from analysis.population import compare_official, estimate_population, population_summary
from analysis.shifts import flow_matrix
from analysis.stats import affected_regions, region_stats, winners_losers
from boundaries.build import BuildResult
from boundaries.schema import (
    change_cols,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from boundaries.sources import GEONAMES_ATTRIBUTION, HOTOSM_ATTRIBUTION, BoundarySources
from geo.errors import DataError
from geo.io import read_input_bytes
from inputs.bns import BNS_SOURCE
from inputs.limits import INPUT_WHAT, input_limit
from inputs.merge import merge_gazetteers
from inputs.names import name_skeletons, skeleton
from inputs.search import find_settlement, ranking_columns, touched_regions
from inputs.settlements import load_geonames, load_hotosm, load_settlements_file

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
    #: "gazetteer" (HOT/GeoNames), "file" (a user's file, used as given) or "controlled"
    #: (figures already controlled to official totals, see :func:`controlled_source`)
    kind: str = "gazetteer"
    #: matches and control units when ``kind == "controlled"``
    official: OfficialResult | None = None


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
            kind="file",
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
    #: settlement matches and control units when official (BNS) totals were applied
    official_result: OfficialResult | None = None
    #: ``population_check.csv``: project vs official, per region/epoch and per BNS settlement
    population_check: pd.DataFrame | None = None
    #: ``official_shift.csv``: the reform's shift in the BNS regional series (2021 vs 2022)
    official_shift: pd.DataFrame | None = None
    #: per region and epoch: people from official counts, allocation, representative points
    population_sources: pd.DataFrame | None = None
    #: the BNS regional series the analysis was given (population on 1 January by region
    #: and year, in the borders of each date; see :func:`inputs.bns.read_series`)
    official_series: pd.DataFrame | None = None

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
    columns = _claim_columns(before, after)
    reported = [c for c in columns if c in settlements.columns]
    # the searches read and take only these columns (a copy of ~20 of ~45, no geometry)
    table = pd.DataFrame(
        settlements[list(dict.fromkeys([*ranking_columns(settlements), *reported]))]
    )
    skeletons = name_skeletons(table)
    touched = touched_regions(settlements)  # once, not once per name searched
    # each name is searched among the rows holding its skeleton (an index built once),
    # which find_settlement ranks as it would among all rows
    rows_of: dict[str, list[int]] = {}
    for position, keys in enumerate(skeletons):
        for key in keys:
            rows_of.setdefault(key, []).append(position)
    for label, names, *hint in places:
        hit = None
        for name in names:
            mine = rows_of.get(skeleton(name), [])
            found = find_settlement(
                table.iloc[mine], name, skeletons=skeletons.iloc[mine], touched=touched
            )
            if hint:
                found = found[found[region_col(before)] == hint[0]]
            if len(found):
                hit = found.iloc[0]
                break
        row = {"place": label, "found": hit is not None}
        if hit is not None:
            row.update({col: hit.get(col) for col in columns})
        rows.append(row)
    return pd.DataFrame(rows)


def _claim_columns(before: int, after: int) -> tuple[str, ...]:
    """Columns of :func:`claims_table` taken from the place found."""
    return (
        "id",
        "name",
        "population",
        "population_est",
        *change_cols(before, after),
        nearest_centre_col(after),
        nearest_centre_km_col(after),
    )


def _controlled(
    assigned: gpd.GeoDataFrame, build: BuildResult, units: ControlUnits
) -> tuple[gpd.GeoDataFrame, OfficialResult]:
    """Apply the official totals; give the added representative points their regions."""
    before, after = build.spec.epochs
    out, result = apply_official(assigned, units, after=after, before=before)
    added = out["source"] == "bns"
    if added.any():
        placed = assign_regions(out.loc[added, ["geometry"]], build.pieces, epochs=(before, after))
        for col in (region_col(before), "assignment", "piece_index", "assign_km"):
            out[col] = out[col].astype(object)
            out.loc[added, col] = placed[col].astype(object).to_numpy()
        for col in (region_col(before), region_col(after), "assignment"):
            out[col] = out[col].astype("category")
    return out, result


#: Columns an analysis derives from a build; a controlled source drops them so any
#: build (the enacted reform or a scenario) can assign its own.
_BUILD_COLUMNS = ("assignment", "piece_index", "assign_km")


def controlled_source(
    source: SettlementSource, build: BuildResult, units: ControlUnits
) -> SettlementSource:
    """Settlements whose figures are controlled to official totals, ready for any build.

    Control needs the regions of the reform the official figures describe
    (``build``, the enacted reform): each settlement is placed in a control unit of
    its own post-reform region. The returned source (``kind == "controlled"``)
    carries the final ``population`` columns, so a scenario build analysed with it
    weights by the same official figures. A user's settlements file is returned
    as given.
    """
    return _controlled_source(source, build, units)[0]


def _controlled_source(
    source: SettlementSource, build: BuildResult, units: ControlUnits
) -> tuple[SettlementSource, tuple[np.ndarray, np.ndarray] | None]:
    """:func:`controlled_source`, and the assignment of its rows to ``build``'s pieces made on the way.

    The assignment is ``(piece_index, assign_km)`` of every row (None for a source
    returned as given): :func:`analysis.assign.with_pieces` gives the columns
    :func:`analysis.assign.assign_regions` would, without a second pass.
    """
    if source.kind != "gazetteer":
        return source, None
    before, after = build.spec.epochs
    assigned = assign_regions(source.frame, build.pieces, epochs=(before, after))
    prior = estimate_population(assigned, region_col=region_col(before))
    frame, result = _controlled(prior, build, units)
    located = (frame["piece_index"].to_numpy("int64"), frame["assign_km"].to_numpy("float64"))
    frame = frame.drop(
        columns=[*_BUILD_COLUMNS, region_col(before), region_col(after)], errors="ignore"
    )
    added = int((frame["source"] == "bns").sum())
    controlled = SettlementSource(
        gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs),
        f"{source.description}; figures controlled to BNS totals of {units.bulletin.date}"
        + (f" (+{added} representative points)" if added else ""),
        [*source.attribution, f"{BNS_SOURCE} (official population, {units.bulletin.date})"],
        {**source.counts, "representative_points": added},
        kind="controlled",
        official=result,
    )
    return controlled, located


def _assigned(
    source: SettlementSource, build: BuildResult, control: ControlUnits | None
) -> tuple[SettlementSource, gpd.GeoDataFrame]:
    """Return the source (controlled to ``control`` if given) and its rows assigned to ``build``'s pieces.

    Control assigns the rows on the way; that assignment is reused.
    """
    located = None
    if control is not None:
        source, located = _controlled_source(source, build, control)
    if located is None:
        return source, assign_regions(source.frame, build.pieces, epochs=build.spec.epochs)
    return source, with_pieces(source.frame, build.pieces, *located, epochs=build.spec.epochs)


def analyze(
    build: BuildResult,
    source: SettlementSource,
    *,
    official: pd.DataFrame | None = None,
    control: ControlUnits | None = None,
    series: pd.DataFrame | None = None,
    on_settlements: Callable[[gpd.GeoDataFrame, tuple[int, int]], None] | None = None,
) -> Analysis:
    """Run the whole analysis for one build and one set of settlements.

    With ``control`` (official totals, see :mod:`analysis.official`), gazetteer
    settlements are first controlled to the official district/region totals
    (:func:`controlled_source`; ``build`` must then be the reform the totals
    describe); a source already controlled is used as it is. Places abroad are
    listed but count in no total. ``series`` (the BNS regional series) adds the
    official before/after shift and the 2021 check. ``on_settlements`` is called
    with the settlements (:attr:`Analysis.settlements`, final) and the epochs before
    the tables are made (the command line writes the settlements' files meanwhile).
    """
    t0 = time.perf_counter()
    before, after = build.spec.epochs
    source, assigned = _assigned(source, build, control)
    result = source.official
    check_plausible_assignment(assigned, source=source.description)
    if source.kind != "controlled":
        assigned = estimate_population(assigned, region_col=region_col(before))
    settlements = settlement_distances(assigned, build.regions, before=before, after=after)
    if on_settlements is not None:
        on_settlements(settlements, (before, after))
    stats = region_stats(settlements, build.regions)
    counted = settlements[~settlements["abroad"]] if "abroad" in settlements else settlements
    shifts = flow_matrix(counted, build.crosswalk, before=before, after=after)
    comparison = None
    if official is not None:
        est = stats[stats["epoch"] == after][["region", "population"]]
        comparison = compare_official(est, official)
    counts = {**source.counts, **assignment_counts(settlements)}
    counts["representative_points"] = int((settlements["source"] == "bns").sum())
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
        population=controlled_summary(settlements) if result else population_summary(settlements),
        counts=counts,
        official=comparison,
        seconds=time.perf_counter() - t0,
        official_result=result,
        population_check=population_check(settlements, result, series, before=before, after=after)
        if result
        else None,
        official_shift=official_shift(series, _parents(build)) if series is not None else None,
        official_series=series,
        population_sources=pd.concat(
            [population_sources(settlements, epoch=e) for e in (after, before)], ignore_index=True
        )
        if result
        else None,
    )


def _parents(build: BuildResult) -> dict[str, str]:
    """Map each new region to the pre-reform region it was formed from (spec parent links)."""
    after = build.spec.epochs[1]
    return {c: r.parent for c, r in build.spec.regions_of(after).items() if r.parent}


#: Share of settlements outside every region above which the analysis stops: the file
#: is then almost certainly of another country, or has longitude and latitude swapped.
MAX_OUTSIDE_SHARE = 0.5


def check_plausible_assignment(assigned: pd.DataFrame, *, source: str) -> None:
    """Raise when most settlements fall outside every region (wrong file or swapped lat/lon)."""
    outside = assigned["assignment"] == "unassigned"
    n = len(assigned)
    if n and outside.sum() > MAX_OUTSIDE_SHARE * n:
        sample = assigned.geometry[outside].iloc[0]
        msg = (
            f"{source}: {int(outside.sum()):,} of {n:,} settlements fall outside every region "
            f"(e.g. lon {sample.x:.4f}, lat {sample.y:.4f}); are longitude and latitude swapped, "
            "or is it the wrong file? Give settlements of the mapped country in lon/lat degrees"
        )
        raise DataError(msg)


def read_official(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV of official population by region (columns ``code``, ``population``).

    The file is read within the size limit of tables (:func:`geo.io.read_input_bytes`),
    as text, then validated by :func:`_validated_official`.
    """
    path = Path(path)
    fix = "give a CSV with columns code,population"
    data = read_input_bytes(path, limit=input_limit("table"), what=INPUT_WHAT["table"])
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, nrows=10_000)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        msg = f"{path}: cannot read CSV ({str(err).splitlines()[0]}); {fix}"
        raise DataError(msg) from err
    missing = {"code", "population"} - set(table.columns)
    if missing:
        msg = f"{path}: missing column(s) {', '.join(sorted(missing))}; {fix}"
        raise DataError(msg)
    return _validated_official(table, path)


#: Largest official population of one region: more than any first-level region on Earth
#: holds (the largest, Uttar Pradesh, has about 240 million people).
MAX_REGION_POPULATION = 1_000_000_000


def _validated_official(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Codes known (KZ-NN of Kazakhstan's regions), unique; figures finite, in 0..MAX_REGION_POPULATION.

    Every problem is collected (CSV line numbers, header = line 1) and raised once.
    """
    from boundaries.sources import region_code
    from inputs.bns import REGIONS

    problems, codes = [], []
    for line, value in enumerate(table["code"], start=2):
        try:
            code = region_code(value)
        except DataError:
            code = None
        if code not in REGIONS:
            problems.append(f"line {line}: unknown region code {value!r}")
        codes.append(code)
    pop = pd.to_numeric(table["population"].str.strip(), errors="coerce")
    for line in (pop.index[pop.isna() | ~np.isfinite(pop) | (pop < 0)] + 2).tolist():
        problems.append(
            f"line {line}: population {str(table['population'].iloc[line - 2])!r} "
            "is not a finite non-negative number"
        )
    for line in (pop.index[np.isfinite(pop) & (pop > MAX_REGION_POPULATION)] + 2).tolist():
        problems.append(
            f"line {line}: population {str(table['population'].iloc[line - 2])!r} "
            f"is above {MAX_REGION_POPULATION:,}, more than any region holds"
        )
    table = table.assign(code=codes, population=pop)
    for code in sorted(
        table.loc[table["code"].duplicated() & table["code"].notna(), "code"].unique()
    ):
        problems.append(f"code {code} appears more than once")
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        msg = f"{path}: {'; '.join(problems[:5])}{more}; give one row per region with columns code,population"
        raise DataError(msg)
    return table
