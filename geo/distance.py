"""Ellipsoidal distances on WGS 84 with :class:`pyproj.Geod`, vectorised."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pyproj import Geod, Transformer

#: The WGS 84 ellipsoid; every distance measured here is a geodesic on it.
GEOD = Geod(ellps="WGS84")

_TO_ECEF = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)

#: Arrays at least this long are split across threads: ``Geod.inv`` releases the GIL.
#: Only the synthetic 1M-point stage of ``make bench`` reaches this; the real data
#: (about 10,000 settlements) stays on one thread, where a pool would not pay.
PARALLEL_MIN = 100_000


def _inv_km(lo1: np.ndarray, la1: np.ndarray, lo2: np.ndarray, la2: np.ndarray) -> np.ndarray:
    """``GEOD.inv`` distances in km, split across cores for long arrays.

    Each thread writes its slice of one output array (no concatenation).
    """
    n = lo1.size
    out = np.empty(n)
    workers = os.cpu_count() or 1

    def part(ab: tuple[int, int]) -> None:
        a, b = ab
        np.divide(GEOD.inv(lo1[a:b], la1[a:b], lo2[a:b], la2[a:b])[2], 1000.0, out=out[a:b])

    if n < PARALLEL_MIN or workers == 1:
        part((0, n))
    else:
        bounds = np.linspace(0, n, workers + 1).astype(int)
        # a pool per call (well under a millisecond to start), closed on return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geod") as pool:
            list(pool.map(part, itertools.pairwise(bounds)))
    return out


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
    return _inv_km(lo1, la1, lo2, la2).reshape(shape)


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


#: Points at least this many are screened on all cores (the screen releases the GIL
#: in numpy and ``Geod.inv``); the real data (about 10,000 settlements) stays on one.
SCREEN_PARALLEL_MIN = 20_000

#: Grid cell size (degrees) of the cell screen in :func:`nearest_km`, and the most
#: cells it lays out (coarser cells are used for points spread wider).
CELL_DEG = 0.2
MAX_CELLS = 4_000_000


def _cell_screen(
    lon: np.ndarray,
    lat: np.ndarray,
    t_xyz: np.ndarray,
    *,
    tolerance: float,
    step: float | None = None,
    levels: int = 3,
) -> np.ndarray:
    """Find, per point, the one target that can be its nearest, judging whole grid cells.

    Points are binned on a lon/lat grid. For each occupied cell, with centre ``a``
    and chord radius ``R`` (the farthest corner: within a lon/lat rectangle the
    chord from its centre grows towards the corners), every point ``p`` of the
    cell has ``|a - t| - R <= |p - t| <= |a - t| + R`` for any target ``t``
    (triangle inequality in earth-centred space). A target whose lower bound
    exceeds the best upper bound by more than the screen's ``tolerance`` can be
    nearest to no point of the cell; when that rules out all targets but one, the
    cell's points need no further screen. Points left undecided are binned again
    on cells half as wide, ``levels`` times in all (cells near a boundary between
    two targets' territories stay undecided at any size).

    Returns
    -------
    numpy.ndarray of int
        That target's position per point, or -1 where several targets remain.
    """
    lon0, lat0 = lon.min(), lat.min()
    # never more than MAX_CELLS cells over the points' extent (bounded memory)
    cap = float(np.sqrt((np.ptp(lon) + CELL_DEG) * (np.ptp(lat) + CELL_DEG) / MAX_CELLS))
    if step is None:
        step = max(CELL_DEG, cap)
    elif cap >= 2 * step:  # a refinement (the cells before were 2 * step wide) the cap forbids
        return np.full(lon.size, -1, dtype=np.int64)
    else:
        step = max(step, cap)
    ix = ((lon - lon0) / step).astype(np.int64)
    iy = ((lat - lat0) / step).astype(np.int64)
    nx = int(ix.max()) + 1
    cell = iy * nx + ix
    occupied = np.flatnonzero(np.bincount(cell))
    row = occupied // nx
    centre = _ecef(lon0 + (occupied % nx + 0.5) * step, lat0 + (row + 0.5) * step)
    # on an ellipsoid of revolution the centre-to-corner chord depends on the row only
    south = lat0 + np.arange(int(row.max()) + 1) * step
    mid = _ecef(np.full(south.size, step / 2), south + step / 2)
    radius = np.zeros(south.size)
    for dy in (0, 1):
        corner = _ecef(np.zeros(south.size), south + dy * step)
        radius = np.maximum(radius, np.linalg.norm(corner - mid, axis=1))
    radius = radius[row] * 1.01 + 1.0  # margin for the ellipsoid's flattening and rounding
    sole = np.full(occupied.size, -1, dtype=np.int64)
    per = max(1, 4_000_000 // max(1, len(t_xyz)))  # cells per block: bounded memory
    for i in range(0, occupied.size, per):
        c, r = centre[i : i + per], radius[i : i + per, None]
        chord = np.sqrt(
            np.maximum(
                (c**2).sum(axis=1)[:, None] + (t_xyz**2).sum(axis=1)[None, :] - 2.0 * (c @ t_xyz.T),
                0.0,
            )
        )
        upper = (chord + r).min(axis=1)
        # the same margin as the chord screen: candidates within tolerance of the best
        maybe = chord - r <= (upper * (1 + tolerance) + 1.0)[:, None]
        one = maybe.sum(axis=1) == 1
        sole[i : i + per][one] = maybe[one].argmax(axis=1)
    lookup = np.full(int(cell.max()) + 1, -1, dtype=np.int64)
    lookup[occupied] = sole
    out = lookup[cell]
    left = np.flatnonzero(out < 0)
    if levels > 1 and left.size:
        out[left] = _cell_screen(
            lon[left], lat[left], t_xyz, tolerance=tolerance, step=step / 2, levels=levels - 1
        )
    return out


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
    is the exact geodesic minimum. The screen runs first per grid cell
    (:data:`CELL_DEG`): where one target is the only candidate for every point of
    a cell, its points skip the per-point screen.

    Parameters
    ----------
    lon, lat : array-like of float
        Points, degrees.
    target_lon, target_lat : array-like of float
        Targets (e.g. regional centres), degrees.
    chunk : int
        Points handled at once by the per-point screen (bounds memory at
        ``chunk * n_targets`` floats).
    tolerance : float
        Relative chord margin within which candidates are measured exactly.
    known_index, known_km : array-like, optional
        A target already measured for each point (e.g. its own regional centre)
        and that distance; where the screen leaves only that target, the known
        distance is reused instead of measured again.

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
    if idx_ok.size == 0:
        return best, best_km
    sole = _cell_screen(lon[idx_ok], lat[idx_ok], t_xyz, tolerance=tolerance)
    settled = idx_ok[sole >= 0]
    best[settled] = sole[sole >= 0]
    best_km[settled] = _settled_km(settled, best, lon, lat, tlon, tlat, known_i, known_d)
    _screen_points(
        idx_ok[sole < 0], best, best_km, lon, lat, (tlon, tlat, t_xyz),
        chunk=chunk, tolerance=tolerance, known_i=known_i, known_d=known_d,
    )  # fmt: skip
    return best, best_km


def _settled_km(pts, best, lon, lat, tlon, tlat, known_i, known_d) -> np.ndarray:
    """Distance of points settled by the cell screen to their target (a known distance reused)."""
    km = np.empty(pts.size)
    measure = np.ones(pts.size, dtype=bool)
    if known_i is not None:
        measure = known_i[pts] != best[pts]
        km[~measure] = known_d[pts[~measure]]
    m = pts[measure]
    km[measure] = geodesic_km(lon[m], lat[m], tlon[best[m]], tlat[best[m]])
    return km


def _screen_points(
    idx, best, best_km, lon, lat, targets, *, chunk: int, tolerance: float, known_i, known_d
) -> None:
    """Per-point chord screen of the points ``idx`` in chunks, written into ``best``/``best_km``."""
    tlon, tlat, t_xyz = targets
    workers = os.cpu_count() or 1
    size = min(chunk, max(1, -(-idx.size // workers)))
    chunks = [idx[i : i + size] for i in range(0, idx.size, size)]

    def run(sel: np.ndarray) -> None:
        best[sel], best_km[sel] = _nearest_chunk(
            lon[sel], lat[sel], t_xyz, tlon, tlat, tolerance=tolerance,
            known_i=None if known_i is None else known_i[sel],
            known_d=None if known_d is None else known_d[sel],
        )  # fmt: skip

    if len(chunks) > 1 and idx.size >= SCREEN_PARALLEL_MIN:
        # chunks write disjoint rows; a pool per call, closed on return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nearest") as pool:
            list(pool.map(run, chunks))
    else:
        for sel in chunks:
            run(sel)
