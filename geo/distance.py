"""Ellipsoidal distances on WGS 84 with :class:`pyproj.Geod`, vectorised."""

from __future__ import annotations

import numpy as np
from pyproj import Geod, Transformer

#: The WGS 84 ellipsoid; every distance in Reform Atlas is a geodesic on it.
GEOD = Geod(ellps="WGS84")

_TO_ECEF = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)


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
    lo1, la1, lo2, la2 = (np.ascontiguousarray(a) for a in arrays)
    if lo1.size == 0:
        return np.zeros(lo1.shape)
    _, _, dist_m = GEOD.inv(lo1, la1, lo2, la2)
    return np.asarray(dist_m) / 1000.0


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y, z = _TO_ECEF.transform(lon, lat, np.zeros_like(lon))
    return np.column_stack([x, y, z])


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
        known distance is reused instead of measured again.

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
    ok = ~(np.isnan(lon) | np.isnan(lat))
    idx_ok = np.flatnonzero(ok)
    for start in range(0, idx_ok.size, chunk):
        sel = idx_ok[start : start + chunk]
        p_xyz = _ecef(lon[sel], lat[sel])
        d2 = (
            (p_xyz[:, None, 0] - t_xyz[None, :, 0]) ** 2
            + (p_xyz[:, None, 1] - t_xyz[None, :, 1]) ** 2
            + (p_xyz[:, None, 2] - t_xyz[None, :, 2]) ** 2
        )
        chord = np.sqrt(d2)
        cmin = chord.min(axis=1)
        cand_rows, cand_cols = np.nonzero(chord <= cmin[:, None] * (1 + tolerance) + 1.0)
        km = np.full(cand_rows.size, np.nan)
        if known_index is not None:
            lone = np.bincount(cand_rows, minlength=sel.size)[cand_rows] == 1
            reuse = lone & (np.asarray(known_index)[sel][cand_rows] == cand_cols)
            km[reuse] = np.asarray(known_km, dtype="float64")[sel][cand_rows[reuse]]
        todo = np.isnan(km)
        km[todo] = geodesic_km(
            lon[sel][cand_rows[todo]], lat[sel][cand_rows[todo]], tlon[cand_cols[todo]], tlat[cand_cols[todo]]
        )
        # per row, keep the candidate with the smallest geodesic distance
        order = np.lexsort((km, cand_rows))
        rows_sorted = cand_rows[order]
        first = np.r_[True, rows_sorted[1:] != rows_sorted[:-1]]
        rows = rows_sorted[first]
        best[sel[rows]] = cand_cols[order][first]
        best_km[sel[rows]] = km[order][first]
    return best, best_km
