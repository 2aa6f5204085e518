"""Regional centres of analysed regions: candidate towns ranked, best k centres.

A centre is judged by the population-weighted mean geodesic distance from the
settlements it serves (:mod:`analysis.centres`), weighted by ``population_est``
(known counts plus the documented estimate, :mod:`analysis.population`).
Candidates are settlements whose population is a count (an OSM tag, or a
GeoNames figure for places HOT lacks) of at least ``min_population``; an imputed
median never makes a place a candidate.

* :func:`rank_region_centres`: one region of an analysis, with its actual centre placed.
* :func:`candidate_centres`: one region of a scenario-lab state.
* :func:`best_centres`: the best ``k`` centres for a group of regions (p-median).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.centres import DEFAULT_MIN_POPULATION, centre_rank_of, rank_centres
from analysis.pipeline import Analysis
from analysis.pmedian import p_median
from analysis.whatif import WhatIfResult
from boundaries.schema import CENTRE_MATCH_KM, COUNTED_BASES, region_col
from geo.crs import WGS84
from geo.distance import geodesic_km
from geo.errors import DataError
from inputs.search import find_settlement

__all__ = [
    "CANDIDATE_COLUMNS",
    "CentreRanking",
    "best_centres",
    "candidate_centres",
    "rank_region_centres",
    "weighted_settlements",
]

#: Columns of a candidate-centre table, in order.
CANDIDATE_COLUMNS = (
    "id",
    "candidate",
    "name_latn",
    "name_en",
    "name_kk",
    "name_ru",
    "population",
    "pop_weighted_mean_km",
    "rank",
    "lon",
    "lat",
    "is_current",
)


def weighted_settlements(settlements: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points with ``population`` = ``population_est``, for the metric functions.

    Keeps ``id``, the names, ``osm_id``, ``place``, ``population_basis``,
    the region columns and the geometry; the known count is kept as
    ``population_known``.
    """
    keep = [
        c
        for c in settlements.columns
        if c
        in (
            "id",
            "osm_id",
            "name",
            "name_latn",
            "name_en",
            "name_kk",
            "name_ru",
            "alt_names",
            "place",
            "population_basis",
        )
        or c.startswith("region_")
    ]
    out = gpd.GeoDataFrame(
        settlements[keep].copy(), geometry=settlements.geometry.to_numpy(), crs=settlements.crs
    )
    out["population_known"] = pd.to_numeric(settlements["population"], errors="coerce").to_numpy()
    out["population"] = pd.to_numeric(settlements["population_est"], errors="coerce").to_numpy()
    return out


