"""Optimal regional centres: ranking candidate towns and the p-median problem.

A centre is judged by the population-weighted mean geodesic distance (WGS 84, via
:func:`geo.distance.geodesic_km`) from the settlements it serves. Only settlements
with a known, positive population carry weight; candidates are settlements above a
population floor unless given explicitly.

Functions are pure: inputs are copied, never modified.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, to_lonlat
from geo.distance import geodesic_km
from geo.errors import DataError
from geo.validation import require_columns

__all__ = ["centre_rank_of", "distance_matrix_km", "p_median", "rank_centres"]

#: Default population floor for a settlement to be a candidate centre.
DEFAULT_MIN_POPULATION = 5000.0

#: ``method="auto"`` enumerates every k-subset when ``comb(candidates, k) * k *
#: demand points`` is at most this many distance cells (about a second of work).
EXACT_MAX_CELLS = 50_000_000


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


# ------------------------------------------------------------------------ p-median
def _nearest_two(dist: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, ...]:
    """Position in ``chosen`` of the nearest centre, its distance and the runner-up's."""
    sub = dist[chosen]
    cols = np.arange(sub.shape[1])
    if len(chosen) == 1:
        return np.zeros(sub.shape[1], dtype="int64"), sub[0], np.full(sub.shape[1], np.inf)
    order = np.argpartition(sub, 1, axis=0)
    return order[0], sub[order[0], cols], sub[order[1], cols]


