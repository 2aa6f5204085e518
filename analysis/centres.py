"""Regional centres: ranking candidate towns (the p-median problem: :mod:`analysis.pmedian`).

A centre is judged by the population-weighted mean geodesic distance (WGS 84, via
:func:`geo.distance.geodesic_km`) from the settlements it serves. Only settlements
with a known, positive population carry weight; candidates are settlements above a
population floor unless given explicitly.

Functions are pure: inputs are copied, never modified.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, to_lonlat
from geo.distance import geodesic_km
from geo.errors import DataError
from geo.validation import require_columns

__all__ = ["centre_rank_of", "distance_matrix_km", "rank_centres"]

#: Default population floor for a settlement to be a candidate centre.
DEFAULT_MIN_POPULATION = 5000.0


def distance_matrix_km(lon_a, lat_a, lon_b, lat_b, *, max_cells: int = 4_000_000) -> np.ndarray:
    """Geodesic distances (km) between every point of ``a`` and every point of ``b``.

    Rows of ``a`` are processed in chunks so that at most about ``max_cells``
    distances are computed by one :func:`geodesic_km` call.

    Parameters
    ----------
    lon_a, lat_a : array-like of float
        First set of points (rows), degrees.
    lon_b, lat_b : array-like of float
        Second set of points (columns), degrees.
    max_cells : int
        Upper bound on the cells computed at once (memory bound of the temporaries).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(a), len(b))``.
    """
    lon_a = np.asarray(lon_a, dtype="float64")
    lat_a = np.asarray(lat_a, dtype="float64")
    lon_b = np.asarray(lon_b, dtype="float64")
    lat_b = np.asarray(lat_b, dtype="float64")
    out = np.empty((lon_a.size, lon_b.size))
    if out.size == 0:
        return out
    step = max(1, int(max_cells) // lon_b.size)
    for start in range(0, lon_a.size, step):
        rows = slice(start, start + step)
        out[rows] = geodesic_km(
            lon_a[rows, None], lat_a[rows, None], lon_b[None, :], lat_b[None, :]
        )
    return out


# ------------------------------------------------------------------ input handling
def _settlement_frame(
    settlements: gpd.GeoDataFrame,
    *,
    region_col: str | None,
    name: str = "settlements",
    require_population: bool = True,
) -> pd.DataFrame:
    """Return settlements as a plain table: lon, lat, population (float), region.

    Without a ``population`` column (allowed only if ``require_population`` is
    false) the population is NaN. ``id``, ``name`` and ``osm_id`` are carried over
    when present.
    """
    if not isinstance(settlements, gpd.GeoDataFrame):
        msg = (
            f"{name}: expected a GeoDataFrame, got {type(settlements).__name__}; "
            "wrap it in gpd.GeoDataFrame(...)"
        )
        raise DataError(msg)
    require_crs(settlements, name=name)
    has_population = "population" in settlements.columns
    required = (["population"] if require_population else []) + (
        [region_col] if region_col is not None else []
    )
    require_columns(settlements, required, name=name)
    geoms = to_lonlat(settlements.geometry, name=name, copy=False)
    arr = geoms.to_numpy()
    bad = shapely.is_missing(arr) | shapely.is_empty(arr) | (shapely.get_type_id(arr) != 0)
    if bad.any():
        msg = (
            f"{name}: {int(bad.sum())} geometr(y/ies) are missing, empty or not points "
            f"(index {list(geoms.index[bad][:5])}); keep points only, "
            "e.g. settlements[settlements.geom_type == 'Point']"
        )
        raise DataError(msg)
    try:
        pop = (
            pd.to_numeric(settlements["population"], errors="raise").astype("float64")
            if has_population
            else pd.Series(np.nan, index=settlements.index, dtype="float64")
        )
    except (TypeError, ValueError) as exc:
        msg = (
            f"{name}: column 'population' is not numeric ({exc}); convert it with "
            "pd.to_numeric(settlements['population'], errors='coerce')"
        )
        raise DataError(msg) from exc
    if (pop < 0).any():
        msg = f"{name}: column 'population' has negative values; use NaN for unknown populations"
        raise DataError(msg)
    out = pd.DataFrame(
        {"lon": geoms.x.to_numpy(), "lat": geoms.y.to_numpy(), "population": pop.to_numpy()},
        index=settlements.index,
    )
    if region_col is not None:
        out["region"] = settlements[region_col].to_numpy()
    for col in ("id", "name", "osm_id"):
        if col in settlements.columns:
            out[col] = settlements[col].to_numpy()
    return out


def _in_regions(pts: pd.DataFrame, codes: Sequence[str], *, region_col: str) -> pd.DataFrame:
    region = pts["region"].astype("string")
    wanted = [str(c) for c in codes]
    missing = sorted(set(wanted) - set(region.dropna()))
    if missing:
        present = sorted(set(region.dropna()))[:5]
        msg = (
            f"settlements: no settlement has {region_col!r} equal to {missing}; "
            f"check the region code (present codes include {present})"
        )
        raise DataError(msg)
    return pts[region.isin(wanted).fillna(False).to_numpy(dtype=bool)]


def _demand(pts: pd.DataFrame, *, where: str) -> pd.DataFrame:
    demand = pts[pts["population"].gt(0).to_numpy(dtype=bool)]
    if demand.empty:
        msg = (
            f"settlements: {where} has no settlement with a known positive population; "
            "fill the 'population' column or choose another region"
        )
        raise DataError(msg)
    return demand


def _candidates(
    scope: pd.DataFrame,
    candidates: gpd.GeoDataFrame | None,
    *,
    min_population: float,
    where: str,
) -> pd.DataFrame:
    if candidates is None:
        cands = scope[scope["population"].ge(min_population).to_numpy(dtype=bool)].copy()
        if cands.empty:
            msg = (
                f"settlements: {where} has no settlement with population >= "
                f"{min_population:g} to serve as a candidate centre; lower min_population "
                "or pass candidates=..."
            )
            raise DataError(msg)
    else:
        cands = _settlement_frame(
            candidates, region_col=None, name="candidates", require_population=False
        )
        if cands.empty:
            msg = "candidates: the GeoDataFrame is empty; pass at least one candidate point"
            raise DataError(msg)
    if "id" not in cands.columns:
        cands["id"] = [str(i) for i in cands.index]
    if "name" not in cands.columns:
        cands["name"] = cands["id"].astype(str)
    return cands


def _candidate_table(cands: pd.DataFrame) -> pd.DataFrame:
    cols = {"candidate": cands["name"].to_numpy(), "id": cands["id"].to_numpy()}
    if "osm_id" in cands.columns:
        cols["osm_id"] = cands["osm_id"].to_numpy()
    if "region" in cands.columns:
        cols["region"] = cands["region"].to_numpy()
    cols["population"] = cands["population"].to_numpy()
    return pd.DataFrame(cols)


# ------------------------------------------------------------------------- ranking
def rank_centres(
    settlements: gpd.GeoDataFrame,
    *,
    region: str,
    region_col: str,
    candidates: gpd.GeoDataFrame | None = None,
    min_population: float = DEFAULT_MIN_POPULATION,
) -> pd.DataFrame:
    """Rank candidate centres of one region by population-weighted mean distance.

    Parameters
    ----------
    settlements : GeoDataFrame
        Points with a CRS, a numeric ``population`` (NaN = unknown) and the region
        column; ``id``, ``name`` and ``osm_id`` are reported when present.
    region : str
        Code of the region, as found in ``settlements[region_col]``.
    region_col : str
        Column of ``settlements`` holding each settlement's region code.
    candidates : GeoDataFrame, optional
        Candidate points (any CRS; ``name``, ``id``, ``osm_id``, ``population``
        used when present). Default: the region's settlements with
        ``population >= min_population``.
    min_population : float
        Population floor for default candidates.

    Returns
    -------
    pandas.DataFrame
        One row per candidate sorted by ``rank``, columns ``candidate`` (name),
        ``id``, ``osm_id`` (if present), ``population``, ``pop_weighted_mean_km``
        (population-weighted mean geodesic distance from the region's settlements
        with known population) and ``rank`` (1 = best; ties share the lower rank).

    Raises
    ------
    CRSError
        ``settlements`` or ``candidates`` has no CRS.
    DataError
        Unknown region, no settlement with a known population in it, or no
        candidate.
    """
    pts = _settlement_frame(settlements, region_col=region_col)
    scope = _in_regions(pts, [region], region_col=region_col)
    where = f"region {region!r}"
    demand = _demand(scope, where=where)
    cands = _candidates(scope, candidates, min_population=min_population, where=where)
    w = demand["population"].to_numpy()
    dist = distance_matrix_km(cands["lon"], cands["lat"], demand["lon"], demand["lat"])
    table = _candidate_table(cands).drop(columns="region", errors="ignore")
    table["pop_weighted_mean_km"] = dist @ w / w.sum()
    table["rank"] = table["pop_weighted_mean_km"].rank(method="min").astype("int64")
    return table.sort_values(["rank", "candidate"], kind="stable", ignore_index=True)


def centre_rank_of(ranking: pd.DataFrame, name_or_id: str | int) -> tuple[int, float]:
    """Rank of one candidate in a :func:`rank_centres` table and its gap to the best.

    The candidate is looked up by ``id``, then ``osm_id``, then by name (case
    insensitive).

    Parameters
    ----------
    ranking : pandas.DataFrame
        Output of :func:`rank_centres`.
    name_or_id : str or int
        Id, OSM id or name of the candidate (e.g. the enacted centre).

    Returns
    -------
    rank : int
        Its rank (1 = best).
    km_behind_best : float
        How many km its population-weighted mean distance exceeds the best one's.

    Raises
    ------
    DataError
        No candidate matches, or a name matches several candidates.
    """
    key = str(name_or_id)
    for col in ("id", "osm_id", "candidate"):
        if col not in ranking.columns:
            continue
        values = ranking[col].astype("string")
        if col == "candidate":
            hit = values.str.casefold() == key.casefold()
        else:
            hit = values == key
        hit = hit.fillna(False).to_numpy(dtype=bool)
        if hit.sum() > 1:
            ids = list(ranking.loc[hit, "id"])
            msg = (
                f"ranking: {name_or_id!r} matches {int(hit.sum())} candidates (ids {ids}); "
                "pass the id instead of the name"
            )
            raise DataError(msg)
        if hit.sum() == 1:
            row = ranking[hit].iloc[0]
            gap = row["pop_weighted_mean_km"] - ranking["pop_weighted_mean_km"].min()
            return int(row["rank"]), float(gap)
    msg = (
        f"ranking: {name_or_id!r} is not among the {len(ranking)} candidates; pass it in "
        "rank_centres(..., candidates=...) or lower min_population"
    )
    raise DataError(msg)
