"""Search settlements by name: the places a person means, most relevant first.

Names match in any script or romanisation through :func:`inputs.names.skeleton`
(Ұзынағаш, Узынагаш, Узынагач, Uzynagash and Uzunagach are one key). Among
the places so named, larger ones and those in regions the 2022 reform touched
come first (:func:`relevance`): "Uzynagash" means the district centre in
Almaty region, not the village of the same name in Kostanay region.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from boundaries.schema import (
    CHANGE_KM,
    CHANGED_REGION,
    DELTA_KM,
    POPULATION,
    POPULATION_EST,
    region_col,
)
from inputs.names import (
    ALT_NAMES,
    MIN_SKELETON,
    NAME_FIELDS,
    NAME_LATN,
    latin_names,
    name_skeletons,
    skeleton,
)

#: Weight of "in a region the reform touched" in the relevance score, in
#: decades of population: 1.0 ranks such a place like one ten times larger.
TOUCHED_WEIGHT = 1.0

#: Shortest query skeleton that also finds names starting with it ("Taldyk").
MIN_PREFIX = 3

#: Columns of :func:`search_settlements`' table, in order.
SEARCH_COLUMNS: tuple[str, ...] = (
    "id",
    "name_latn",
    "name",
    "region",
    "region_name",
    "population",
    "population_known",
    "match",
    "lon",
    "lat",
)

#: Columns whose names a search compares with the query as spelt (:func:`_has_exact_name`).
_SPELT_COLUMNS = (*NAME_FIELDS, NAME_LATN, ALT_NAMES)

#: ``region_<year>`` columns (:func:`boundaries.schema.region_col`) of any epoch.
_REGION_COLUMN = re.compile(re.escape(region_col("YEAR")).replace("YEAR", r"\d{4}") + "$")


def find_settlement(
    settlements: pd.DataFrame,
    query: str,
    *,
    skeletons: pd.Series | None = None,
    touched: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Rows any of whose names has the same :func:`skeleton` as ``query``, most relevant first.

    So "Ұзынағаш", "Узынагаш", "Узынагач", "Uzynagash" and "Uzunagach" all
    find the same places.

    Parameters
    ----------
    settlements : pandas.DataFrame
        Settlements (a GeoDataFrame in the :mod:`inputs.settlements` schema,
        or the analysis frame); not modified.
    query : str
        A name in any script or romanisation.
    skeletons : pandas.Series, optional
        :func:`name_skeletons` of ``settlements``, when several queries search the
        same frame (computed here otherwise).
    touched : iterable of str, optional
        Region codes the reform touched; by default :func:`touched_regions`
        of ``settlements`` (none for a frame without analysis columns).

    Returns
    -------
    pandas.DataFrame
        Matching rows (same type as ``settlements``) on a fresh RangeIndex,
        by :func:`relevance` (highest first), then with a name spelt exactly
        as ``query`` (ignoring case) first, then in input order. Empty if
        nothing matches.

    Raises
    ------
    ValueError
        If ``skeletons`` is not on the index of ``settlements``.
    """
    key = skeleton(query)
    skeletons = _checked_skeletons(settlements, skeletons)
    if len(key) < MIN_SKELETON:  # shorter skeletons are never indexed
        return settlements.iloc[0:0].reset_index(drop=True)
    hits = np.fromiter((key in names for names in skeletons), dtype=bool, count=len(skeletons))
    found = settlements.loc[hits]
    if touched is None:
        touched = touched_regions(settlements)
    return found.iloc[_ranked(found, query, touched)].reset_index(drop=True)