# --------------------------------------------------------------- one region
@dataclass
class CentreRanking:
    """Candidate centres of one region ranked by population-weighted mean distance.

    ``ranking`` has the columns of :func:`analysis.centres.rank_centres`
    (``candidate``, ``id``, ``osm_id``, ``population``, ``pop_weighted_mean_km``,
    ``rank``) plus ``name_latn``, ``name_en``, ``population_basis``, ``km_behind_best``,
    ``is_enacted_centre``, ``lon`` and ``lat``; ``population`` is ``population_est``.
    The ``enacted_*`` fields describe the region's actual centre in ``epoch``:
    ``enacted_centre`` is its name in the spec, ``enacted_candidate`` and
    ``enacted_id`` the settlement matched to it (by coordinates, else by name; ``match``
    says how), ``enacted_rank`` and ``enacted_km`` its place in the ranking (None when
    no settlement matches).
    """

    region: str
    region_name: str
    epoch: int
    ranking: pd.DataFrame
    enacted_centre: str
    enacted_id: str | None
    enacted_candidate: str | None
    enacted_rank: int | None
    enacted_km: float | None
    best_candidate: str
    best_id: str
    best_km: float
    min_population: float
    match: str = ""

    @property
    def km_behind_best(self) -> float | None:
        """How much farther (km, population-weighted mean) the actual centre is than the best."""
        return None if self.enacted_km is None else self.enacted_km - self.best_km

    def _centre_label(self) -> str:
        if self.enacted_candidate and self.enacted_candidate != self.enacted_centre:
            return f"{self.enacted_centre} ({self.enacted_candidate})"
        return self.enacted_centre

    def summary(self) -> str:
        """One line: where the actual centre ranks and by how much the best beats it."""
        head = f"{self.region} {self.region_name} ({self.epoch}), {len(self.ranking)} candidates"
        if self.enacted_rank is None:
            return f"{head}: centre {self.enacted_centre} not found ({self.match})"
        others = self.ranking[~self.ranking["is_enacted_centre"].to_numpy(dtype=bool)]
        if self.enacted_rank == 1:
            margin = (
                f"; next best {_label(others.iloc[0])} "
                f"{others['pop_weighted_mean_km'].iloc[0]:.1f} km"
                if len(others)
                else ""
            )
            return (
                f"{head}: centre {self._centre_label()} ranks 1 "
                f"(population-weighted mean {self.enacted_km:.1f} km){margin}"
            )
        return (
            f"{head}: centre {self._centre_label()} ranks {self.enacted_rank} "
            f"({self.enacted_km:.1f} km population-weighted mean); best is "
            f"{_label(self.ranking.iloc[0])} ({self.best_km:.1f} km), "
            f"{self.km_behind_best:.1f} km closer on average"
        )


def _label(row: pd.Series) -> str:
    """Name of a ranking row: local name, with the English one when there is one."""
    name, name_en = row["candidate"], row.get("name_en")
    if isinstance(name_en, str) and name_en and name_en != name:
        return f"{name} ({name_en})"
    return str(name)


def _match_centre(
    settlements: gpd.GeoDataFrame, *, lon: float, lat: float, name: str, region_mask: np.ndarray
) -> tuple[int | None, str]:
    """Position of the settlement that is the centre at (lon, lat), and how it was found.

    Coordinates first (names differ across scripts): among settlements within
    :data:`CENTRE_MATCH_KM`, a counted population beats an imputed one, then the
    largest population, then the nearest. Else the best name match in the region.
    """
    pts = settlements.geometry
    km = geodesic_km(pts.x.to_numpy(), pts.y.to_numpy(), lon, lat)
    near = np.flatnonzero(km <= CENTRE_MATCH_KM)
    if near.size:
        counted = settlements["population_basis"].isin(COUNTED_BASES).to_numpy()[near]
        pop = settlements["population"].to_numpy(dtype="float64", na_value=np.nan)[near]
        order = np.lexsort((km[near], -np.nan_to_num(pop, nan=-1.0), ~counted))
        best = int(near[order[0]])
        return best, f"settlement {km[best]:.2f} km from the centre coordinates"
    local = settlements.iloc[np.flatnonzero(region_mask)]
    found = find_settlement(local.reset_index(names="_pos"), name)
    if len(found):
        return int(found["_pos"].iloc[0]), f"name match for {name!r}"
    return None, f"no settlement within {CENTRE_MATCH_KM:g} km of ({lon}, {lat}) or named {name!r}"


_RANKING_COLUMNS = (
    "candidate",
    "name_latn",
    "name_en",
    "id",
    "osm_id",
    "population",
    "population_basis",
    "pop_weighted_mean_km",
    "km_behind_best",
    "rank",
    "is_enacted_centre",
    "lon",
    "lat",
)


def _ranking_table(
    pts: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    region: str,
    col: str,
    enacted_id: str | None,
) -> pd.DataFrame:
    """:func:`rank_centres` with names, basis, coordinates, gap to the best and the actual centre."""
    ranking = rank_centres(pts, region=region, region_col=col, candidates=candidates)
    names = [c for c in ("name_latn", "name_en") if c in candidates]
    extra = candidates.set_index("id")[[*names, "population_basis"]]
    extra["lon"] = candidates.geometry.x.to_numpy()
    extra["lat"] = candidates.geometry.y.to_numpy()
    ranking = ranking.join(extra, on="id")
    ranking["km_behind_best"] = (
        ranking["pop_weighted_mean_km"] - ranking["pop_weighted_mean_km"].min()
    )
    ranking["is_enacted_centre"] = (
        (ranking["id"].astype("string") == enacted_id).fillna(False).astype(bool)
    )
    return ranking[[c for c in _RANKING_COLUMNS if c in ranking.columns]]


