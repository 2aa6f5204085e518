"""Merging gazetteers: add to one settlements frame the places of another it lacks.

A place of the second gazetteer is "present" in the first when a place of the
first lies within a radius and shares a name :func:`inputs.names.skeleton`
with it (the same name in any script or romanisation).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, to_lonlat
from geo.distance import geodesic_km
from geo.errors import DataError
from inputs.names import ALT_NAMES, NAME_FIELDS, name_skeletons
from inputs.settlements import conform_settlements

#: Lower bounds of the length of one degree on the WGS 84 ellipsoid, km (with margin):
#: a meridian degree is ≥ 110.57 km; a parallel degree is ≥ 111.32 km × cos(lat).
_KM_PER_DEG_LAT = 110.0
_KM_PER_DEG_LON_EQUATOR = 111.0


def merge_gazetteers(
    primary: gpd.GeoDataFrame,
    secondary: gpd.GeoDataFrame,
    *,
    radius_km: float = 10.0,
) -> gpd.GeoDataFrame:
    """Add to ``primary`` the ``secondary`` places it lacks.

    A secondary place is considered present when some primary place lies within
    ``radius_km`` and shares a name :func:`skeleton` with it (see
    :func:`match_gazetteers`). The names of a present secondary place are
    appended to the ``alt_names`` of its nearest matching primary place, so
    that searches by those names (e.g. GeoNames' "Issyk" for Есік) find it.

    Parameters
    ----------
    primary, secondary : geopandas.GeoDataFrame
        Frames in the module schema (any CRS; compared in lon/lat). Not modified.
    radius_km : float
        Search radius in km (> 0).

    Returns
    -------
    geopandas.GeoDataFrame
        All primary rows then the added secondary rows, on a fresh RangeIndex,
        in EPSG:4326. Added rows keep their ``source``, ``id``, ``population``
        and ``population_status`` ("tagged" when they bring a population,
        else "missing" or "unparsed"). Column ``merged_from`` is
        ``"primary"`` or ``"secondary"``.

    Raises
    ------
    geo.errors.DataError
        If ``radius_km`` is not positive, a frame lacks ``id`` or the
        result would hold repeated ids.
    geo.errors.CRSError
        If a frame has no CRS.
    """
    radius = _check_radius(radius_km)
    first = _prepared(primary, "primary")
    second = _prepared(secondary, "secondary")
    target = _nearest_matches(second, first, radius)[0]
    first = _with_alt_names(first, second, target)
    merged = pd.concat(
        [
            first.assign(merged_from="primary"),
            second.loc[target < 0].assign(merged_from="secondary"),
        ],
        ignore_index=True,
    )
    merged["merged_from"] = merged["merged_from"].astype("string")
    repeated = merged.loc[merged["id"].duplicated(), "id"]
    if not repeated.empty:
        msg = (
            f"merge_gazetteers: ids {', '.join(repeated.head(5))} occur in both gazetteers; "
            "load them from different sources so their id prefixes differ"
        )
        raise DataError(msg)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=WGS84)


def match_gazetteers(
    primary: gpd.GeoDataFrame,
    secondary: gpd.GeoDataFrame,
    *,
    radius_km: float = 10.0,
) -> pd.DataFrame:
    """Find, for each secondary place, the nearest same-named primary place.

    Candidates within ``radius_km`` are found with an STR-tree on lon/lat
    boxes guaranteed to contain the radius, then measured with
    :func:`geo.distance.geodesic_km`; a candidate matches when the two places
    share any name :func:`skeleton` (over ``name``, ``name_en``, ``name_kk``,
    ``name_ru`` and ``alt_names``).

    Parameters
    ----------
    primary, secondary : geopandas.GeoDataFrame
        Frames in the module schema with an ``id`` column. Not modified.
    radius_km : float
        Search radius in km (> 0).

    Returns
    -------
    pandas.DataFrame
        One row per secondary place, in its order: ``secondary_id``,
        ``primary_id`` (``<NA>`` when there is no match) and ``distance_km``
        (NaN when there is no match).
    """
    radius = _check_radius(radius_km)
    first = _prepared(primary, "primary")
    second = _prepared(secondary, "secondary")
    target, km = _nearest_matches(second, first, radius)
    primary_ids = first["id"].to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(
        {
            "secondary_id": second["id"].astype("string"),
            "primary_id": pd.array(
                [primary_ids[j] if j >= 0 else None for j in target], dtype="string"
            ),
            "distance_km": km,
        }
    )


def _check_radius(radius_km: float) -> float:
    """Return ``radius_km`` as a float, or raise DataError unless it is finite and > 0."""
    try:
        radius = float(radius_km)
    except (TypeError, ValueError):
        radius = math.nan
    if not (math.isfinite(radius) and radius > 0):
        msg = f"merge_gazetteers: radius_km must be a positive number of km, got {radius_km!r}"
        raise DataError(msg)
    return radius


def _prepared(gdf: gpd.GeoDataFrame, role: str) -> gpd.GeoDataFrame:
    """Return a schema-conforming lon/lat copy of ``gdf`` (checks the CRS and ``id``)."""
    if "id" not in gdf.columns:
        msg = f"merge_gazetteers: {role} has no 'id' column; load it with a settlements loader"
        raise DataError(msg)
    lonlat = to_lonlat(gdf, name=role)
    frame = pd.DataFrame(lonlat.drop(columns=lonlat.geometry.name))
    return conform_settlements(
        frame.drop(columns=["merged_from"], errors="ignore"), lonlat.geometry
    )


def _nearest_matches(
    secondary: gpd.GeoDataFrame, primary: gpd.GeoDataFrame, radius_km: float
) -> tuple[np.ndarray, np.ndarray]:
    """Position of the nearest same-named primary place of each secondary place (-1: none).

    Returns the positions and the geodesic distances in km (NaN where none).
    """
    target = np.full(len(secondary), -1, dtype="int64")
    best_km = np.full(len(secondary), np.nan)
    sec_idx, prim_idx, km = _pairs_within(secondary.geometry, primary.geometry, radius_km)
    sec_names = name_skeletons(secondary).to_numpy()
    prim_names = name_skeletons(primary).to_numpy()
    for k in np.argsort(km, kind="stable"):
        i, j = sec_idx[k], prim_idx[k]
        if target[i] < 0 and sec_names[i] & prim_names[j]:
            target[i], best_km[i] = j, km[k]
    return target, best_km


def _with_alt_names(
    primary: gpd.GeoDataFrame, secondary: gpd.GeoDataFrame, target: np.ndarray
) -> gpd.GeoDataFrame:
    """Copy of ``primary`` whose ``alt_names`` also hold the names of matched secondary rows."""
    extra: dict[int, list[str]] = {}
    fields = [c for c in (*NAME_FIELDS, ALT_NAMES) if c in secondary.columns]
    columns = [secondary[field].to_numpy(dtype=object) for field in fields]  # once, not per row
    for i in np.flatnonzero(target >= 0):
        for column in columns:
            value = column[i]
            if not pd.isna(value):
                extra.setdefault(int(target[i]), []).extend(str(value).split("|"))
    out = primary.copy()
    current = (
        out[ALT_NAMES].astype("string")
        if ALT_NAMES in out.columns
        else pd.Series(pd.NA, index=out.index, dtype="string")
    )
    values = current.to_numpy(dtype=object, na_value=None)
    for j, names in extra.items():
        own = values[j].split("|") if values[j] else []
        values[j] = "|".join(dict.fromkeys(n for n in (*own, *names) if n.strip()))
    out[ALT_NAMES] = pd.array(values, dtype="string")
    return out


def _pairs_within(
    points: gpd.GeoSeries, targets: gpd.GeoSeries, radius_km: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j, km)`` with ``points[i]`` within ``radius_km`` of ``targets[j]``.

    Both series are lon/lat. Each point's query box spans at least
    ``radius_km`` in every direction (wider towards the poles; split across
    the antimeridian), so the STR-tree returns a superset that the geodesic
    distance then filters exactly.
    """
    lon = points.x.to_numpy()
    lat = points.y.to_numpy()
    dlat = radius_km / _KM_PER_DEG_LAT
    top = np.minimum(np.abs(lat) + dlat, 90.0)
    cos_top = np.cos(np.radians(top))
    with np.errstate(divide="ignore"):
        dlon = np.where(cos_top > 1e-9, radius_km / (_KM_PER_DEG_LON_EQUATOR * cos_top), 360.0)
    dlon = np.minimum(dlon, 180.0)
    owners, boxes = [], []
    for shift in (-360.0, 0.0, 360.0):
        west, east = lon - dlon + shift, lon + dlon + shift
        keep = (east >= -180.0) & (west <= 180.0)
        owners.append(np.flatnonzero(keep))
        boxes.append(shapely.box(west[keep], lat[keep] - dlat, east[keep], lat[keep] + dlat))
    owner = np.concatenate(owners)
    tree = shapely.STRtree(targets.to_numpy())
    box_idx, target_idx = tree.query(np.concatenate(boxes), predicate="intersects")
    sec_idx = owner[box_idx]
    pairs = np.unique(np.column_stack([sec_idx, target_idx]), axis=0)
    if pairs.size == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int), np.empty(0)
    tx = targets.x.to_numpy()
    ty = targets.y.to_numpy()
    km = geodesic_km(lon[pairs[:, 0]], lat[pairs[:, 0]], tx[pairs[:, 1]], ty[pairs[:, 1]])
    close = km <= radius_km
    return pairs[close, 0], pairs[close, 1], km[close]
