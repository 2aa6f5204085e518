"""Read point layers (GeoJSON, GeoPackage, CSV) into validated lon/lat GeoDataFrames.

Nothing here knows about any country: :func:`read_points` accepts any file of
points and either returns every row as a valid point in WGS 84 (EPSG:4326) or
raises :class:`~geo.errors.DataError` with a one-line message naming the file,
the problem and the fix. Rows are never dropped silently.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from geo.crs import WGS84
from geo.errors import DataError, library_reason
from geo.io import (
    DEFAULT_LIMIT,
    MAX_CSV_COLUMNS,
    MAX_CSV_ROWS,
    SizeLimit,
    check_input_file,
    read_input_bytes,
)

#: Accepted longitude / latitude column names (lower case), in order of preference.
LON_NAMES: tuple[str, ...] = ("longitude", "lon", "lng", "long", "x")
LAT_NAMES: tuple[str, ...] = ("latitude", "lat", "y")

#: Accepted names (lower case) of a column holding WKT geometries, in order of preference.
WKT_NAMES: tuple[str, ...] = ("geometry", "wkt", "geom")

#: Suffixes read as delimited text with pandas instead of through GDAL.
CSV_SUFFIXES: frozenset[str] = frozenset({".csv"})

#: How many offending row numbers an error message lists before "…".
MAX_LISTED_ROWS = 5


def read_points(
    path: str | Path, *, layer: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> gpd.GeoDataFrame:
    """Read a file of points into a GeoDataFrame in WGS 84 lon/lat.

    Parameters
    ----------
    path : str or pathlib.Path
        GeoJSON, GeoPackage (or any other vector format GDAL reads through
        pyogrio), or CSV. A CSV needs longitude/latitude columns (``lon``,
        ``lng``, ``long``, ``longitude`` or ``x`` and ``lat``, ``latitude`` or
        ``y``, any case) or a WKT column (``geometry``, ``wkt`` or ``geom``) and
        is taken to be in lon/lat degrees. With both, lon/lat columns win and a
        text column named ``geometry`` is dropped.
    layer : str, optional
        Layer to read from a multi-layer source such as a GeoPackage. Without
        it, a source with several layers is read only if exactly one of them
        holds points.
    limit : geo.io.SizeLimit
        Largest file accepted (checked before anything is read); default
        :data:`geo.io.DEFAULT_LIMIT`.

    Returns
    -------
    geopandas.GeoDataFrame
        Every input row, on a fresh RangeIndex, with Point geometries in
        EPSG:4326. Files declaring another CRS are reprojected; single-part
        MultiPoints become Points; CSV attribute columns are kept as text.

    Raises
    ------
    geo.errors.DataError
        If the file is missing, empty or unreadable, has no geometry, has rows
        without a usable geometry, has non-point geometries, or has
        coordinates outside the lon/lat range (e.g. projected metres).
    """
    path = Path(path)
    check_input_file(path, limit=limit, what="points file (GeoJSON, GeoPackage or CSV)")
    if path.suffix.lower() in CSV_SUFFIXES:
        gdf = _read_csv(path, limit)
    else:
        gdf = _read_vector(path, layer)
    gdf = _to_wgs84(gdf, path)
    _check_missing_geometries(gdf, path)
    gdf = _as_points(gdf, path)
    _check_lonlat_range(gdf, path)
    return gdf.reset_index(drop=True)


# --------------------------------------------------------------------------- file level


def _read_vector(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read a GDAL vector source with pyogrio, re-raising its errors as DataError."""
    chosen = _choose_layer(path, layer)
    try:
        data = gpd.read_file(path, layer=chosen, engine="pyogrio")
    except DataLayerError as error:
        msg = f"{path}: cannot read layer {chosen!r} ({library_reason(error)}); check the layer name"
        raise DataError(msg) from error
    except (DataSourceError, RuntimeError, OSError, ValueError) as error:
        msg = (
            f"{path}: unreadable or truncated file ({library_reason(error)}); "
            "re-download or re-export it as valid GeoJSON, GeoPackage or CSV"
        )
        raise DataError(msg) from error
    if len(data) == 0:
        msg = f"{path}: no features (the layer is empty); export the points again"
        raise DataError(msg)
    if not isinstance(data, gpd.GeoDataFrame) or data.geometry.isna().all():
        msg = (
            f"{path}: no geometry found in {len(data)} feature(s); "
            "give every feature a Point geometry (GeoJSON 'geometry') or use a CSV with lon/lat"
        )
        raise DataError(msg)
    return data


#: Formats that hold one layer only (GDAL GeoJSON driver).
SINGLE_LAYER_SUFFIXES = frozenset({".geojson", ".json", ".geojsonl", ".geojsons"})


