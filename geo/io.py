"""Reading and writing vector files; every side effect of the project lives here.

Readers turn library exceptions into one-line :class:`~geo.errors.DataError` messages
that name the file, the problem and the fix. Writers produce RFC 7946 GeoJSON and
write whole output folders atomically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely

from geo.crs import WGS84, require_crs
from geo.errors import DataError


def read_vector(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    required_fields: Iterable[str] = (),
) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, checking that it exists and has the fields.

    Parameters
    ----------
    path : path-like
        Shapefile (``.shp``), GeoPackage, GeoJSON or anything GDAL reads.
    layer : str, optional
        Layer name for multi-layer sources.
    required_fields : iterable of str
        Attribute fields that must be present.

    Raises
    ------
    DataError
        The file is missing, unreadable or truncated, has no CRS, or lacks a field.
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the path or run 'reform-atlas data fetch --dest DIR'"
        raise DataError(msg)
    if path.suffix.lower() == ".shp":
        for ext in (".shx", ".dbf"):
            sidecar = path.with_suffix(ext)
            if not sidecar.exists():
                msg = (
                    f"{sidecar}: missing part of shapefile {path.name}; "
                    "copy all of .shp/.shx/.dbf/.prj or fetch the data again"
                )
                raise DataError(msg)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"{path}: cannot read ({reason}); the file is truncated or not a vector file, fetch it again"
        raise DataError(msg) from err
    except (OSError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"{path}: cannot read ({reason}); the file is truncated or corrupt, fetch it again"
        raise DataError(msg) from err
    _check_geometries_read(gdf, path)
    missing = [f for f in required_fields if f not in gdf.columns]
    if missing:
        msg = (
            f"{path}: missing field(s) {', '.join(missing)}; "
            f"the file has {', '.join(map(str, gdf.columns.drop('geometry', errors='ignore')))}: "
            "use the geokz layer or rename the field"
        )
        raise DataError(msg)
    if gdf.crs is None:
        msg = f"{path}: no CRS (missing .prj); add the .prj file or set a CRS with set_crs(...)"
        raise DataError(msg)
    return gdf


def _check_geometries_read(gdf: gpd.GeoDataFrame, path: Path) -> None:
    if len(gdf) == 0:
        msg = f"{path}: the file has no features; fetch it again or point at the right file"
        raise DataError(msg)
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        msg = (
            f"{path}: {int(empty.sum())} of {len(gdf)} features have no geometry "
            "(truncated or corrupt file?); fetch the file again"
        )
        raise DataError(msg)


def to_geojson_ready(gdf: gpd.GeoDataFrame, *, name: str = "data") -> gpd.GeoDataFrame:
    """Return a copy in WGS 84 lon/lat with list-like and NA values JSON-safe."""
    require_crs(gdf, name=name)
    out = gdf.to_crs(WGS84) if gdf.crs != WGS84 else gdf.copy()
    return out


def rfc7946_geometries(geoms: gpd.GeoSeries, *, precision: int = 6) -> gpd.GeoSeries:
    """Geometries rounded to ``precision`` decimals with RFC 7946 ring orientation.

    Coordinates are snapped to a ``10**-precision`` grid with
    :func:`shapely.set_precision`, which keeps polygons valid and drops parts that
    collapse; then exterior rings become counter-clockwise and holes clockwise
    (:func:`shapely.orient_polygons`).
    """
    arr = shapely.set_precision(geoms.to_numpy(), 10.0**-precision)
    # set_precision can leave float noise such as 84.21919200000001: round it off
    arr = shapely.transform(arr, lambda xy: np.round(xy, precision))
    arr = shapely.orient_polygons(arr, exterior_cw=False)
    return gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)


def geojson_text(gdf: gpd.GeoDataFrame, *, precision: int = 6, name: str = "data") -> str:
    """RFC 7946 GeoJSON text of ``gdf``: WGS 84 lon/lat, CCW exteriors, no ``crs`` member.

    Coordinates and float properties carry at most ``precision`` decimals; missing
    values are ``null``, and so are empty geometries. Serialisation is vectorised
    (pandas' JSON writer for the properties, :func:`shapely.to_geojson` for the
    geometries), about four times faster than ``GeoDataFrame.to_json``.
    """
    if not 0 <= precision <= 15:  # pandas' JSON writer keeps at most 15 decimals
        msg = f"{name}: precision {precision} is not in 0..15 decimals; pass precision=6 (about 0.1 m)"
        raise ValueError(msg)
    out = to_geojson_ready(gdf, name=name)
    geoms = rfc7946_geometries(out.geometry, precision=precision).to_numpy()
    geoms[shapely.is_empty(geoms)] = None
    geometry = shapely.to_geojson(geoms)
    props = pd.DataFrame(out.drop(columns=out.geometry.name))
    properties = (
        _json_records(props, precision=precision) if len(props.columns) else ["{}"] * len(props)
    )
    features = ",\n".join(
        f'{{"type":"Feature","properties":{p},"geometry":{"null" if g is None else g}}}'
        for p, g in zip(properties, geometry, strict=True)
    )
    return f'{{"type":"FeatureCollection","features":[\n{features}\n]}}\n'


def _json_records(frame: pd.DataFrame, *, precision: int) -> list[str]:
    """One JSON object text per row of ``frame`` (pandas' C writer; ``null`` for NA)."""
    if len(frame) == 0:
        return []
    options = {"force_ascii": False, "double_precision": precision, "date_format": "iso"}
    # pandas escapes every "/" as "\/" (valid JSON, but noisy): undo that; a literal
    # backslash is written "\\", so each "\/" here is an escaped slash
    text = frame.to_json(orient="records", **options).replace("\\/", "/")
    # Rows are '{"<first key>":…}' joined by ','. Inside string values every quote
    # is escaped, so '},{"<first key>":' with a bare quote only ever joins two rows.
    probe = pd.DataFrame({frame.columns[0]: [0]}).to_json(orient="records", **options)
    key = probe[2 : probe.rindex(":")].replace("\\/", "/")  # the first key, as written
    rows = text[2 + len(key) + 1 : -2].split(f"}},{{{key}:")
    return [f"{{{key}:{row}}}" for row in rows]


def write_geojson(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, precision: int = 6, name: str = "data"
) -> Path:
    """Write ``gdf`` as RFC 7946 GeoJSON (see :func:`geojson_text`)."""
    path = Path(path)
    path.write_text(geojson_text(gdf, precision=precision, name=name), encoding="utf-8")
    return path


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str) -> Path:
    """Write (or add) ``layer`` to a GeoPackage."""
    path = Path(path)
    require_crs(gdf, name=layer)
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    return path


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as UTF-8 CSV without the index (geometry dropped if present).

    Tables of plain columns (numbers, booleans, text, categories of text; two or
    more, uniquely named) go through Arrow's C++ writer, about six times faster
    than ``DataFrame.to_csv``: floats are written shortest round-trip (``11`` for
    11.0), booleans as ``true``/``false``, text quoted. Anything else is written
    by pandas.
    """
    path = Path(path)
    frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    if _arrow_writable(frame):
        try:
            sink = pa.BufferOutputStream()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(quoting_style="needed"))
        except (pa.ArrowException, ValueError):
            pass  # pandas writes it below
        else:
            path.write_bytes(sink.getvalue().to_pybytes())
            return path
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def _arrow_writable(frame: pd.DataFrame) -> bool:
    """Whether Arrow writes ``frame`` as pandas would read it back.

    One column is excluded: a missing value would be an empty line, which CSV
    readers skip.
    """
    if len(frame.columns) < 2 or not frame.columns.is_unique:
        return False
    if not all(isinstance(c, str) for c in frame.columns):
        return False
    for _, column in frame.items():
        values = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else column
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind not in {"string", "floating", "integer", "mixed-integer-float", "boolean", "empty"}:
            return False
    return True


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary folder whose files land in ``out`` only if the block succeeds.

    Files are written into a hidden sibling folder of ``out``. On success each one
    is moved into ``out`` with :func:`os.replace` (an existing file of the same name
    is replaced; other files already in ``out`` are kept). On any exception the
    temporary folder is removed and ``out`` is left exactly as it was (not even
    created if it did not exist).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"{out}: output path exists and is not a folder; choose another --out"
        raise DataError(msg)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        yield tmp
        created = not out.exists()
        if created:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)
            os.replace(tmp, out)
            return
        for item in sorted(tmp.rglob("*")):
            rel = item.relative_to(tmp)
            target = out / rel
            if item.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(item, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