def _epoch_regions(analysis: Analysis, epoch: int | None) -> tuple[int, gpd.GeoDataFrame]:
    """Return the epoch asked for (default: the analysis' ``after``) and its regions."""
    epoch = analysis.epochs[1] if epoch is None else int(epoch)
    if epoch not in analysis.build.regions:
        known = ", ".join(map(str, analysis.build.regions))
        msg = f"epoch {epoch} is not in this analysis; use one of {known}"
        raise DataError(msg)
    return epoch, analysis.build.regions[epoch]


def rank_region_centres(
    analysis: Analysis,
    *,
    region: str,
    epoch: int | None = None,
    min_population: float = DEFAULT_MIN_POPULATION,
) -> CentreRanking:
    """Rank the candidate centres of ``region`` and place its actual centre among them.

    Wraps :func:`analysis.centres.rank_centres` on the analysis settlements: demand
    is every settlement of the region (``region_<epoch>``) weighted by
    ``population_est``; candidates are its settlements with a counted population of
    at least ``min_population``, plus the actual centre (the settlement at the
    region's centre coordinates, see :data:`CENTRE_MATCH_KM`), which
    :func:`analysis.centres.centre_rank_of` then places.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`analysis.pipeline.analyze` (or ``ScenarioResult.analysis``).
    region : str
        Region code (``KZ-NN``) of ``epoch``.
    epoch : int, optional
        Epoch of the regions; default the analysis' ``after`` epoch.
    min_population : float
        Population floor for candidates.

    Raises
    ------
    DataError
        Unknown epoch or region, or a region with no settlement.
    """
    epoch, meta = _region_meta(analysis, region, epoch)
    col = region_col(epoch)
    pts = weighted_settlements(analysis.settlements).reset_index(drop=True)
    cand, pos, how = _region_candidates(pts, meta, col=col, min_population=min_population)
    if not cand.any():
        msg = (
            f"region {region} ({epoch}) has no settlement with a counted population >= "
            f"{min_population:g} to rank; lower --min-population"
        )
        raise DataError(msg)
    enacted_id = str(pts["id"].iloc[pos]) if pos is not None else None
    ranking = _ranking_table(pts, pts[cand], region=region, col=col, enacted_id=enacted_id)
    return _centre_ranking(
        ranking, meta, epoch=epoch, enacted_id=enacted_id, min_population=min_population, match=how
    )


def _region_meta(analysis: Analysis, region: str, epoch: int | None) -> tuple[int, pd.Series]:
    """Return the epoch and the built region's row (name, centre); DataError naming the choices."""
    epoch, regions = _epoch_regions(analysis, epoch)
    regions = regions.set_index("code")
    if region not in regions.index:
        msg = f"region {region} is not a {epoch} region; use one of {', '.join(regions.index)}"
        raise DataError(msg)
    return epoch, regions.loc[region]


def _region_candidates(
    pts: pd.DataFrame, meta: pd.Series, *, col: str, min_population: float
) -> tuple[np.ndarray, int | None, str]:
    """Candidate mask (counted, populous, in the region, plus the actual centre) and that centre."""
    in_region = (pts[col].astype("string") == meta.name).fillna(False).to_numpy(dtype=bool)
    counted = pts["population_basis"].isin(COUNTED_BASES).to_numpy()
    cand = in_region & counted & (pts["population"].to_numpy(dtype="float64") >= min_population)
    pos, how = _match_centre(
        pts,
        lon=float(meta["centre_lon"]),
        lat=float(meta["centre_lat"]),
        name=str(meta["centre_name_en"]),
        region_mask=in_region,
    )
    if pos is not None:
        cand[pos] = True
    return cand, pos, how


