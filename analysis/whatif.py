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

The per-region table is assembled by :func:`analysis.metrics.metrics_table` from
:func:`analysis.stats.distance_summary` and :func:`analysis.metrics.shape_table`,
the functions of the slow path (:func:`analysis.scenario.evaluate_scenario`), with
the same weights (``population_est``), so for the same scenario the two agree.

A scenario state is two mappings relative to the base (enacted) reform:
``moves`` (2018 district code → region of the ``after`` epoch; a split district
moves whole) and ``centres`` (region code → :class:`~boundaries.spec.Centre`).
:func:`analysis.labspec.to_spec` turns a state into a reform spec (moves relative
to the 2018 districts) for export and for the slow path;
:func:`analysis.labspec.state_from_spec` reads one back.

Every function is pure: inputs are never modified. The base carries a memo of
computed regions that only ever grows; it never changes a result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.metrics import metrics_table, overall_metrics
from analysis.shape import shape_table
from analysis.stats import distance_summary, region_table
from boundaries.build import BuildResult, region_geometry, region_record
from boundaries.schema import (
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
    ReformSpec,
    ReformSpecError,
)
from geo.crs import to_lonlat
from geo.distance import geodesic_km, nearest_km

__all__ = [
    "THRESHOLDS_KM",
    "WhatIfBase",
    "WhatIfResult",
    "evaluate",
    "prepare",
]


#: Name of the lab in the messages of its errors.
LAB_SOURCE = "scenario lab"


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
def state_problems(
    base: WhatIfBase, moves: Mapping[str, str], centres: Mapping[str, Centre]
) -> list[str]:
    """List every problem of a lab state (unknown districts, regions or centres)."""
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


def checked_state(
    base: WhatIfBase, moves: Mapping[str, str] | None, centres: Mapping[str, Centre] | None
) -> tuple[dict[str, str], dict[str, Centre]]:
    """Return copies of a lab state, raising :class:`ReformSpecError` with all its problems."""
    moves = {str(k): str(v) for k, v in (moves or {}).items()}
    centres = dict(centres or {})
    problems = state_problems(base, moves, centres)
    if problems:
        raise ReformSpecError(LAB_SOURCE, problems)
    return moves, centres


def piece_labels(base: WhatIfBase, moves: Mapping[str, str]) -> np.ndarray:
    """Return the ``after`` region of every build piece once ``moves`` are applied."""
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

    @cached_property
    def overall(self) -> pd.Series:
        """National figures (:func:`analysis.metrics.overall_metrics`), made once per result."""
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
    moves, centres = checked_state(base, moves, centres)
    codes = base.codes
    labels = piece_labels(base, moves)
    empty = [c for c in codes if not (labels == c).any()]
    if empty:
        raise ReformSpecError(
            LAB_SOURCE,
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