def _choose_layer(path: Path, layer: str | None) -> str | None:
    """Return the layer to read: ``layer``, the only layer, or the only point layer."""
    if layer is None and path.suffix.lower() in SINGLE_LAYER_SUFFIXES:
        return None  # listing layers would scan the whole file for its geometry type
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, RuntimeError, OSError, ValueError) as error:
        msg = (
            f"{path}: unreadable or truncated file ({library_reason(error)}); "
            "re-download or re-export it as valid GeoJSON, GeoPackage or CSV"
        )
        raise DataError(msg) from error
    names = [str(name) for name in layers[:, 0]]
    if layer is not None:
        if layer not in names:
            msg = f"{path}: no layer {layer!r}; available layers: {', '.join(names)}"
            raise DataError(msg)
        return layer
    if len(names) <= 1:
        return None
    point_layers = [str(n) for n, kind in layers if kind and "point" in str(kind).lower()]
    if len(point_layers) == 1:
        return point_layers[0]
    msg = (
        f"{path}: {len(names)} layers ({', '.join(names[:10])}) and not exactly one of points; "
        "save the points layer alone (e.g. as GeoJSON) and give that file"
    )
    raise DataError(msg)


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, limit: SizeLimit) -> gpd.GeoDataFrame:
    """Read a CSV of lon/lat or WKT columns; every other column stays text."""
    data = read_input_bytes(path, limit=limit, what="CSV of points")
    header = data[: data.find(b"\n")] if b"\n" in data else data
    if header.count(b",") >= MAX_CSV_COLUMNS:
        msg = f"{path}: the header has over {MAX_CSV_COLUMNS} columns; give a CSV with name, lon and lat columns"
        raise DataError(msg)
    try:
        # Only empty cells are missing: a village may well be called "NA" or "None".
        frame = pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""], nrows=MAX_CSV_ROWS + 1
        )
    except pd.errors.EmptyDataError as error:
        msg = f"{path}: CSV has no header and no rows; write a header such as 'name,lon,lat'"
        raise DataError(msg) from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        msg = f"{path}: unreadable CSV ({library_reason(error)}); save it as UTF-8 comma-separated text"
        raise DataError(msg) from error
    if frame.empty:
        msg = f"{path}: CSV has a header but no rows; add at least one point"
        raise DataError(msg)
    if len(frame) > MAX_CSV_ROWS:
        msg = f"{path}: over {MAX_CSV_ROWS:,} rows; split the file or keep only the points needed"
        raise DataError(msg)
    lon_col = _find_column(frame.columns, LON_NAMES)
    lat_col = _find_column(frame.columns, LAT_NAMES)
    if lon_col is not None and lat_col is not None:
        return _csv_from_lonlat(frame, lon_col, lat_col, path)
    wkt_col = _find_column(frame.columns, WKT_NAMES)
    if wkt_col is not None:
        return _csv_from_wkt(frame, wkt_col, path)
    if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
        msg = (
            f"{path}: header {frame.columns[0]!r} is one column; "
            "save the file comma-separated with 'lon' and 'lat' columns"
        )
        raise DataError(msg)
    msg = (
        f"{path}: no coordinate columns among {list(frame.columns)}; "
        "add 'lon' and 'lat' columns in degrees (or a WKT 'geometry' column)"
    )
    raise DataError(msg)


def _find_column(columns: Iterable[str], candidates: Sequence[str]) -> str | None:
    """Return the first column whose lower-cased, stripped name is in ``candidates``."""
    by_name = {str(col).strip().lower(): str(col) for col in columns}
    for candidate in candidates:
        if candidate in by_name:
            return by_name[candidate]
    return None


def _csv_from_lonlat(
    frame: pd.DataFrame, lon_col: str, lat_col: str, path: Path
) -> gpd.GeoDataFrame:
    """Build points from two text columns; unparseable numbers are an error."""
    lon = pd.to_numeric(frame[lon_col].str.strip(), errors="coerce")
    lat = pd.to_numeric(frame[lat_col].str.strip(), errors="coerce")
    text_present = frame[lon_col].notna() & frame[lat_col].notna()
    not_numeric = text_present & (lon.isna() | lat.isna())
    if not_numeric.any():
        msg = (
            f"{path}: {int(not_numeric.sum())} row(s) with non-numeric '{lon_col}'/'{lat_col}' "
            f"({_row_list(not_numeric)}); write decimal degrees such as 76.95"
        )
        raise DataError(msg)
    lon_arr = lon.to_numpy(dtype="float64", na_value=np.nan)
    lat_arr = lat.to_numpy(dtype="float64", na_value=np.nan)
    geoms = shapely.points(lon_arr, lat_arr)
    geoms[np.isnan(lon_arr) | np.isnan(lat_arr)] = None
    # a text column called "geometry" would clash with the point column
    clash = [c for c in frame.columns if str(c).strip().lower() == "geometry"]
    attrs = frame.drop(columns=[lon_col, lat_col, *clash])
    return gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=WGS84)