def _centre_ranking(
    ranking: pd.DataFrame,
    meta: pd.Series,
    *,
    epoch: int,
    enacted_id: str | None,
    min_population: float,
    match: str,
) -> CentreRanking:
    """Assemble the result: the best candidate and the actual centre's place among them."""
    best_km = float(ranking["pop_weighted_mean_km"].min())
    rank = km = enacted_candidate = None
    if enacted_id is not None:
        rank, gap = centre_rank_of(ranking, enacted_id)
        km = best_km + gap
        enacted_candidate = str(ranking.loc[ranking["is_enacted_centre"], "candidate"].iloc[0])
    best = ranking.iloc[0]
    return CentreRanking(
        region=str(meta.name),
        region_name=str(meta["name_en"]),
        epoch=epoch,
        ranking=ranking,
        enacted_centre=str(meta["centre_name_en"]),
        enacted_id=enacted_id,
        enacted_candidate=enacted_candidate,
        enacted_rank=rank,
        enacted_km=km,
        best_candidate=str(best["candidate"]),
        best_id=str(best["id"]),
        best_km=best_km,
        min_population=float(min_population),
        match=match,
    )


# ------------------------------------------------------------ scenario lab
def _lab_candidates(
    result: WhatIfResult, region: str, *, min_population: float, ids: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate mask of a lab region and the position of its current centre (empty if none)."""
    base, centre = result.base, result.centre(region)
    s = base.settlements
    in_region = np.asarray(result.settlement_region == region, dtype=bool)
    near = np.flatnonzero(
        in_region & (geodesic_km(base.lon, base.lat, centre.lon, centre.lat) <= CENTRE_MATCH_KM)
    )
    # the current centre: the largest settlement within 5 km of its coordinates
    current = near[np.argsort(-np.nan_to_num(base.weight[near], nan=0.0), kind="stable")][:1]
    if ids is not None:
        ids_mask = s["id"].astype(str).isin([str(i) for i in ids]).to_numpy(dtype=bool)
        return in_region & ids_mask, current
    counted = (
        s["population_basis"].isin(COUNTED_BASES).to_numpy(dtype=bool)
        if "population_basis" in s
        else True
    )
    cand = in_region & counted & (np.nan_to_num(base.weight, nan=0.0) >= min_population)
    cand[current] = True
    return cand, current


def candidate_centres(
    result: WhatIfResult,
    region: str,
    *,
    min_population: float = DEFAULT_MIN_POPULATION,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Candidate centres of ``region`` in a scenario, ranked by population-weighted mean distance.

    Candidates are the region's settlements with a counted population (not an
    imputed median) of at least ``min_population``, plus the region's current
    centre when a settlement lies within 5 km of it; or, with ``ids``, those
    settlements of the region (any population, e.g. the hits of a name search).
    Demand is every settlement of the region weighted by ``population_est``
    (:func:`analysis.centres.rank_centres`).

    Returns
    -------
    DataFrame
        ``id``, ``candidate`` (name), ``name_latn``, ``name_en``, ``name_kk``, ``name_ru``,
        ``population``, ``pop_weighted_mean_km``, ``rank``, ``lon``, ``lat`` and
        ``is_current`` (the current centre), sorted by rank.
    """
    base = result.base
    memo = base.memo.setdefault("candidates", {})
    centre = result.centre(region)
    members = frozenset(np.flatnonzero(result.piece_region == region).tolist())
    key = (
        members,
        centre.lon,
        centre.lat,
        float(min_population),
        None if ids is None else tuple(ids),
    )
    if key in memo:
        return memo[key].copy()
    s = base.settlements
    cand, current = _lab_candidates(result, region, min_population=min_population, ids=ids)
    cols = [
        c
        for c in ("id", "name", "name_latn", "name_en", "name_kk", "name_ru", "osm_id")
        if c in s.columns
    ]
    demand = gpd.GeoDataFrame(
        s[cols].reset_index(drop=True),
        geometry=gpd.points_from_xy(base.lon, base.lat),
        crs=WGS84,
    )
    demand["population"] = base.weight
    demand["region"] = result.settlement_region
    if not cand.any():
        table = pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
        memo[key] = table
        return table.copy()
    candidates = demand[cand]
    ranking = rank_centres(demand, region=region, region_col="region", candidates=candidates)
    extra = candidates.set_index("id")[
        [c for c in ("name_latn", "name_en", "name_kk", "name_ru") if c in candidates]
    ]
    extra = extra.assign(lon=candidates.geometry.x.to_numpy(), lat=candidates.geometry.y.to_numpy())
    ranking = ranking.join(extra, on="id")
    current_id = str(s["id"].iloc[current[0]]) if current.size else None
    ranking["is_current"] = ranking["id"].astype(str) == current_id
    table = ranking[[c for c in CANDIDATE_COLUMNS if c in ranking.columns]].reset_index(drop=True)
    memo[key] = table
    return table.copy()


# ----------------------------------------------------------- a group of regions
def best_centres(
    analysis: Analysis,
    *,
    regions: Sequence[str],
    k: int,
    epoch: int | None = None,
    min_population: float = DEFAULT_MIN_POPULATION,
    n_starts: int = 20,
) -> pd.DataFrame:
    """Best ``k`` centres for a group of regions: the p-median of :func:`analysis.pmedian.p_median`.

    Demand is every settlement of the regions weighted by ``population_est``;
    candidates are their settlements with a counted population of at least
    ``min_population``.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`analysis.pipeline.analyze`.
    regions : sequence of str
        Region codes of ``epoch`` (``KZ-NN``).
    k : int
        Number of centres.
    epoch : int, optional
        Epoch of the regions; default the analysis' ``after`` epoch.
    min_population : float
        Counted population a candidate needs.
    n_starts : int
        Starts of the heuristic (used when the instance is too large to enumerate).

    Returns
    -------
    DataFrame
        :func:`~analysis.pmedian.p_median`'s table (one row per chosen centre, with
        its assigned settlements, population and population-weighted mean
        distance) plus ``name_latn``, ``name_en``, ``lon`` and ``lat``; ``attrs`` carries the
        objective and the method.

    Raises
    ------
    DataError
        Unknown epoch or region, or fewer than ``k`` candidates.
    """
    epoch, _ = _epoch_regions(analysis, epoch)
    codes = list(analysis.build.regions[epoch]["code"])
    unknown = [r for r in regions if r not in codes]
    if unknown:
        msg = f"region(s) {', '.join(unknown)} are not {epoch} regions; use codes from {', '.join(codes)}"
        raise DataError(msg)
    col = region_col(epoch)
    pts = weighted_settlements(analysis.settlements).reset_index(drop=True)
    in_group = pts[col].astype("string").isin(list(regions)).fillna(False).to_numpy(dtype=bool)
    counted = pts["population_basis"].isin(COUNTED_BASES).to_numpy(dtype=bool)
    big = pts["population"].to_numpy(dtype="float64") >= min_population
    candidates = pts[in_group & counted & big]
    table = p_median(
        pts,
        k=k,
        candidates=candidates,
        region_col=col,
        regions=list(regions),
        n_starts=n_starts,
    )
    extra = candidates.set_index("id")[
        [c for c in ("name_latn", "name_en") if c in candidates]
    ].assign(lon=candidates.geometry.x.to_numpy(), lat=candidates.geometry.y.to_numpy())
    attrs = dict(table.attrs)
    out = table.join(extra, on="id")
    if "osm_id" in out:
        out["osm_id"] = out["osm_id"].astype("Int64")  # an OSM id, not a float
    out.attrs = attrs
    return out
