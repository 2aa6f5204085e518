"""Ellipsoidal distances on WGS 84 with :class:`pyproj.Geod`, vectorised."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from pyproj import Geod, Transformer

#: The WGS 84 ellipsoid; every distance in Reform Atlas is a geodesic on it.
GEOD = Geod(ellps="WGS84")

_TO_ECEF = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)

#: Arrays at least this long are split across threads: ``Geod.inv`` releases the GIL.
PARALLEL_MIN = 100_000


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="geod")


def _inv_m(lo1: np.ndarray, la1: np.ndarray, lo2: np.ndarray, la2: np.ndarray) -> np.ndarray:
    """``GEOD.inv`` distances in metres, split across cores for long arrays."""
    n = lo1.size
    workers = os.cpu_count() or 1
    if n < PARALLEL_MIN or workers == 1:
        return np.asarray(GEOD.inv(lo1, la1, lo2, la2)[2])
    bounds = np.linspace(0, n, workers + 1).astype(int)
    parts = _pool().map(
        lambda ab: GEOD.inv(
            lo1[ab[0] : ab[1]], la1[ab[0] : ab[1]], lo2[ab[0] : ab[1]], la2[ab[0] : ab[1]]
        )[2],
        itertools.pairwise(bounds),
    )
    return np.concatenate([np.asarray(p) for p in parts])


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in km between point pairs on the WGS 84 ellipsoid.

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : array-like of float
        Degrees; arrays broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Distance in kilometres (NaN where any input is NaN).
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype="float64") for v in (lon1, lat1, lon2, lat2))
    )
    shape = arrays[0].shape
    lo1, la1, lo2, la2 = (np.ascontiguousarray(a).ravel() for a in arrays)
    if lo1.size == 0:
        return np.zeros(shape)
    return (_inv_m(lo1, la1, lo2, la2) / 1000.0).reshape(shape)


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y, z = _TO_ECEF.transform(lon, lat, np.zeros_like(lon))
    return np.column_stack([x, y, z])


def _nearest_chunk(
    lon: np.ndarray,
    lat: np.ndarray,
    t_xyz: np.ndarray,
    tlon: np.ndarray,
    tlat: np.ndarray,
    *,
    tolerance: float,
    known_i: np.ndarray | None,
    known_d: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest target for one chunk of points (single thread; see :func:`nearest_km`)."""
    p_xyz = _ecef(lon, lat)
    # |p - t|² = |p|² + |t|² - 2 p·t: one matrix product for all pairs; squared
    # chords are compared directly, so no square root of the whole matrix
    d2 = (p_xyz**2).sum(axis=1)[:, None] + (t_xyz**2).sum(axis=1)[None, :] - 2.0 * (p_xyz @ t_xyz.T)
    arg = d2.argmin(axis=1)
    rows = np.arange(lon.size)
    cmin = np.sqrt(np.maximum(d2[rows, arg], 0.0))
    limit = (cmin * (1 + tolerance) + 1.0) ** 2
    cand = d2 <= limit[:, None]
    lone = cand.sum(axis=1) == 1
    km = np.full(lon.size, np.nan)
    if known_i is not None:
        reuse = lone & (known_i == arg)
        km[reuse] = known_d[reuse]
    todo = lone & np.isnan(km)
    km[todo] = _inv_serial_km(lon[todo], lat[todo], tlon[arg[todo]], tlat[arg[todo]])
    # several targets nearly equidistant by chord: measure them all exactly
    many = np.flatnonzero(~lone)
    if many.size:
        r, c = np.nonzero(cand[many])
        exact = _inv_serial_km(lon[many][r], lat[many][r], tlon[c], tlat[c])
        order = np.lexsort((exact, r))
        first = np.r_[True, r[order][1:] != r[order][:-1]]
        arg[many[r[order][first]]] = c[order][first]
        km[many[r[order][first]]] = exact[order][first]
    return arg, km


def _inv_serial_km(lo1, la1, lo2, la2) -> np.ndarray:
    if len(lo1) == 0:
        return np.zeros(0)
    return np.asarray(GEOD.inv(lo1, la1, lo2, la2)[2]) / 1000.0


def nearest_km(
    lon,
    lat,
    target_lon,
    target_lat,
    *,
    chunk: int = 200_000,
    tolerance: float = 0.01,
    known_index=None,
    known_km=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest target of each point by geodesic distance, and that distance in km.

    Candidates are screened by the straight-line (chord) distance between
    earth-centred coordinates, which orders points on the ellipsoid almost exactly
    as the geodesic does; every target whose chord is within ``tolerance``
    (relative) of the shortest is then measured with :data:`GEOD`, so the answer
    is the exact geodesic minimum.

    Parameters
    ----------
    lon, lat : array-like of float
        Points, degrees.
    target_lon, target_lat : array-like of float
        Targets (e.g. regional centres), degrees.
    chunk : int
        Points handled at once (bounds memory at ``chunk * n_targets`` floats).
    tolerance : float
        Relative chord margin within which candidates are measured exactly.
    known_index, known_km : array-like, optional
        A target already measured for each point (e.g. its own regional centre)
        and that distance; where the chord screen leaves only that target, the
        known distance is reused instead of measured again. A point closer to its
        known target than half the distance from that target to the nearest other
        target needs no screen at all (triangle inequality: no target is nearer).

    Returns
    -------
    index : numpy.ndarray of int
        Position of the nearest target (-1 where the point is NaN).
    distance_km : numpy.ndarray of float
        Geodesic distance to it in km (NaN where the point is NaN).
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    tlon = np.asarray(target_lon, dtype="float64")
    tlat = np.asarray(target_lat, dtype="float64")
    n = lon.size
    best = np.full(n, -1, dtype="int64")
    best_km = np.full(n, np.nan)
    if n == 0 or tlon.size == 0:
        return best, best_km
    t_xyz = _ecef(tlon, tlat)
    known_i = None if known_index is None else np.asarray(known_index)
    known_d = None if known_km is None else np.asarray(known_km, dtype="float64")
    idx_ok = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    if known_i is not None and tlon.size > 1:
        # Triangle inequality: a point within half the distance from its known target
        # to that target's nearest other target has no nearer target; keep it as is.
        pair = geodesic_km(tlon[:, None], tlat[:, None], tlon[None, :], tlat[None, :])
        np.fill_diagonal(pair, np.inf)
        radius = pair.min(axis=1) / 2.0
        ki = known_i[idx_ok]
        safe = (ki >= 0) & (known_d[idx_ok] <= radius[np.maximum(ki, 0)])
        best[idx_ok[safe]] = ki[safe]
        best_km[idx_ok[safe]] = known_d[idx_ok[safe]]
        idx_ok = idx_ok[~safe]
    workers = os.cpu_count() or 1
    size = min(chunk, max(1, -(-idx_ok.size // workers)))
    chunks = [idx_ok[i : i + size] for i in range(0, idx_ok.size, size)]

    def run(sel: np.ndarray) -> None:
        arg, km = _nearest_chunk(
            lon[sel],
            lat[sel],
            t_xyz,
            tlon,
            tlat,
            tolerance=tolerance,
            known_i=None if known_i is None else known_i[sel],
            known_d=None if known_d is None else known_d[sel],
        )
        best[sel], best_km[sel] = arg, km

    if len(chunks) > 1 and idx_ok.size >= PARALLEL_MIN:
        list(_pool().map(run, chunks))  # chunks write disjoint rows
    else:
        for sel in chunks:
            run(sel)
    return best, best_km
