"""The p-median problem: the best ``k`` centres for a group of regions.

Centres minimise the population-weighted mean geodesic distance (WGS 84, via
:func:`analysis.centres.distance_matrix_km`) from the settlements they serve, each
settlement served by its nearest centre. Demand and candidates are chosen as for
:func:`analysis.centres.rank_centres`. Small instances are solved exactly, larger ones
by a multi-start greedy + Teitz-Bart heuristic.

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

from analysis.centres import (
    DEFAULT_MIN_POPULATION,
    _candidate_table,
    _candidates,
    _demand,
    _in_regions,
    _settlement_frame,
    distance_matrix_km,
)
from geo.errors import DataError

__all__ = ["EXACT_MAX_CELLS", "p_median"]

#: ``method="auto"`` enumerates every k-subset when ``comb(candidates, k) * k *
#: demand points`` is at most this many distance cells (about a second of work).
EXACT_MAX_CELLS = 50_000_000


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