def _csv_from_wkt(frame: pd.DataFrame, wkt_col: str, path: Path) -> gpd.GeoDataFrame:
    """Build geometries from a WKT text column; unparseable WKT is an error."""
    text = frame[wkt_col]
    geoms = shapely.from_wkt(text.to_numpy(dtype=object, na_value=None), on_invalid="ignore")
    bad = text.notna() & pd.Series(pd.isna(geoms), index=frame.index)
    if bad.any():
        msg = (
            f"{path}: {int(bad.sum())} row(s) with invalid WKT in '{wkt_col}' "
            f"({_row_list(bad)}); write geometries such as 'POINT (76.95 43.24)'"
        )
        raise DataError(msg)
    attrs = frame.drop(columns=[wkt_col])
    return gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=WGS84)


# --------------------------------------------------------------------------- validation


def _row_list(mask: pd.Series | np.ndarray) -> str:
    """Describe the first offending rows of ``mask`` as 1-based row numbers."""
    positions = np.flatnonzero(np.asarray(mask)) + 1
    shown = ", ".join(str(p) for p in positions[:MAX_LISTED_ROWS])
    more = ", …" if positions.size > MAX_LISTED_ROWS else ""
    word = "row" if positions.size == 1 else "rows"
    return f"{word} {shown}{more}, counting data rows from 1"


def _to_wgs84(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 if the file declares another CRS; assume lon/lat otherwise."""
    if gdf.crs is None:
        return gdf.set_crs(WGS84)
    if gdf.crs == WGS84:
        return gdf
    try:
        return gdf.to_crs(WGS84)
    except Exception as error:  # pyproj raises several types for broken CRS definitions
        msg = (
            f"{path}: cannot reproject from {gdf.crs.to_string()} to EPSG:4326 "
            f"({library_reason(error)}); fix the file's CRS or reproject it before loading"
        )
        raise DataError(msg) from error


def _check_missing_geometries(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Raise if any row has a null or empty geometry (or no geometry at all)."""
    geoms = gdf.geometry.to_numpy()
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    if len(gdf) == 0 or missing.all():
        msg = (
            f"{path}: no geometry found in {len(gdf)} row(s); "
            "give every feature a Point geometry or use a CSV with lon/lat columns"
        )
        raise DataError(msg)
    if missing.any():
        msg = (
            f"{path}: {int(missing.sum())} of {len(gdf)} row(s) have no geometry "
            f"({_row_list(missing)}); add their coordinates or delete those rows"
        )
        raise DataError(msg)


def _as_points(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Return a copy whose geometries are 2-D Points (single-part MultiPoints unpacked)."""
    geoms = gdf.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    multi = kinds == shapely.GeometryType.MULTIPOINT
    single_multi = multi & (shapely.get_num_geometries(geoms) == 1)
    wrong = (kinds != shapely.GeometryType.POINT) & ~single_multi
    if wrong.any():
        found = pd.Series(shapely.get_type_id(geoms[wrong])).map(_type_name)
        counts = ", ".join(f"{n} {kind}" for kind, n in found.value_counts().items())
        msg = (
            f"{path}: expected Point geometries but found {counts} ({_row_list(wrong)}); "
            "convert them to points first (e.g. centroids) or use a points layer"
        )
        raise DataError(msg)
    fixed = geoms.copy()
    fixed[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
    fixed = shapely.force_2d(fixed)
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
    return out


def _type_name(type_id: int) -> str:
    """Name of a shapely geometry type id, e.g. ``'Polygon'``."""
    name = shapely.GeometryType(int(type_id)).name
    return {
        "MULTIPOINT": "MultiPoint (several parts)",
        "LINESTRING": "LineString",
        "MULTILINESTRING": "MultiLineString",
        "LINEARRING": "LinearRing",
        "MULTIPOLYGON": "MultiPolygon",
        "GEOMETRYCOLLECTION": "GeometryCollection",
    }.get(name, name.title())


def _check_lonlat_range(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Raise if coordinates are not finite lon/lat degrees."""
    lon = gdf.geometry.x.to_numpy()
    lat = gdf.geometry.y.to_numpy()
    not_finite = ~(np.isfinite(lon) & np.isfinite(lat))
    if not_finite.any():
        msg = (
            f"{path}: {int(not_finite.sum())} row(s) with non-finite coordinates "
            f"({_row_list(not_finite)}); give them real lon/lat values"
        )
        raise DataError(msg)
    outside = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if outside.any():
        msg = (
            f"{path}: {int(outside.sum())} of {len(gdf)} point(s) lie outside lon ±180 / "
            f"lat ±90 ({_row_list(outside)}, e.g. x={lon[outside][0]:.6g} y={lat[outside][0]:.6g})"
            "; looks like projected metres; reproject to EPSG:4326 or give the file a CRS"
        )
        raise DataError(msg)