def search_settlements(
    settlements: pd.DataFrame,
    query: str,
    *,
    region_names: Mapping[str, str] | None = None,
    skeletons: pd.Series | None = None,
    touched: Iterable[str] | None = None,
    limit: int | None = 30,
) -> pd.DataFrame:
    """Find the places a person most likely means by ``query``, as a table to show.

    Places with a name equal to ``query`` in any script or romanisation
    (:func:`find_settlement`) come first, then places with a name starting
    with it (for queries of at least :data:`MIN_PREFIX` letters of
    :func:`skeleton`); each group by :func:`relevance`.

    Parameters
    ----------
    settlements : pandas.DataFrame
        Settlements with a point geometry, ideally the analysis frame (with
        ``region_<year>`` and ``population_est`` columns); not modified.
    query : str
        A name in any script or romanisation.
    region_names : mapping, optional
        Region code → region name, e.g.
        ``build.regions[after].set_index("code")["name_en"]``; codes are shown
        without one.
    skeletons : pandas.Series, optional
        :func:`name_skeletons` of ``settlements`` (computed here otherwise).
    touched : iterable of str, optional
        Region codes the reform touched (default :func:`touched_regions`).
    limit : int or None
        At most this many rows (``None``: all).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SEARCH_COLUMNS`: ``id``; ``name_latn`` (Latin name);
        ``name`` (local name); ``region`` (code in the latest epoch, ``<NA>``
        outside every region) and ``region_name``; ``population``
        (``population_est`` where the frame has it, else ``population``) and
        ``population_known`` (whether it is a count); ``match`` (``"name"``
        or ``"start of name"``); ``lon``, ``lat``. Empty (same columns) when
        nothing matches.

    Raises
    ------
    ValueError
        If ``skeletons`` is not on the index of ``settlements``.
    """
    skeletons = _checked_skeletons(settlements, skeletons)
    key = skeleton(query)
    full = np.fromiter((key in names for names in skeletons), bool, len(skeletons))
    starts = np.zeros(len(skeletons), dtype=bool)
    if len(key) >= MIN_PREFIX:
        starts = np.fromiter(
            (any(n.startswith(key) for n in names) for names in skeletons), bool, len(skeletons)
        )
    if len(key) < MIN_SKELETON:
        full[:] = False
    if touched is None:
        touched = touched_regions(settlements)
    parts = []
    for mask, label in ((full, "name"), (starts & ~full, "start of name")):
        found = settlements.loc[mask]
        ranked = found.iloc[_ranked(found, query, touched)]
        parts.append(_search_table(ranked, label, region_names))
    table = pd.concat(parts, ignore_index=True)
    return table if limit is None else table.head(limit)


def relevance(settlements: pd.DataFrame, *, touched: Iterable[str] | None = None) -> pd.Series:
    """How likely each place is meant by a search for its name (higher first).

    ``log10(1 + population) + TOUCHED_WEIGHT × in_touched_region``: larger
    places first, and places in a region the reform touched (any of the
    frame's ``region_<year>`` columns in ``touched``) as if ten times larger.
    Population is ``population_est`` where the frame has it, else
    ``population``; unknown counts as 0.

    Parameters
    ----------
    settlements : pandas.DataFrame
        Settlements; not modified.
    touched : iterable of str, optional
        Region codes; by default :func:`touched_regions` of ``settlements``.

    Returns
    -------
    pandas.Series
        ``float64`` on the input index.
    """
    if touched is None:
        touched = touched_regions(settlements)
    score = np.log10(1 + np.nan_to_num(_population(settlements), nan=0.0).clip(min=0))
    codes = frozenset(touched)
    inside = np.zeros(len(settlements), dtype=bool)
    for column in _region_columns(settlements):
        inside |= settlements[column].isin(codes).to_numpy(dtype=bool, na_value=False)
    return pd.Series(score + TOUCHED_WEIGHT * inside, index=settlements.index, name="relevance")


def touched_regions(settlements: pd.DataFrame) -> frozenset[str]:
    """Regions (of any epoch) holding a place whose region or distance to its centre changed.

    A distance counts as changed beyond ``boundaries.schema.CHANGE_KM``.

    Parameters
    ----------
    settlements : pandas.DataFrame
        The analysis frame: ``region_<year>`` columns plus ``changed_region``
        and/or ``delta_km``. A frame without them has no touched regions.

    Returns
    -------
    frozenset of str
        Region codes, e.g. Almaty region (its centre moved to Konaev) but not
        Kostanay region.
    """
    moved = np.zeros(len(settlements), dtype=bool)
    if CHANGED_REGION in settlements.columns:
        moved |= settlements[CHANGED_REGION].astype("boolean").fillna(False).to_numpy(bool)
    if DELTA_KM in settlements.columns:
        delta = settlements[DELTA_KM].to_numpy(dtype="float64", na_value=np.nan)
        moved |= np.nan_to_num(np.abs(delta), nan=0.0) > CHANGE_KM
    codes = set()
    for column in _region_columns(settlements):
        codes.update(settlements.loc[moved, column].dropna().astype(str))
    return frozenset(codes)


