"""Fast what-if re-evaluation for the scenario lab: district moves and new centres.

:func:`analysis.scenario.evaluate_scenario` rebuilds a scenario from its spec
(district overlay, point in polygon, distances, metrics): a few seconds. The lab
needs an answer within a second of each click, so this module re-evaluates a
scenario *incrementally* on top of one analysed build:

* **Regions** are relabelled, not rebuilt: the build pieces (2018 districts, split
  ones cut in two) keep their geometry and get a new ``region_<after>``; every
  settlement keeps the piece it was found in (``piece_index`` of
  :func:`analysis.assign.assign_regions`), so no new point-in-polygon pass is needed.
* **Distances** to the regional centre (geodesic, :func:`geo.distance.geodesic_km`)
  are measured again only for settlements whose centre changed.
* **Geometry and shape metrics** are computed only for regions whose set of pieces
  changed: the dissolve is that of :func:`boundaries.build.build_regions` and the
  shape measures are those of :mod:`analysis.metrics`. Results are memoised per
  set of pieces (and per set of pieces and centre for the distance figures), so
  undoing a change or returning to a known map costs nothing.

The per-region table has the columns of :func:`analysis.metrics.region_metrics`
and uses the same weights as the slow path (``population_est``, see
:func:`analysis.scenario.weighted_settlements`), so for the same scenario the two
agree (areas to rounding, populations exactly, distances to float rounding).

A scenario state is two mappings relative to the base (enacted) reform:
``moves`` (2018 district code → region of the ``after`` epoch; a split district
moves whole) and ``centres`` (region code → :class:`~boundaries.spec.Centre`).
:func:`to_spec` turns a state into a reform spec (moves relative to the 2018
districts) for export and for the slow path; :func:`state_from_spec` reads one back.

Every function is pure: inputs are never modified. The base carries a memo of
computed regions that only ever grows; it never changes a result.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.centres import DEFAULT_MIN_POPULATION, rank_centres
from analysis.metrics import metrics_table, overall_metrics, shape_table
from analysis.stats import distance_summary, region_table
from boundaries.build import BuildResult, region_geometry, region_record
from boundaries.schema import (
    CENTRE_MATCH_KM,
    COUNTED_BASES,
    PIECE_INDEX,
    POPULATION,
    POPULATION_EST,
    REGION_COLUMNS,
    THRESHOLDS_KM,
    centre_col,
    centre_lat_col,
    centre_lon_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from boundaries.spec import (
    Centre,
    Move,
    ReformSpec,
    ReformSpecError,
    Region,
    assign_after,
    check_consistency,
)
from geo.crs import WGS84, to_lonlat
from geo.distance import geodesic_km, nearest_km

__all__ = [
    "THRESHOLDS_KM",
    "WhatIfBase",
    "WhatIfResult",
    "candidate_centres",
    "centre_from_settlement",
    "evaluate",
    "prepare",
    "state_from_spec",
    "to_spec",
]


_SOURCE = "scenario lab"


#: Columns of a candidate-centre table, in order.
CANDIDATE_COLUMNS = (
    "id",
    "candidate",
    "name_en",
    "name_kk",
    "name_ru",
    "population",
    "pop_weighted_mean_km",
    "rank",
    "lon",
    "lat",
    "is_current",
)


# --------------------------------------------------------------------------- base
@dataclass(frozen=True, eq=False)
class WhatIfBase:
    """An analysed build prepared for fast re-evaluation (see :func:`prepare`).

    Attributes
    ----------
    build : BuildResult
        The base build; ``build.pieces`` are relabelled, never modified.
    settlements : GeoDataFrame
        The analysed settlements of the base (``piece_index``, ``dist_<after>_km``,
        ``population_est``, ...), never modified.
    metrics : DataFrame
        :func:`analysis.metrics.region_metrics` of the base ``after`` regions
        (weights ``population_est``, as everywhere).
    """

    build: BuildResult
    settlements: gpd.GeoDataFrame
    metrics: pd.DataFrame
    piece_unit: np.ndarray
    piece_region: np.ndarray
    piece_before: np.ndarray
    unit_pieces: Mapping[str, np.ndarray]
    unit_before: Mapping[str, str]
    unit_names: Mapping[str, str]
    settlement_piece: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    known: np.ndarray
    base_dist: np.ndarray
    base_centre_lon: np.ndarray
    base_centre_lat: np.ndarray
    memo: dict = field(default_factory=dict, repr=False)

    @property
    def spec(self) -> ReformSpec:
        """The base reform spec."""
        return self.build.spec

    @property
    def epochs(self) -> tuple[int, int]:
        """``(before, after)``."""
        return self.build.spec.epochs

    @property
    def after(self) -> int:
        """The epoch the scenario changes."""
        return self.build.spec.after

    @property
    def regions(self) -> gpd.GeoDataFrame:
        """The base regions of the ``after`` epoch."""
        return self.build.regions[self.after]

    @property
    def codes(self) -> tuple[str, ...]:
        """Region codes of the ``after`` epoch, sorted."""
        return tuple(self.regions["code"])

    @property
    def can_move(self) -> bool:
        """Whether districts can move (False on the embedded default: its units are regions)."""
        return self.build.sources.kind != "embedded"

    def centre(self, code: str) -> Centre:
        """Return the base centre of region ``code`` (``after`` epoch)."""
        return self.spec.centre_of(code, epoch=self.after)

    def unit_region(self, unit: str) -> str:
        """Return the base ``after`` region of a unit (of its largest piece when split)."""
        idx = self.unit_pieces[unit]
        if len(idx) == 1:
            return str(self.piece_region[idx[0]])
        areas = shapely.area(self.build.pieces.geometry.to_numpy()[idx])
        return str(self.piece_region[idx[int(np.argmax(areas))]])


def prepare(build: BuildResult, settlements: gpd.GeoDataFrame) -> WhatIfBase:
    """Prepare an analysed build for :func:`evaluate`.

    Parameters
    ----------
    build : BuildResult
        The base (enacted) build.
    settlements : GeoDataFrame
        ``Analysis.settlements`` of that build: needs ``piece_index``,
        ``region_<after>``, ``centre_<after>_lon``/``_lat``, ``dist_<after>_km``,
        ``population_est`` (the weight) and ``population``.

    Returns
    -------
    WhatIfBase
        With the base metrics computed and the memo seeded with the base regions,
        so evaluating the unchanged base recomputes nothing.
    """
    after = build.spec.after
    pieces = build.pieces
    missing = [
        c
        for c in (PIECE_INDEX, region_col(after), dist_col(after), POPULATION_EST)
        if c not in settlements.columns
    ]
    if missing:
        msg = (
            f"settlements: missing column(s) {missing}; pass Analysis.settlements "
            "(analysis.pipeline.analyze), which records each settlement's piece"
        )
        raise ValueError(msg)
    piece_unit = pieces["unit"].to_numpy(dtype=object)
    piece_region = pieces[region_col(after)].to_numpy(dtype=object)
    piece_before = pieces[region_col(build.spec.before)].to_numpy(dtype=object)
    unit_pieces = {
        str(u): np.flatnonzero(piece_unit == u) for u in dict.fromkeys(piece_unit.tolist())
    }
    names = pieces["name_en"].astype(object).to_numpy() if "name_en" in pieces else piece_unit
    points = to_lonlat(settlements.geometry, name="settlements", copy=False)
    xy = shapely.get_coordinates(points.to_numpy())
    regions = build.regions[after]
    table = region_table(settlements, regions, epoch=after)
    shape = shape_table(regions)
    base = WhatIfBase(
        build=build,
        settlements=settlements,
        metrics=metrics_table(table, shape),
        piece_unit=piece_unit,
        piece_region=piece_region,
        piece_before=piece_before,
        unit_pieces=unit_pieces,
        unit_before={u: str(piece_before[idx[0]]) for u, idx in unit_pieces.items()},
        unit_names={u: str(names[idx[0]]) for u, idx in unit_pieces.items()},
        settlement_piece=settlements[PIECE_INDEX].to_numpy(dtype="int64"),
        lon=xy[:, 0].copy(),
        lat=xy[:, 1].copy(),
        weight=pd.to_numeric(settlements[POPULATION_EST], errors="coerce").to_numpy("float64"),
        known=pd.to_numeric(settlements[POPULATION], errors="coerce").to_numpy("float64"),
        base_dist=settlements[dist_col(after)].to_numpy(dtype="float64"),
        base_centre_lon=settlements[centre_lon_col(after)].to_numpy(dtype="float64"),
        base_centre_lat=settlements[centre_lat_col(after)].to_numpy(dtype="float64"),
    )
    for arr in (piece_unit, piece_region, piece_before, base.settlement_piece, base.lon, base.lat):
        arr.flags.writeable = False
    for arr in (base.weight, base.known):
        arr.flags.writeable = False
    # seed the memo with the base regions: the unchanged base recomputes nothing
    geoms, dists = base.memo.setdefault("geometry", {}), base.memo.setdefault("distance", {})
    stats = table.drop(columns=["name_en", "centre_name_en"])
    for i, code in enumerate(base.codes):
        key = frozenset(np.flatnonzero(piece_region == code).tolist())
        geoms[key] = (regions.geometry.iloc[i], shape.iloc[i].to_dict())
        c = base.centre(code)
        dists[(key, c.lon, c.lat)] = stats.loc[code].to_dict()
    return base


# --------------------------------------------------------------------------- state checks
def _problems(
    base: WhatIfBase, moves: Mapping[str, str], centres: Mapping[str, Centre]
) -> list[str]:
    problems = []
    codes = set(base.codes)
    if moves and not base.can_move:
        problems.append(
            "district moves need district boundaries and the embedded default has none "
            "(its units are the 20 post-reform regions): choose a data directory with the geokz districts"
        )
        return problems
    for unit, code in moves.items():
        if unit not in base.unit_pieces:
            problems.append(
                f"unit {unit} is not a {base.epochs[0]} district code; fix the code (ADM2_PCODE)"
            )
        if code not in codes:
            problems.append(
                f"move of {unit}: {code} is not a {base.after} region; use one of {', '.join(sorted(codes))}"
            )
    for code, centre in centres.items():
        if code not in codes:
            problems.append(
                f"centre for {code}: not a {base.after} region; use one of {', '.join(sorted(codes))}"
            )
        if not isinstance(centre, Centre):
            problems.append(
                f"centre for {code}: expected a boundaries.spec.Centre, got {type(centre).__name__}"
            )
        elif not (-180 <= centre.lon <= 180 and -90 <= centre.lat <= 90):
            problems.append(
                f"centre for {code}: ({centre.lon}, {centre.lat}) is not a WGS 84 lon/lat"
            )
    return problems


def _labels(base: WhatIfBase, moves: Mapping[str, str]) -> np.ndarray:
    labels = base.piece_region.copy()
    for unit, code in moves.items():
        labels[base.unit_pieces[unit]] = code
    return labels


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """A scenario evaluated by :func:`evaluate`.

    Attributes
    ----------
    moves, centres : dict
        The state evaluated (copies).
    piece_region : ndarray
        ``after`` region of each build piece.
    settlement_region : ndarray
        ``after`` region of each settlement (None where unassigned).
    dist_km : ndarray
        Distance (km, geodesic) of each settlement to its ``after`` centre.
    regions : GeoDataFrame
        The ``after`` regions, columns of :func:`boundaries.build.build_regions`.
    metrics : DataFrame
        Per region, columns of :func:`analysis.metrics.region_metrics`.
    changed : tuple of str
        Regions differing from the base (pieces or centre).
    recomputed : dict
        ``"geometry"`` and ``"distance"``: regions computed in this call (not memoised).
    redone_settlements : int
        Settlements whose distance was measured again.
    seconds : float
        Wall time of the evaluation.
    """

    base: WhatIfBase
    moves: dict[str, str]
    centres: dict[str, Centre]
    piece_region: np.ndarray
    settlement_region: np.ndarray
    dist_km: np.ndarray
    regions: gpd.GeoDataFrame
    metrics: pd.DataFrame
    changed: tuple[str, ...]
    moved_units: tuple[str, ...]
    recomputed: dict[str, tuple[str, ...]]
    redone_settlements: int
    seconds: float

    @property
    def overall(self) -> pd.Series:
        """National figures (:func:`analysis.metrics.overall_metrics`)."""
        return overall_metrics(self.metrics)

    def centre(self, code: str) -> Centre:
        """Centre of region ``code`` in this scenario."""
        return self.centres.get(code) or self.base.centre(code)

    def pieces(self) -> gpd.GeoDataFrame:
        """Return the build pieces with ``region_<after>`` of this scenario (a copy)."""
        out = self.base.build.pieces.copy()
        out[region_col(self.base.after)] = self.piece_region.copy()
        return out

    def settlements(self) -> gpd.GeoDataFrame:
        """Return the base settlements relabelled for this scenario (a copy).

        ``region_<after>``, ``centre_<after>`` (+ ``_lon``/``_lat``),
        ``dist_<after>_km``, ``delta_km``, ``changed_region`` and the nearest
        ``after`` centre columns are those of this scenario.
        """
        base, after = self.base, self.base.after
        before = base.epochs[0]
        out = base.settlements.copy()
        region = pd.Categorical(self.settlement_region, categories=list(base.codes))
        out[region_col(after)] = region
        table = self.regions.reset_index(drop=True)
        idx = np.asarray(region.codes, dtype="int64")
        ok = idx >= 0
        names = pd.Index(pd.unique(table["centre_name_en"].to_numpy(dtype=object)), dtype=object)
        name_codes = names.get_indexer(table["centre_name_en"])
        out[centre_col(after)] = pd.Categorical.from_codes(
            np.where(ok, name_codes[np.maximum(idx, 0)], -1), categories=names
        )
        clon = table["centre_lon"].to_numpy()
        clat = table["centre_lat"].to_numpy()
        out[centre_lon_col(after)] = np.where(ok, clon[np.maximum(idx, 0)], np.nan)
        out[centre_lat_col(after)] = np.where(ok, clat[np.maximum(idx, 0)], np.nan)
        out[dist_col(after)] = self.dist_km.copy()
        if dist_col(before) in out.columns:
            out["delta_km"] = self.dist_km - out[dist_col(before)].to_numpy(dtype="float64")
        if region_col(before) in out.columns:
            b = out[region_col(before)].astype(object).to_numpy()
            a = np.asarray(self.settlement_region, dtype=object)
            out["changed_region"] = pd.notna(b) & pd.notna(a) & (b != a)
        near, km = nearest_km(
            base.lon, base.lat, clon, clat, known_index=idx, known_km=self.dist_km
        )
        out[nearest_centre_col(after)] = pd.Categorical.from_codes(
            np.where(near >= 0, name_codes[np.maximum(near, 0)], -1), categories=names
        )
        out[nearest_centre_km_col(after)] = km
        out["farther_than_other_centre"] = (
            ok & (near >= 0) & (near != idx) & (self.dist_km - km > 1e-6)
        )
        return out


# --------------------------------------------------------------------------- evaluation
def _relabel(
    base: WhatIfBase, labels: np.ndarray, centre_of: Mapping[str, Centre]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Region position of each settlement (through its piece) and its distance to the centre.

    Distances are measured again only where the settlement's centre changed.
    Returns the positions (-1 unassigned), the distances and the mask of re-measured rows.
    """
    codes = base.codes
    code_pos = {c: i for i, c in enumerate(codes)}
    piece_pos = np.array([code_pos[c] for c in labels], dtype="int64")
    sp = base.settlement_piece
    valid = sp >= 0
    s_pos = np.where(valid, piece_pos[np.maximum(sp, 0)], -1)
    clon = np.array([centre_of[c].lon for c in codes], dtype="float64")
    clat = np.array([centre_of[c].lat for c in codes], dtype="float64")
    s_lon = np.where(valid, clon[np.maximum(s_pos, 0)], np.nan)
    s_lat = np.where(valid, clat[np.maximum(s_pos, 0)], np.nan)
    redo = valid & ((s_lon != base.base_centre_lon) | (s_lat != base.base_centre_lat))
    dist = base.base_dist.copy()
    if redo.any():
        dist[redo] = geodesic_km(base.lon[redo], base.lat[redo], s_lon[redo], s_lat[redo])
    return s_pos, dist, redo