def _greedy(dist: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Greedy addition: each step opens the candidate that lowers the cost most."""
    current = np.full(dist.shape[1], np.inf)
    chosen: list[int] = []
    for _ in range(k):
        costs = (np.minimum(dist, current) * weights).sum(axis=1)
        costs[chosen] = np.inf
        best = int(np.argmin(costs))
        chosen.append(best)
        current = np.minimum(current, dist[best])
    return np.array(chosen, dtype="int64")


def _teitz_bart(
    dist: np.ndarray, weights: np.ndarray, sel: np.ndarray, *, max_iter: int
) -> tuple[np.ndarray, float, int, bool]:
    """Teitz-Bart vertex substitution from the start set ``sel`` (modified copy)."""
    sel = sel.copy()
    n_cand, k = dist.shape[0], sel.size
    near, d1, d2 = _nearest_two(dist, sel)
    cost = float((d1 * weights).sum())
    tol = 1e-12 * max(cost, 1.0)
    passes = 0
    converged = k == n_cand
    while not converged and passes < max_iter:
        passes += 1
        improved = False
        for j in range(n_cand):
            if j in sel:
                continue
            dj = dist[j]
            kept = np.minimum(dj, d1)
            # cost of swapping chosen position p for j: demand served by p falls back
            # to min(dj, runner-up), everyone else to min(dj, nearest)
            extra = np.bincount(near, weights=weights * (np.minimum(dj, d2) - kept), minlength=k)
            swap_cost = float((kept * weights).sum()) + extra
            p = int(np.argmin(swap_cost))
            if swap_cost[p] < cost - tol:
                sel[p] = j
                near, d1, d2 = _nearest_two(dist, sel)
                cost = float((d1 * weights).sum())
                improved = True
        converged = not improved
    return sel, cost, passes, converged


def _solve_p_median(
    dist: np.ndarray,
    weights: np.ndarray,
    *,
    k: int,
    max_iter: int,
    n_starts: int = 1,
    seed: int = 0,
) -> tuple[np.ndarray, float, int, bool]:
    """Best of Teitz-Bart runs from the greedy solution and random starts.

    Parameters
    ----------
    dist : numpy.ndarray
        Candidates × demand points, km.
    weights : numpy.ndarray
        Demand weights (population), positive.
    k : int
        Number of centres.
    max_iter : int
        Maximum number of substitution passes over all candidates, per start.
    n_starts : int
        Starts in all: the greedy solution, then ``n_starts - 1`` random k-subsets.
    seed : int
        Seed of the random starts (results are reproducible).

    Returns
    -------
    chosen : numpy.ndarray
        Row indices of the chosen candidates.
    cost : float
        Weighted sum of distances to the nearest chosen centre.
    passes : int
        Substitution passes run, over all starts.
    converged : bool
        Whether the returned solution's search ended with a pass that found no
        improving swap (a local optimum).
    """
    rng = np.random.default_rng(seed)
    starts = [_greedy(dist, weights, k)]
    n_cand = dist.shape[0]
    if k < n_cand:
        starts += [rng.choice(n_cand, k, replace=False) for _ in range(n_starts - 1)]
    runs = [_teitz_bart(dist, weights, start, max_iter=max_iter) for start in starts]
    best = runs[0]
    for run in runs[1:]:
        if run[1] < best[1] * (1 - 1e-12):  # first of equal-cost solutions wins
            best = run
    return best[0], best[1], sum(run[2] for run in runs), best[3]


def _exact_p_median(
    dist: np.ndarray, weights: np.ndarray, *, k: int, max_cells: int = 4_000_000
) -> tuple[np.ndarray, float]:
    """Optimal k-subset by enumerating every combination, in vectorised batches."""
    n_cand, n_dem = dist.shape
    batch = max(1, max_cells // (k * n_dem))
    combos = itertools.combinations(range(n_cand), k)
    best_sel, best_cost = None, np.inf
    while True:
        block = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(combos, batch)), dtype="int64"
        ).reshape(-1, k)
        if block.size == 0:
            break
        costs = dist[block].min(axis=1) @ weights
        i = int(np.argmin(costs))
        if costs[i] < best_cost:
            best_sel, best_cost = block[i].copy(), float(costs[i])
    return np.asarray(best_sel, dtype="int64"), best_cost


def p_median(
    settlements: gpd.GeoDataFrame,
    *,
    k: int,
    candidates: gpd.GeoDataFrame | None = None,
    region_col: str | None = None,
    regions: Sequence[str] | None = None,
    min_population: float = DEFAULT_MIN_POPULATION,
    max_iter: int = 100,
    n_starts: int = 20,
    seed: int = 0,
    method: Literal["auto", "exact", "heuristic"] = "auto",
) -> pd.DataFrame:
    """Best ``k`` centres for a group of regions, minimising population-weighted distance.

    Small instances are solved exactly, larger ones by a multi-start greedy +
    Teitz-Bart heuristic (see :func:`_choose`).

    Parameters
    ----------
    settlements : GeoDataFrame
        Points with a CRS and a numeric ``population`` (NaN = unknown).
    k : int
        Number of centres, at least 1 and at most the number of candidates.
    candidates : GeoDataFrame, optional
        Candidate points; default: settlements in scope with ``population >= min_population``.
    region_col, regions : str, list of str, optional
        Column of region codes and the codes forming the area to serve (default: all).
    min_population : float
        Population floor for default candidates.
    max_iter, n_starts, seed : int
        Substitution passes per start (a :class:`RuntimeWarning` if the best search did
        not converge), searches in all (greedy, then seeded random k-subsets), seed.
    method : {"auto", "exact", "heuristic"}
        ``"exact"`` enumerates all ``comb(n_candidates, k)`` subsets; ``"auto"`` does so
        when ``comb(n_candidates, k) * k * n_demand <= EXACT_MAX_CELLS``.

    Returns
    -------
    pandas.DataFrame
        One row per chosen centre, largest assigned population first (columns: see
        :func:`_p_median_table`). ``attrs`` holds ``objective_km`` (population-weighted
        mean distance to the nearest chosen centre), ``k``, ``method`` (the one used),
        ``optimal`` (exact method or ``k = 1``), ``passes``, ``n_starts``,
        ``converged``, ``n_candidates`` and ``n_demand``.

    Raises
    ------
    ValueError
        ``k < 1``, ``max_iter < 0``, ``n_starts < 1``, an unknown ``method``, or
        ``regions`` without ``region_col``.
    CRSError
        ``settlements`` or ``candidates`` has no CRS.
    DataError
        No settlement with a known population in scope, no candidates, fewer
        candidates than ``k``, or unknown region codes.
    """
    _check_p_median(
        k=k, method=method, n_starts=n_starts, max_iter=max_iter, regions=regions, region_col=region_col
    )
    scope, demand, cands = _p_median_inputs(
        settlements, candidates, k=k, region_col=region_col, regions=regions, min_population=min_population
    )
    w = demand["population"].to_numpy()
    dist = distance_matrix_km(cands["lon"], cands["lat"], demand["lon"], demand["lat"])
    k = int(k)
    sel, cost, method, passes, converged = _choose(
        dist, w, k=k, method=method, max_iter=max_iter, n_starts=n_starts, seed=seed
    )
    table = _p_median_table(dist, w, sel, cands=cands, scope=scope)
    table.attrs = dict(
        objective_km=float(cost / w.sum()), k=k, method=method,
        optimal=method == "exact" or k == 1, passes=passes, n_starts=n_starts,
        converged=converged, n_candidates=len(cands), n_demand=len(demand),
    )  # fmt: skip
    return table


def _p_median_inputs(
    settlements: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None,
    *,
    k: int,
    region_col: str | None,
    regions: Sequence[str] | str | None,
    min_population: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Settlements in scope, the demand among them and the candidates (at least ``k``)."""
    if isinstance(regions, str):
        regions = [regions]
    pts = _settlement_frame(settlements, region_col=region_col)
    if regions is not None:
        scope = _in_regions(pts, regions, region_col=str(region_col))
        where = f"regions {list(regions)}"
    else:
        scope = pts
        where = "the settlements"
    demand = _demand(scope, where=where)
    cands = _candidates(scope, candidates, min_population=min_population, where=where)
    if len(cands) < k:
        msg = (
            f"p_median: only {len(cands)} candidate(s) for k={k} centres in {where}; "
            "lower k or min_population, or pass more candidates"
        )
        raise DataError(msg)
    return scope, demand, cands


def _choose(
    dist: np.ndarray, w: np.ndarray, *, k: int, method: str, max_iter: int, n_starts: int, seed: int
) -> tuple[np.ndarray, float, str, int, bool]:
    """Solve exactly when small enough (``method="auto"``), else by the heuristic.

    Exact: every k-subset of the candidates is enumerated (vectorised). Heuristic:
    greedy addition (each step opens the candidate that lowers the cost most), then
    Teitz-Bart vertex substitution (swap a chosen centre for an unchosen candidate
    whenever that lowers the cost) until a full pass finds no improving swap. Single
    swaps can stall in a local optimum (from the greedy start alone, 42 of 240 random
    instances with 20 candidates and k = 2-5 missed the optimum; 3 with 10 starts,
    none with 30), so the search is repeated from ``n_starts - 1`` seeded random
    starts and the best result kept. The heuristic is exact for ``k = 1`` but not
    guaranteed optimal otherwise.
    """
    if method == "auto":
        cells = math.comb(dist.shape[0], k) * k * dist.shape[1]
        method = "exact" if cells <= EXACT_MAX_CELLS else "heuristic"
    if method == "exact":
        sel, cost = _exact_p_median(dist, w, k=k)
        return sel, cost, method, 0, True
    sel, cost, passes, converged = _solve_p_median(
        dist, w, k=k, max_iter=max_iter, n_starts=n_starts, seed=seed
    )
    if not converged:
        msg = (
            f"p_median: stopped after max_iter={max_iter} substitution passes without "
            "converging; the centres may not be a local optimum, raise max_iter"
        )
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return sel, cost, method, passes, converged


def _check_p_median(*, k, method, n_starts, max_iter, regions, region_col) -> None:
    if int(k) != k or k < 1:
        msg = f"p_median: k={k!r} must be a positive integer"
        raise ValueError(msg)
    if method not in ("auto", "exact", "heuristic"):
        msg = f"p_median: method={method!r} is not one of 'auto', 'exact', 'heuristic'"
        raise ValueError(msg)
    if n_starts < 1:
        msg = f"p_median: n_starts={n_starts} must be at least 1"
        raise ValueError(msg)
    if max_iter < 0:
        msg = f"p_median: max_iter={max_iter} is negative; pass 0 or more"
        raise ValueError(msg)
    if regions is not None and region_col is None:
        msg = "p_median: regions=... needs region_col=... naming the settlements' region column"
        raise ValueError(msg)


def _p_median_table(
    dist: np.ndarray, w: np.ndarray, sel: np.ndarray, *, cands: pd.DataFrame, scope: pd.DataFrame
) -> pd.DataFrame:
    """One row per chosen centre: the settlements and population it serves, their mean distance.

    Columns: ``candidate``, ``id``, ``osm_id`` and ``region`` (when known),
    ``population``, ``assigned_settlements`` (all settlements in scope nearest to it,
    unknown populations included), ``assigned_population`` and ``pop_weighted_mean_km``
    (of its assigned population).
    """
    near_demand, d_demand, _ = _nearest_two(dist, sel)
    all_dist = distance_matrix_km(
        cands["lon"].to_numpy()[sel], cands["lat"].to_numpy()[sel], scope["lon"], scope["lat"]
    )
    near_all = np.argmin(all_dist, axis=0)
    pop_assigned = np.bincount(near_demand, weights=w, minlength=len(sel))
    km_assigned = np.bincount(near_demand, weights=w * d_demand, minlength=len(sel))
    table = _candidate_table(cands.iloc[sel])
    table["assigned_settlements"] = np.bincount(near_all, minlength=len(sel)).astype("int64")
    table["assigned_population"] = pop_assigned
    with np.errstate(divide="ignore", invalid="ignore"):
        table["pop_weighted_mean_km"] = np.where(
            pop_assigned > 0, km_assigned / np.where(pop_assigned > 0, pop_assigned, 1), np.nan
        )
    return table.sort_values("assigned_population", ascending=False, ignore_index=True)