def _checked_skeletons(settlements: pd.DataFrame, skeletons: pd.Series | None) -> pd.Series:
    """``skeletons`` if on the frame's index, computed when ``None``; else raise."""
    if skeletons is None:
        return name_skeletons(settlements)
    if not skeletons.index.equals(settlements.index):
        msg = "skeletons are not on the settlements' index; pass name_skeletons(settlements)"
        raise ValueError(msg)
    return skeletons


def _ranked(found: pd.DataFrame, query: str, touched: Iterable[str]) -> np.ndarray:
    """Positions of ``found`` by relevance, then exact spelling, then input order."""
    score = relevance(found, touched=touched).to_numpy()
    exact = _has_exact_name(found, query)
    return np.lexsort((np.arange(len(found)), ~exact, -score))


def _search_table(
    found: pd.DataFrame, match: str, region_names: Mapping[str, str] | None
) -> pd.DataFrame:
    """:data:`SEARCH_COLUMNS` of ``found`` (already in order)."""
    names = {} if region_names is None else dict(region_names)
    columns = _region_columns(found)
    region = _text(found, max(columns)) if columns else _text(found, "")
    lonlat = (
        (found.geometry.x.to_numpy(), found.geometry.y.to_numpy())
        if isinstance(found, gpd.GeoDataFrame) and len(found)
        else (np.full(len(found), np.nan), np.full(len(found), np.nan))
    )
    known = (
        found[POPULATION].notna().to_numpy(dtype=bool)
        if POPULATION in found
        else np.zeros(len(found), dtype=bool)
    )
    codes = region.to_numpy(dtype=object, na_value=None)
    table = pd.DataFrame(
        {
            "id": _text(found, "id"),
            "name_latn": _text(found, NAME_LATN) if NAME_LATN in found else latin_names(found),
            "name": _text(found, "name"),
            "region": region,
            "region_name": pd.array(
                [None if c is None else names.get(c, c) for c in codes], dtype="string"
            ),
            "population": _population(found),
            "population_known": known,
            "match": pd.array([match] * len(found), dtype="string"),
            "lon": lonlat[0],
            "lat": lonlat[1],
        },
        index=found.index,
    )
    return table.reset_index(drop=True)[list(SEARCH_COLUMNS)]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as text, or all ``<NA>`` when the column is absent."""
    if column in frame.columns:
        return frame[column].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def ranking_columns(settlements: pd.DataFrame) -> list[str]:
    """List the columns of ``settlements`` that :func:`find_settlement` reads to rank its rows.

    Several searches of a wide frame can search a copy of these columns only (with
    the columns they report).
    """
    fields = (*_SPELT_COLUMNS, POPULATION_EST, POPULATION)
    return [c for c in fields if c in settlements.columns] + _region_columns(settlements)


def _population(settlements: pd.DataFrame) -> np.ndarray:
    """``population_est`` where present, else ``population``, as float (NaN unknown)."""
    for column in (POPULATION_EST, POPULATION):
        if column in settlements.columns:
            return settlements[column].to_numpy(dtype="float64", na_value=np.nan)
    return np.full(len(settlements), np.nan)


def _region_columns(settlements: pd.DataFrame) -> list[str]:
    """Return the frame's ``region_<year>`` columns, oldest first."""
    return sorted(c for c in settlements.columns if _REGION_COLUMN.match(str(c)))


def _has_exact_name(settlements: pd.DataFrame, query: str) -> np.ndarray:
    """Boolean array: rows with a name (or alternative name) equal to ``query`` ignoring case."""
    wanted = query.strip().casefold()
    exact = np.zeros(len(settlements), dtype=bool)
    for column in (c for c in _SPELT_COLUMNS if c in settlements.columns):
        names = settlements[column].astype("string").to_numpy(dtype=object, na_value=None)
        exact |= np.array(
            [
                v is not None and wanted in (n.strip().casefold() for n in v.split("|"))
                for v in names
            ],
            dtype=bool,
        )
    return exact
