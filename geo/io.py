"""Reading and writing vector files; every side effect of the project lives here.

Readers turn library exceptions into one-line :class:`~geo.errors.DataError` messages
that name the file, the problem and the fix. Writers produce RFC 7946 GeoJSON and
write whole output folders atomically.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio
import shapely

from geo.crs import WGS84, require_crs
from geo.errors import DataError, library_reason, os_reason

# --------------------------------------------------------------------------- bounded input

@dataclass(frozen=True)
class SizeLimit:
    """How large one input file may be, and what to tell someone whose file is larger.

    The caller decides both: geo knows no kinds of input, settings or commands.

    Attributes
    ----------
    max_bytes : int
        Largest size accepted.
    label : str
        What the limit is for, in messages: "over the 1 MB limit for ``label``".
    hint : str
        How to raise the limit, added to the fix ("… or ``hint``"); empty for none.
    """

    max_bytes: int
    label: str = "input files"
    hint: str = ""

    @classmethod
    def megabytes(cls, mb: float, *, label: str = "input files", hint: str = "") -> SizeLimit:
        """Return a limit of ``mb`` MiB (2**20 bytes)."""
        return cls(math.ceil(mb * 2**20), label=label, hint=hint)


#: Limit of the readers when the caller gives none.
DEFAULT_LIMIT = SizeLimit.megabytes(200)
#: Rows read from a CSV of points at most (GeoNames' whole world of places with ≥ 500
#: people is about 200,000).
MAX_CSV_ROWS = 1_000_000
#: Columns a CSV header may have at most.
MAX_CSV_COLUMNS = 1_000
#: Suffixes of text formats: a NUL byte in their first block means binary junk.
TEXT_SUFFIXES = frozenset({".csv", ".toml", ".geojson", ".json", ".txt", ".tsv", ".prj", ".cpg"})
_SNIFF_BYTES = 1 << 16
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_input_file(path: str | os.PathLike, *, limit: SizeLimit, what: str = "file") -> Path:
    """Check that ``path`` is a readable regular file of sensible size and content.

    Nothing is read beyond the first 64 KiB. Raises a one-line
    :class:`~geo.errors.DataError` naming the file when it is missing, a folder, a
    FIFO, a device or a socket, unreadable, empty, larger than ``limit``, or when its
    first block is all NUL bytes (or, for a text format, holds any NUL byte).

    Parameters
    ----------
    path : path-like
        The file to check (symbolic links are followed).
    limit : SizeLimit
        Largest size accepted, with the words for the message.
    what : str
        What the file should be, for the fix in messages (``"reform spec (.toml)"``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with _open_regular(path, what=what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit.max_bytes:
            raise DataError(_too_large(path, limit, what, size=size))
        if size == 0:
            msg = f"{path}: file is empty (0 bytes); re-download or re-export it"
            raise DataError(msg)
        head = _read_head(fh, path)
    if head.count(0) == len(head):
        msg = f"{path}: the file is all NUL (zero) bytes, not data; re-download or re-export it"
        raise DataError(msg)
    if path.suffix.lower() in TEXT_SUFFIXES and b"\0" in head:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte-order mark
            msg = f"{path}: UTF-16 text, not UTF-8; save the {what} as UTF-8"
        else:
            msg = f"{path}: binary data (NUL bytes) in a text file; give a UTF-8 text {what}"
        raise DataError(msg)
    return path


def _too_large(path: Path, limit: SizeLimit, what: str, *, size: int | None = None) -> str:
    hint = f" or {limit.hint}" if limit.hint else ""
    measured = f"{_megabytes(size)} is " if size is not None else ""
    return f"{path}: {measured}over the {_megabytes(limit.max_bytes)} limit for {limit.label}; give a smaller {what}{hint}"


def read_input_bytes(path: str | os.PathLike, *, limit: SizeLimit, what: str = "file") -> bytes:
    """Read a checked input file (:func:`check_input_file`), never more than ``limit``."""
    path = check_input_file(path, limit=limit, what=what)
    with _open_regular(path, what=what) as fh:
        try:
            data = fh.read(limit.max_bytes + 1)
        except OSError as err:
            msg = f"{path}: cannot read ({os_reason(err)}); check the file"
            raise DataError(msg) from err
    if len(data) > limit.max_bytes:  # the file grew after the check
        raise DataError(_too_large(path, limit, what))
    return data


@contextlib.contextmanager
def _open_regular(path: Path, *, what: str) -> Iterator[io.BufferedReader]:
    """Open ``path`` for reading without blocking, only if it is a regular file."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the kind is checked on
        # the open descriptor, so the file cannot be swapped between check and read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        msg = f"{path}: file not found; check the path (give a {what})"
        raise DataError(msg) from None
    except IsADirectoryError:
        msg = f"{path}: is a folder, not a file; give the path of a {what}"
        raise DataError(msg) from None
    except OSError as err:
        msg = f"{path}: cannot open ({os_reason(err)}); give the path of a readable {what}"
        raise DataError(msg) from err
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            msg = f"{path}: is a folder, not a file; give the path of a {what}"
            raise DataError(msg)
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
            msg = f"{path}: is {kind}, not a regular file; give the path of a {what}"
            raise DataError(msg)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def _read_head(fh: io.BufferedReader, path: Path) -> bytes:
    try:
        return fh.read(_SNIFF_BYTES)
    except OSError as err:
        msg = f"{path}: cannot read ({os_reason(err)}); check the file"
        raise DataError(msg) from err


def _megabytes(n: int) -> str:
    """``n`` bytes in MB (2**20 bytes): ``1,024 MB``, ``1 MB``, ``0.00195 MB``."""
    mb = n / 2**20
    return f"{mb:,.0f} MB" if mb >= 100 else f"{mb:.3g} MB"


def read_vector(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    required_fields: Iterable[str] = (),
    limit: SizeLimit = DEFAULT_LIMIT,
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
    limit : SizeLimit
        Largest size of each file (see :func:`check_input_file`; default
        :data:`DEFAULT_LIMIT`); every part of a shapefile is checked.

    Raises
    ------
    DataError
        The file is missing, unreadable or truncated, has no CRS, or lacks a field.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        msg = f"{path}: file not found; check the path or fetch the data again"
        raise DataError(msg)
    check_input_file(path, limit=limit, what="vector file")
    if path.suffix.lower() == ".shp":
        for ext in (".shx", ".dbf"):
            sidecar = path.with_suffix(ext)
            if not sidecar.exists():
                msg = (
                    f"{sidecar}: missing part of shapefile {path.name}; "
                    "copy all of .shp/.shx/.dbf/.prj or fetch the data again"
                )
                raise DataError(msg)
            check_input_file(sidecar, limit=limit, what=f"part of shapefile {path.name}")
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        msg = f"{path}: cannot read ({library_reason(err)}); the file is truncated or not a vector file, fetch it again"
        raise DataError(msg) from err
    except (OSError, ValueError, RuntimeError) as err:
        msg = f"{path}: cannot read ({library_reason(err)}); the file is truncated or corrupt, fetch it again"
        raise DataError(msg) from err
    _check_geometries_read(gdf, path)
    missing = [f for f in required_fields if f not in gdf.columns]
    if missing:
        present = [str(c) for c in gdf.columns if c != gdf.geometry.name][:20]
        has = f"the file has {', '.join(present)}" if present else "the file has no attribute fields"
        msg = f"{path}: missing field(s) {', '.join(missing)} ({has}); give the right file or rename the field"
        raise DataError(msg)
    if gdf.crs is None:
        msg = f"{path}: no CRS (missing .prj); add the .prj file or set a CRS with set_crs(...)"
        raise DataError(msg)
    _check_coordinates_fit_crs(gdf, path)
    return gdf


def _check_coordinates_fit_crs(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Raise when coordinates are not finite, or not degrees under a geographic CRS.

    Metres under a WGS 84 ``.prj`` would otherwise reach grid and area computations
    that allocate in proportion to the (absurd) extent.
    """
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        msg = f"{path}: non-finite coordinates (NaN or infinity); fix or re-export the file"
        raise DataError(msg)
    if gdf.crs.is_geographic and (max(-xmin, xmax) > 180.0 + 1e-6 or max(-ymin, ymax) > 90.0 + 1e-6):
        msg = (
            f"{path}: coordinates up to x={max(-xmin, xmax):.6g}, y={max(-ymin, ymax):.6g} are not "
            f"degrees, but the .prj says {gdf.crs.name} (geographic); they look like projected "
            "metres: give the file its real CRS (.prj) or reproject it to lon/lat"
        )
        raise DataError(msg)


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
    return "".join(_geojson_parts(gdf, precision=precision, name=name))


def _geojson_parts(gdf: gpd.GeoDataFrame, *, precision: int, name: str) -> Iterator[str]:
    """Return the text of :func:`geojson_text` in parts (head, features, tail), checked and serialised first.

    :func:`write_geojson` writes the parts as they come, and the properties' rows are
    made one at a time (:func:`_json_records`): the text of the 10,000 settlements of
    ../shared/data joined whole and cut into rows whole took 0.20 s and 35,000 page
    faults; written this way, 0.15 s and 13,800.
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
    return _feature_collection(properties, geometry)


def _feature_collection(properties: Iterable[str], geometry: np.ndarray) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":[\n'
    separator = ""
    for p, g in zip(properties, geometry, strict=True):
        yield f'{separator}{{"type":"Feature","properties":{p},"geometry":{"null" if g is None else g}}}'
        separator = ",\n"
    yield "\n]}\n"


def _json_records(frame: pd.DataFrame, *, precision: int) -> Iterator[str]:
    """One JSON object text per row of ``frame`` (pandas' C writer; ``null`` for NA).

    The frame is serialised at once; each row's text is made as it is asked for, so
    the text of a large frame is not copied whole again (:func:`write_geojson`).
    """
    if len(frame) == 0:
        return iter(())
    options = {"force_ascii": False, "double_precision": precision, "date_format": "iso"}
    text = frame.to_json(orient="records", **options)
    # Rows are '{"<first key>":…}' joined by ','. Inside string values every quote
    # is escaped, so '},{"<first key>":' with a bare quote only ever joins two rows.
    probe = pd.DataFrame({frame.columns[0]: [0]}).to_json(orient="records", **options)
    key = probe[2 : probe.rindex(":")]  # the first key, as written
    rows = text.split(f"}},{{{key}:")
    rows[0] = rows[0][2 + len(key) + 1 :]  # '[{"<first key>":' goes
    rows[-1] = rows[-1][:-2]  # '}]' goes
    # pandas escapes every "/" as "\/" (valid JSON, but noisy): undo that; a literal
    # backslash is written "\\", so each "\/" here is an escaped slash
    escaped, slash = "\\/", "/"
    key = key.replace(escaped, slash)
    return (f"{{{key}:{row.replace(escaped, slash)}}}" for row in rows)


def write_geojson(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, precision: int = 6, name: str = "data"
) -> Path:
    """Write ``gdf`` as RFC 7946 GeoJSON (see :func:`geojson_text`)."""
    path = Path(path)
    parts = _geojson_parts(gdf, precision=precision, name=name)  # raises before the file exists
    with path.open("w", encoding="utf-8") as file:
        file.writelines(parts)
    return path


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str) -> Path:
    """Write (or add) ``layer`` to a GeoPackage."""
    path = Path(path)
    require_crs(gdf, name=layer)
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    return path


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
_FORMULA_START = "^[=+\\-@\t\r]"


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as UTF-8 CSV without the index (geometry dropped if present).

    One path for every table, so the same value is always written the same way:
    Arrow's C++ writer (about six times faster than ``DataFrame.to_csv``) with
    numbers shortest round-trip (``11`` for 11.0), booleans ``true``/``false``
    (also in a column that mixes them with other values) and text quoted.

    Text cells that a spreadsheet would run as a formula — starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return — get a leading ``'``, as
    OWASP's "CSV Injection" guidance recommends (``=HYPERLINK(…)`` is written
    ``'=HYPERLINK(…)``). Only text columns are touched: numbers (``-5``) are not.
    """
    path = Path(path)
    frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    arrays = [_csv_array(column) for _, column in frame.items()]
    if len(arrays) == 1 and pa.types.is_string(arrays[0].type):
        # one text column: a missing value would be a blank line, which readers skip
        arrays[0] = pc.fill_null(arrays[0], "")
    table = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])
    quoting = "all_valid" if len(arrays) == 1 else "needed"
    pacsv.write_csv(table, str(path), write_options=pacsv.WriteOptions(quoting_style=quoting))
    return path


def _csv_array(column: pd.Series) -> pa.Array:
    """One column as an Arrow array: numbers and booleans typed, everything else safe text."""
    values = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else column
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in {"floating", "integer", "mixed-integer-float", "boolean"}:
        try:
            plain = isinstance(column.dtype, pd.CategoricalDtype) or kind == "boolean"
            return pa.array(column.astype(object) if plain else column, from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            pass  # e.g. integers beyond 64 bits: written as text below
    if kind in {"string", "empty"}:
        text = pa.array(column.astype(object), type=pa.string(), from_pandas=True)
    else:  # mixed values: each formatted as its own typed column would be
        cells = [None if _is_missing(v) else _cell_text(v) for v in column.astype(object)]
        text = pa.array(cells, type=pa.string())
    formula = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START), False)
    return pc.if_else(formula, pc.binary_join_element_wise("'", text, ""), text)


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _cell_text(value) -> str:
    """Text of one cell of a mixed column, formatted as Arrow formats a typed column."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return pc.cast(pa.scalar(float(value)), pa.string()).as_py()
    return str(value)