def _fill_memo(
    base: WhatIfBase,
    members: Mapping[str, frozenset],
    centre_of: Mapping[str, Centre],
    s_pos: np.ndarray,
    dist: np.ndarray,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Compute what the memo lacks: geometry and shape per set of pieces, figures per centre.

    The dissolve is :func:`boundaries.build.region_geometry`, the shape measures
    :func:`analysis.metrics.shape_table` and the figures
    :func:`analysis.stats.distance_summary`: the functions of the full pipeline.
    Returns the regions whose geometry and whose figures were computed.
    """
    geoms_memo = base.memo.setdefault("geometry", {})
    dist_memo = base.memo.setdefault("distance", {})
    todo = [c for c in base.codes if members[c] not in geoms_memo]
    if todo:
        pieces = base.build.pieces
        geoms = [region_geometry(pieces.geometry.to_numpy()[sorted(members[c])]) for c in todo]
        frame = gpd.GeoDataFrame({"code": todo}, geometry=geoms, crs=pieces.crs)
        for c, g, shape in zip(todo, geoms, shape_table(frame).to_dict("records"), strict=True):
            geoms_memo[members[c]] = (g, shape)
    dist_todo = []
    for i, c in enumerate(base.codes):
        key = (members[c], centre_of[c].lon, centre_of[c].lat)
        if key not in dist_memo:
            mask = s_pos == i
            dist_memo[key] = distance_summary(dist[mask], base.weight[mask], known=base.known[mask])
            dist_todo.append(c)
    return tuple(todo), tuple(dist_todo)


def _assemble(
    base: WhatIfBase, members: Mapping[str, frozenset], centre_of: Mapping[str, Centre]
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Assemble the metrics table and the regions of a scenario from the memo."""
    meta = base.spec.regions_of(base.after)
    geoms_memo, dist_memo = base.memo["geometry"], base.memo["distance"]
    rows, shapes, region_rows = [], [], []
    for c in base.codes:
        geom, shape = geoms_memo[members[c]]
        centre = centre_of[c]
        stats = dist_memo[(members[c], centre.lon, centre.lat)]
        rows.append({"name_en": meta[c].name_en, "centre_name_en": centre.name_en, **stats})
        shapes.append(shape)
        region_rows.append({**region_record(c, meta[c], centre), "geometry": geom})
    index = pd.Index(list(base.codes), name="code")
    metrics = metrics_table(pd.DataFrame(rows, index=index), pd.DataFrame(shapes, index=index))
    regions = gpd.GeoDataFrame(region_rows, geometry="geometry", crs=base.build.pieces.crs)
    regions = to_lonlat(regions, name="scenario regions", copy=False)
    # the area of the metrics is that of geo.crs.area_km2 (EQUAL_AREA), memoised with the shape
    regions["area_km2"] = metrics["area_km2"].to_numpy()
    regions["epoch"] = base.after
    return metrics, regions[[*REGION_COLUMNS, "epoch", "geometry"]]


def _changes(
    base: WhatIfBase, labels: np.ndarray, members: Mapping[str, frozenset], centre_of
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Regions differing from the base (pieces or centre) and districts moved."""
    changed = []
    for c in base.codes:
        old, new = base.centre(c), centre_of[c]
        base_members = frozenset(np.flatnonzero(base.piece_region == c).tolist())
        if members[c] != base_members or (new.lon, new.lat, new.name_en) != (
            old.lon,
            old.lat,
            old.name_en,
        ):
            changed.append(c)
    moved = sorted(
        u for u, idx in base.unit_pieces.items() if (labels[idx] != base.piece_region[idx]).any()
    )
    return tuple(changed), tuple(moved)


def evaluate(
    base: WhatIfBase,
    moves: Mapping[str, str] | None = None,
    centres: Mapping[str, Centre] | None = None,
) -> WhatIfResult:
    """Re-evaluate the base with some districts moved and some centres changed.

    Parameters
    ----------
    base : WhatIfBase
        From :func:`prepare`.
    moves : mapping, optional
        2018 district code → ``after`` region code. Overrides the base assignment
        of every piece of the district (a split district moves whole).
    centres : mapping, optional
        ``after`` region code → :class:`~boundaries.spec.Centre`.

    Returns
    -------
    WhatIfResult

    Raises
    ------
    ReformSpecError
        Unknown districts or regions, district moves on the embedded default, or a
        region left without any district; every problem is listed.
    """
    t0 = time.perf_counter()
    moves = {str(k): str(v) for k, v in (moves or {}).items()}
    centres = dict(centres or {})
    problems = _problems(base, moves, centres)
    if problems:
        raise ReformSpecError(_SOURCE, problems)
    codes = base.codes
    labels = _labels(base, moves)
    empty = [c for c in codes if not (labels == c).any()]
    if empty:
        raise ReformSpecError(
            _SOURCE,
            [
                f"{base.after} region {c} would receive no district; keep at least one district in it"
                for c in empty
            ],
        )
    centre_of = {c: centres.get(c) or base.centre(c) for c in codes}
    s_pos, dist, redo = _relabel(base, labels, centre_of)
    members = {c: frozenset(np.flatnonzero(labels == c).tolist()) for c in codes}
    geometry_todo, dist_todo = _fill_memo(base, members, centre_of, s_pos, dist)
    metrics, regions = _assemble(base, members, centre_of)
    changed, moved_units = _changes(base, labels, members, centre_of)
    code_arr = np.array(codes, dtype=object)
    return WhatIfResult(
        base=base,
        moves=moves,
        centres=centres,
        piece_region=labels,
        settlement_region=np.where(s_pos >= 0, code_arr[np.maximum(s_pos, 0)], None),
        dist_km=dist,
        regions=regions,
        metrics=metrics,
        changed=changed,
        moved_units=moved_units,
        recomputed={"geometry": geometry_todo, "distance": dist_todo},
        redone_settlements=int(redo.sum()),
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- centres
def centre_from_settlement(row: Mapping[str, Any], *, key: str | None = None) -> Centre:
    """Make a :class:`~boundaries.spec.Centre` of a settlement row (names, lon/lat).

    Missing names fall back on the local ``name``; the key defaults to a slug of
    the English name (``"kaskelen"``), else of the settlement id.
    """

    def text(col: str) -> str | None:
        value = row.get(col)
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        value = str(value).strip()
        return value or None

    local = text("name") or text("name_en") or text("name_kk") or text("name_ru") or "unnamed"
    name_en = text("name_en") or local
    geom = row.get("geometry")
    lon = float(row["lon"]) if "lon" in row and row.get("lon") is not None else float(geom.x)
    lat = float(row["lat"]) if "lat" in row and row.get("lat") is not None else float(geom.y)
    if key is None:
        key = _slug(name_en) or _slug(f"settlement {text('id') or ''}") or "centre"
    return Centre(
        key=key,
        name_en=name_en,
        name_kk=text("name_kk") or local,
        name_ru=text("name_ru") or local,
        lon=lon,
        lat=lat,
    )


def _slug(text: str) -> str:
    """ASCII key for a TOML table: ``"Qaskeleñ"`` → ``"qaskelen"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.casefold()).strip("_")


def candidate_centres(
    result: WhatIfResult,
    region: str,
    *,
    min_population: float = DEFAULT_MIN_POPULATION,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Candidate centres of ``region`` in a scenario, ranked by population-weighted mean distance.

    Candidates are the region's settlements with a counted population (not an
    imputed median) of at least ``min_population``, plus the region's current
    centre when a settlement lies within 5 km of it; or, with ``ids``, those
    settlements of the region (any population, e.g. the hits of a name search).
    Demand is every settlement of the region weighted by ``population_est``
    (:func:`analysis.centres.rank_centres`).

    Returns
    -------
    DataFrame
        ``id``, ``candidate`` (name), ``name_en``, ``name_kk``, ``name_ru``,
        ``population``, ``pop_weighted_mean_km``, ``rank``, ``lon``, ``lat`` and
        ``is_current`` (the current centre), sorted by rank.
    """
    base = result.base
    memo = base.memo.setdefault("candidates", {})
    centre = result.centre(region)
    members = frozenset(np.flatnonzero(result.piece_region == region).tolist())
    key = (
        members,
        centre.lon,
        centre.lat,
        float(min_population),
        None if ids is None else tuple(ids),
    )
    if key in memo:
        return memo[key].copy()
    s = base.settlements
    in_region = np.asarray(result.settlement_region == region, dtype=bool)
    counted = (
        s["population_basis"].isin(COUNTED_BASES).to_numpy(dtype=bool)
        if "population_basis" in s
        else True
    )
    big = np.nan_to_num(base.weight, nan=0.0) >= min_population
    near = np.flatnonzero(
        in_region & (geodesic_km(base.lon, base.lat, centre.lon, centre.lat) <= CENTRE_MATCH_KM)
    )
    # the current centre: the largest settlement within 5 km of its coordinates
    current = near[np.argsort(-np.nan_to_num(base.weight[near], nan=0.0), kind="stable")][:1]
    if ids is not None:
        cand = in_region & s["id"].astype(str).isin([str(i) for i in ids]).to_numpy(dtype=bool)
    else:
        cand = in_region & counted & big
        cand[current] = True
    cols = [c for c in ("id", "name", "name_en", "name_kk", "name_ru", "osm_id") if c in s.columns]
    demand = gpd.GeoDataFrame(
        s[cols].reset_index(drop=True),
        geometry=gpd.points_from_xy(base.lon, base.lat),
        crs=WGS84,
    )
    demand["population"] = base.weight
    demand["region"] = result.settlement_region
    if not cand.any():
        table = pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
        memo[key] = table
        return table.copy()
    candidates = demand[cand]
    ranking = rank_centres(demand, region=region, region_col="region", candidates=candidates)
    extra = candidates.set_index("id")[
        [c for c in ("name_en", "name_kk", "name_ru") if c in candidates]
    ]
    extra = extra.assign(lon=candidates.geometry.x.to_numpy(), lat=candidates.geometry.y.to_numpy())
    ranking = ranking.join(extra, on="id")
    current_id = str(s["id"].iloc[current[0]]) if current.size else None
    ranking["is_current"] = ranking["id"].astype(str) == current_id
    table = ranking[[c for c in CANDIDATE_COLUMNS if c in ranking.columns]].reset_index(drop=True)
    memo[key] = table
    return table.copy()


# --------------------------------------------------------------------------- specs
def _names(base: WhatIfBase, units) -> str:
    return ", ".join(f"{base.unit_names.get(u, u)} ({u})" for u in units)


def _move_targets(base: WhatIfBase, labels: np.ndarray, moves: Mapping[str, str]) -> dict[str, str]:
    """District → ``after`` region for every district that leaves its ``before`` region."""
    split_units = {s.unit for s in base.spec.splits}
    target: dict[str, str] = {}
    for unit, idx in base.unit_pieces.items():
        if unit in split_units and unit not in moves:
            continue
        code = str(labels[idx[0]])
        if code != base.unit_before[unit]:
            target[unit] = code
    return target


def _move_note(base: WhatIfBase, listed: list[str], ordered: list[str], notes: list[str]) -> str:
    """Note of a move: the base notes when its districts are unchanged, else what changed."""
    if set(ordered) == set(listed) and notes:
        return " / ".join(notes)
    added = [u for u in ordered if u not in listed]
    removed = [u for u in listed if u not in ordered]
    parts = []
    if added:
        parts.append("added " + _names(base, added))
    if removed:
        parts.append("removed " + _names(base, removed))
    head = " / ".join(notes) + "; " if notes else ""
    return f"{head}scenario lab: {'; '.join(parts)}"


def _spec_moves(base: WhatIfBase, target: Mapping[str, str]) -> tuple[Move, ...]:
    """Group ``[[moves]]`` by target region: base order first, base notes kept."""
    base_moves = list(base.spec.moves)
    order = list(dict.fromkeys([m.to for m in base_moves] + sorted(set(target.values()))))
    new_moves = []
    for code in order:
        units_now = [u for u, c in target.items() if c == code]
        if not units_now:
            continue
        listed = [u for m in base_moves if m.to == code for u in m.units]
        ordered = [u for u in listed if u in units_now] + sorted(
            u for u in units_now if u not in listed
        )
        notes = [m.note for m in base_moves if m.to == code and m.note]
        new_moves.append(
            Move(to=code, units=tuple(ordered), note=_move_note(base, listed, ordered, notes))
        )
    return tuple(new_moves)


def _centre_fields(c: Centre) -> tuple:
    return (c.lon, c.lat, c.name_en, c.name_kk, c.name_ru)


def _centre_keys(
    spec: ReformSpec, centres: Mapping[str, Centre]
) -> tuple[dict[str, Centre], dict[str, str]]:
    """All centres (changed ones added under a fresh key) and region → key of its new centre."""
    all_centres = dict(spec.centres)
    after_regions = spec.regions_of(spec.after)
    new_key: dict[str, str] = {}
    for code in sorted(centres):
        c = centres[code]
        if _centre_fields(c) == _centre_fields(spec.centres[after_regions[code].centre]):
            continue
        same = next(
            (k for k, o in all_centres.items() if _centre_fields(o) == _centre_fields(c)), None
        )
        if same is None:
            key = _slug(c.key) or _slug(c.name_en) or "centre"
            stem, n = key, 2
            while key in all_centres:
                key, n = f"{stem}_{n}", n + 1
            all_centres[key] = Centre(
                key=key,
                name_en=c.name_en,
                name_kk=c.name_kk,
                name_ru=c.name_ru,
                lon=float(c.lon),
                lat=float(c.lat),
                kato=c.kato,
                former_name_en=c.former_name_en,
            )
            same = key
        new_key[code] = same
    return all_centres, new_key


def _spec_regions(spec: ReformSpec, new_key: Mapping[str, str]) -> tuple[Region, ...]:
    """Regions with a new ``after`` centre get a separate ``after`` entry carrying it."""
    after = spec.after
    regions: list[Region] = []
    for r in spec.regions:
        if after not in r.epochs or r.code not in new_key:
            regions.append(r)
            continue
        rest = tuple(e for e in r.epochs if e != after)
        # built field by field (not dataclasses.replace): the spec model may change type
        for epochs, centre in ((rest, r.centre), ((after,), new_key[r.code])):
            if epochs:
                regions.append(
                    Region(
                        code=r.code,
                        epochs=epochs,
                        name_en=r.name_en,
                        name_kk=r.name_kk,
                        name_ru=r.name_ru,
                        centre=centre,
                        parent=r.parent,
                    )
                )
    return tuple(regions)


def _spec_meta(
    base: WhatIfBase,
    labels: np.ndarray,
    new_key: Mapping[str, str],
    *,
    id: str,
    title: str,
    description: str,
) -> dict[str, Any]:
    spec = base.spec
    changes = []
    moved = sorted(
        u for u, idx in base.unit_pieces.items() if (labels[idx] != base.piece_region[idx]).any()
    )
    if moved:
        changes.append("districts moved: " + _names(base, moved))
    if new_key:
        changes.append("centres changed: " + ", ".join(sorted(new_key)))
    meta = {k: v for k, v in spec.meta.items() if k not in ("id", "title", "before", "after")}
    meta.update(kind="scenario", based_on=spec.id)
    meta["source"] = (
        f"{spec.meta.get('source', spec.id)}; changed in the Reform Atlas scenario lab"
        + (f" ({'; '.join(changes)})" if changes else " (no change)")
    )
    if description:
        meta["description"] = description
    return {"id": id, "title": title, "before": spec.before, "after": spec.after, **meta}


def to_spec(
    base: WhatIfBase,
    moves: Mapping[str, str] | None = None,
    centres: Mapping[str, Centre] | None = None,
    *,
    id: str = "scenario-lab",
    title: str | None = None,
    description: str = "",
) -> ReformSpec:
    """Write a scenario state as a reform spec, for export and the slow path.

    Moves are written relative to the 2018 districts (every district whose
    ``after`` region differs from its ``before`` region), grouped by target
    region; a base move whose districts are unchanged keeps its note. Splits of
    the base are kept unless their district was moved whole. A changed centre is
    written as a ``[centres.<key>]`` table with names and lon/lat; a region that
    exists in both epochs gets a separate ``after`` entry carrying it. Centres no
    region refers to any more are dropped.

    Raises
    ------
    ReformSpecError
        The state has problems (see :func:`evaluate`).
    """
    moves = {str(k): str(v) for k, v in (moves or {}).items()}
    centres = dict(centres or {})
    problems = _problems(base, moves, centres)
    if problems:
        raise ReformSpecError(_SOURCE, problems)
    spec = base.spec
    labels = _labels(base, moves)
    all_centres, new_key = _centre_keys(spec, centres)
    regions = _spec_regions(spec, new_key)
    used = {r.centre for r in regions}
    title = title or f"Scenario based on {spec.id}"
    out = ReformSpec(
        id=id,
        title=title,
        before=spec.before,
        after=spec.after,
        centres={k: c for k, c in all_centres.items() if k in used},
        regions=regions,
        moves=_spec_moves(base, _move_targets(base, labels, moves)),
        splits=tuple(s for s in spec.splits if s.unit not in moves),
        merges=spec.merges,
        renames=spec.renames,
        meta=_spec_meta(base, labels, new_key, id=id, title=title, description=description),
        source=f"<{_SOURCE}>",
    )
    check_consistency(out)
    return out


def _split_key(s) -> tuple:
    return (s.unit, s.cut_layer, tuple(s.cut_codes), s.inside, s.outside)


def _state_problems(base: WhatIfBase, spec: ReformSpec) -> list[str]:
    """List what in ``spec`` (same epochs as the base) the lab cannot represent."""
    b, after = base.spec, base.after
    problems = []
    ours, theirs = b.regions_of(after), spec.regions_of(after)
    for code in sorted(set(ours) ^ set(theirs)):
        where = "adds" if code in theirs else "drops"
        problems.append(
            f"the spec {where} {after} region {code}; the scenario lab keeps the {len(ours)} regions of {b.id}"
        )
    for code in sorted(set(ours) & set(theirs)):
        o, t = ours[code], theirs[code]
        if (o.name_en, o.name_kk, o.name_ru) != (t.name_en, t.name_kk, t.name_ru):
            problems.append(
                f"region {code} is renamed ({o.name_en} → {t.name_en}); the scenario lab keeps region names"
            )
    if spec.merges != b.merges:
        problems.append(
            "the spec has [[merges]]; the scenario lab moves districts, not whole regions"
        )
    ours_split = {s.unit: _split_key(s) for s in b.splits}
    for s in spec.splits:
        if ours_split.get(s.unit) != _split_key(s):
            problems.append(
                f"[[splits]] {s.unit} differs from {b.id}; the scenario lab can only move whole districts"
            )
    if base.can_move:
        problems += [
            f"unit {u} is not a {b.before} district code; fix the code (ADM2_PCODE)"
            for m in spec.moves
            for u in m.units
            if u not in base.unit_pieces
        ]
    return problems


def state_from_spec(base: WhatIfBase, spec: ReformSpec) -> tuple[dict[str, str], dict[str, Centre]]:
    """Express a reform spec as a lab state (moves, centres) relative to the base.

    The lab edits district assignments and centres only, so the spec must have
    the base's epochs, ``after`` regions (codes and names), merges and splits
    (a base split may be replaced by a whole-district move).

    Raises
    ------
    ReformSpecError
        Listing everything in the spec the lab cannot represent.
    """
    b = base.spec
    if spec.epochs != b.epochs:
        problems = [
            f"epochs {spec.before}/{spec.after} differ from the base {b.before}/{b.after}; use {b.before} and {b.after}"
        ]
        raise ReformSpecError(spec.source, problems)
    problems = _state_problems(base, spec)
    if problems:
        raise ReformSpecError(spec.source, problems)
    after = b.after
    centres = {
        code: spec.centre_of(code, epoch=after)
        for code in sorted(spec.regions_of(after))
        if _centre_fields(spec.centre_of(code, epoch=after))
        != _centre_fields(b.centre_of(code, epoch=after))
    }
    ours_split = {s.unit for s in b.splits}
    theirs_split = {s.unit for s in spec.splits}
    if not base.can_move:
        if spec.moved_units() != b.moved_units() or theirs_split != ours_split:
            raise ReformSpecError(
                spec.source,
                [
                    "the spec moves districts differently from the enacted reform; district moves need district "
                    "boundaries and the embedded default has none: choose a data directory with the geokz districts"
                ],
            )
        return {}, centres
    targets = assign_after(spec, base.unit_before)
    moves = {}
    for unit, idx in base.unit_pieces.items():
        if unit in theirs_split:
            continue
        code = targets[unit]
        if unit in ours_split or (base.piece_region[idx] != code).any():
            moves[unit] = code
    return moves, centres
