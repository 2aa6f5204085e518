"""Reading and writing vector files; every side effect of the project lives here.

Readers turn library exceptions into one-line :class:`~geo.errors.DataError` messages
that name the file, the problem and the fix. Writers produce RFC 7946 GeoJSON and
write whole output folders atomically.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import io
import os
import shutil
import stat
import sys
import tempfile
import time
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

# --------------------------------------------------------------------------- bounded input

#: Largest file accepted for each kind of input, in MiB (override one kind with the
#: environment variable ``REFORM_ATLAS_MAX_<KIND>_MB``, e.g. ``REFORM_ATLAS_MAX_SETTLEMENTS_MB``).
#: The real data is far below: the largest geokz part is 1 MB, the HOT places 3.2 MB.
MAX_INPUT_MB: dict[str, float] = {
    "boundaries": 200.0,  # each part of a boundary layer (.shp, .dbf, GeoJSON, …)
    "settlements": 100.0,  # a settlements file (CSV, GeoJSON, GeoPackage)
    "table": 16.0,  # small tables: official figures CSV, workbooks
    "spec": 1.0,  # a reform spec or scenario (TOML)
}
#: Rows read from a CSV at most (Kazakhstan has about 7,000 settlements; GeoNames'
#: whole world of places with ≥ 500 people is about 200,000).
MAX_CSV_ROWS = 1_000_000
#: Columns a CSV header may have at most.
MAX_CSV_COLUMNS = 1_000
#: Suffixes of text formats: a NUL byte in their first block means binary junk.
TEXT_SUFFIXES = frozenset({".csv", ".toml", ".geojson", ".json", ".txt", ".tsv", ".prj", ".cpg"})
_SNIFF_BYTES = 1 << 16
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def max_input_bytes(kind: str) -> int:
    """Size limit in bytes for files of ``kind`` (see :data:`MAX_INPUT_MB`)."""
    env = f"REFORM_ATLAS_MAX_{kind.upper()}_MB"
    value = os.environ.get(env)
    try:
        mb = float(value) if value else MAX_INPUT_MB[kind]
    except ValueError:
        msg = f"{env}={value!r} is not a number of MB; unset it or give e.g. {MAX_INPUT_MB[kind]:g}"
        raise DataError(msg) from None
    if not (mb > 0 and np.isfinite(mb)):
        msg = f"{env}={value!r} must be a positive number of MB; unset it or give e.g. {MAX_INPUT_MB[kind]:g}"
        raise DataError(msg)
    return int(mb * 2**20)


def check_input_file(path: str | os.PathLike, *, kind: str, what: str = "file") -> Path:
    """Check that ``path`` is a readable regular file of sensible size and content.

    Nothing is read beyond the first 64 KiB. Raises a one-line
    :class:`~geo.errors.DataError` naming the file when it is missing, a folder, a
    FIFO, a device or a socket, unreadable, empty, larger than the limit of ``kind``
    (:func:`max_input_bytes`), or when its first block is all NUL bytes (or, for a
    text format, holds any NUL byte).

    Parameters
    ----------
    path : path-like
        The file to check (symbolic links are followed).
    kind : str
        A key of :data:`MAX_INPUT_MB`.
    what : str
        What the file should be, for the fix in messages (``"reform spec (.toml)"``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with _open_regular(path, what=what) as fh:
        size = os.fstat(fh.fileno()).st_size
        limit = max_input_bytes(kind)
        if size > limit:
            msg = (
                f"{path}: {size / 2**20:,.1f} MB is over the {limit / 2**20:g} MB limit for "
                f"{kind} files; give a smaller {what} or raise REFORM_ATLAS_MAX_{kind.upper()}_MB"
            )
            raise DataError(msg)
        if size == 0:
            msg = f"{path}: file is empty (0 bytes); re-download or re-export it"
            raise DataError(msg)
        head = _read_head(fh, path)
    if head.count(0) == len(head):
        msg = f"{path}: the file is all NUL (zero) bytes, not data; re-download or re-export it"
        raise DataError(msg)
    if path.suffix.lower() in TEXT_SUFFIXES and b"\0" in head:
        msg = f"{path}: binary data (NUL bytes) in a text file; give a UTF-8 text {what}"
        raise DataError(msg)
    return path


def read_input_bytes(path: str | os.PathLike, *, kind: str, what: str = "file") -> bytes:
    """Read a checked input file (:func:`check_input_file`), never more than its limit."""
    path = check_input_file(path, kind=kind, what=what)
    limit = max_input_bytes(kind)
    with _open_regular(path, what=what) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as err:
            msg = f"{path}: cannot read ({_os_reason(err)}); check the file"
            raise DataError(msg) from err
    if len(data) > limit:  # the file grew after the check
        msg = f"{path}: over the {limit / 2**20:g} MB limit for {kind} files; give a smaller {what}"
        raise DataError(msg)
    return data


def read_input_text(path: str | os.PathLike, *, kind: str, what: str = "file") -> str:
    """Read a checked input file as UTF-8 text (:func:`read_input_bytes`); a BOM is dropped."""
    data = read_input_bytes(path, kind=kind, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 text (byte {err.start}); save the {what} as UTF-8"
        raise DataError(msg) from err


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
        msg = f"{path}: cannot open ({_os_reason(err)}); give the path of a readable {what}"
        raise DataError(msg) from err
    try:
        mode = os.fstat(fd).st_mode
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
        msg = f"{path}: cannot read ({_os_reason(err)}); check the file"
        raise DataError(msg) from err


def _os_reason(err: OSError) -> str:
    """``strerror`` of an OS error (no path: messages name the file themselves)."""
    return err.strerror or type(err).__name__


def read_vector(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    required_fields: Iterable[str] = (),
    kind: str = "boundaries",
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
    kind : str
        Kind of input for the size limit (see :func:`check_input_file`); every part
        of a shapefile is checked.

    Raises
    ------
    DataError
        The file is missing, unreadable or truncated, has no CRS, or lacks a field.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        msg = f"{path}: file not found; check the path or fetch the data again"
        raise DataError(msg)
    check_input_file(path, kind=kind, what="vector file")
    if path.suffix.lower() == ".shp":
        for ext in (".shx", ".dbf"):
            sidecar = path.with_suffix(ext)
            if not sidecar.exists():
                msg = (
                    f"{sidecar}: missing part of shapefile {path.name}; "
                    "copy all of .shp/.shx/.dbf/.prj or fetch the data again"
                )
                raise DataError(msg)
            check_input_file(sidecar, kind=kind, what=f"part of shapefile {path.name}")
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        msg = f"{path}: cannot read ({_first_line(err)}); the file is truncated or not a vector file, fetch it again"
        raise DataError(msg) from err
    except (OSError, ValueError, RuntimeError) as err:
        msg = f"{path}: cannot read ({_first_line(err)}); the file is truncated or corrupt, fetch it again"
        raise DataError(msg) from err
    _check_geometries_read(gdf, path)
    missing = [f for f in required_fields if f not in gdf.columns]
    if missing:
        present = [str(c) for c in gdf.columns if c != gdf.geometry.name][:20]
        has = f"the file has {', '.join(present)}" if present else "the file has no attribute fields"
        msg = f"{path}: missing field(s) {', '.join(missing)} ({has}); use the right layer or rename the field"
        raise DataError(msg)
    if gdf.crs is None:
        msg = f"{path}: no CRS (missing .prj); add the .prj file or set a CRS with set_crs(...)"
        raise DataError(msg)
    return gdf


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


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
    """Give a temporary folder whose files replace those of ``out`` as one set, or not at all.

    Files are written into a hidden sibling folder of ``out``
    (``.<name>.tmp-<pid>-<random>``). On success that folder receives hard links to
    every other entry of ``out`` (files already there that the new set does not
    replace are kept), and is then swapped with ``out`` in one atomic step
    (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames). So ``out``
    holds either the complete previous set or the complete new one, never a mix.
    On any exception (and on SIGINT/SIGTERM turned into ``KeyboardInterrupt``) the
    temporary folder is removed and ``out`` is left as it was (not even created).
    Temporary folders of this naming left by killed runs are removed first.

    Raises
    ------
    DataError
        ``out`` is a file or a dangling symbolic link, its parent folder cannot be
        written, or a new file's name is taken in ``out`` by a folder (or the reverse).
    """
    out = _output_target(Path(out))
    parent = out.parent
    _remove_stale_temps(parent, out.name)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=parent))
    except OSError as err:
        msg = (
            f"{parent}: cannot create the output next to {out.name} ({_os_reason(err)}); "
            "choose an --out whose parent folder is writable"
        )
        raise DataError(msg) from err
    try:
        yield tmp
        _commit(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _output_target(out: Path) -> Path:
    """Return the folder to write: ``out`` itself, or where its symbolic link points."""
    if out.is_symlink() and not out.exists():
        msg = f"{out}: a symbolic link to nothing ({os.readlink(out)}); remove it or choose another --out"
        raise DataError(msg)
    if out.exists() and not out.is_dir():
        msg = f"{out}: output path exists and is not a folder; choose another --out"
        raise DataError(msg)
    return out.resolve() if out.is_symlink() else Path(os.path.abspath(out))


def _commit(tmp: Path, out: Path) -> None:
    """Make ``out`` the new set in ``tmp`` plus the entries of ``out`` it does not replace."""
    if not out.exists():
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        os.rename(tmp, out)
        return
    _check_replaceable(tmp, out)
    _link_others(out, tmp)
    tmp.chmod(stat.S_IMODE(out.stat().st_mode))
    if _exchange(tmp, out):
        return  # tmp now holds the previous set, removed by the caller
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-", 1))
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(tmp: Path, out: Path) -> None:
    """Raise before anything moves if a new entry cannot take the place of an old one."""
    for item in sorted(tmp.rglob("*")):
        target = out / item.relative_to(tmp)
        if not (target.exists() or target.is_symlink()):
            continue
        if item.is_dir() != (target.is_dir() and not target.is_symlink()):
            what = "folder" if target.is_dir() else "file"
            msg = (
                f"{target}: a {what} is in the way of the new output of that name; move or "
                "remove it, or choose another --out"
            )
            raise DataError(msg)
    if not os.access(out, os.W_OK | os.X_OK):
        msg = f"{out}: the output folder is not writable; make it writable or choose another --out"
        raise DataError(msg)


def _link_others(out: Path, tmp: Path) -> None:
    """Hard-link (copy where links fail) every entry of ``out`` that ``tmp`` lacks."""
    for entry in out.iterdir():
        target = tmp / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if target.is_dir():
                _link_others(entry, target)
            else:
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        elif not (target.exists() or target.is_symlink()):
            if entry.is_symlink():
                os.symlink(os.readlink(entry), target)
            else:
                _link_or_copy(entry, target)


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported.

    Python has no binding for it (``os.rename`` cannot swap two folders), so it is
    called through ctypes.
    """
    libc = _libc()
    if libc is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # old kernel or a file system without exchange: two renames instead
    raise OSError(err, os.strerror(err), str(b))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.renameat2  # noqa: B018 (glibc >= 2.28)
    except (OSError, AttributeError):
        return None
    return libc


#: Temporary folders older than this are stale even when their process id is unknown.
STALE_TEMP_SECONDS = 3600


def _remove_stale_temps(parent: Path, name: str) -> None:
    """Remove ``.<name>.tmp-*`` / ``.<name>.old-*`` folders whose run is no longer alive."""
    try:
        entries = list(parent.glob(f".{glob.escape(name)}.[to][ml][pd]-*"))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and _is_stale(entry, name):
            shutil.rmtree(entry, ignore_errors=True)


def _is_stale(entry: Path, name: str) -> bool:
    rest = entry.name[len(name) + 1 :]
    if not rest.startswith((".tmp-", ".old-")):
        return False
    pid = rest[5:].split("-", 1)[0]
    if pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # alive, another user's
        return False
    try:  # a folder of the older naming (no pid): stale after an hour
        return time.time() - entry.stat().st_mtime > STALE_TEMP_SECONDS
    except OSError:
        return False
