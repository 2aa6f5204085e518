"""Build each epoch's regions from units (districts) and a reform spec.

Pure functions: they take GeoDataFrames and a :class:`~boundaries.spec.ReformSpec`
and return new GeoDataFrames; inputs are never modified.

* :func:`apply_spec` — the atomic pieces: every ``before`` unit, with split units cut
  in two, each labelled with its region in both epochs (``region_2018``, ``region_2024``).
* :func:`build_regions` — one epoch's regions: a dissolve of the pieces.
* :func:`crosswalk` — the (region_before, region_after) relationship table.
* :func:`validate_regions` — IoU of built regions against a published layer.
* :func:`build` — all of it for a :class:`~boundaries.sources.BoundarySources`.
* :func:`derive_before` — an earlier epoch of a reform chain from later pieces.
* :func:`build_chain` — every epoch of a :class:`~boundaries.chain.ReformChain`;
  :func:`reform_build` — one of its reforms as a :class:`BuildResult`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.chain import ReformChain
from boundaries.schema import REGION_COLUMNS, region_col, share_of_area_col
from boundaries.sources import BoundarySources
from boundaries.spec import Centre, ReformSpec, ReformSpecError, Region
from boundaries.spec_units import assign_after, check_against_units, merge_target
from geo.crs import WGS84, area_km2, require_crs
from geo.errors import DataError
from geo.validation import (
    CoverageReport,
    coverage_report,
    iou_by_key,
    overlap_pairs,
    polygonal_part,
    require_columns,
    resolve_overlaps,
)


def apply_spec(
    units: gpd.GeoDataFrame,
    spec: ReformSpec,
    *,
    cut_layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    granularity: str = "district",
) -> gpd.GeoDataFrame:
    """Label every unit with its region before and after the reform.

    Parameters
    ----------
    units : GeoDataFrame
        ``before`` units with ``unit``, ``region`` and geometry (see
        :class:`~boundaries.sources.BoundarySources`).
    spec : ReformSpec
        Moves, splits and merges to apply.
    cut_layers : mapping, optional
        Layer name → GeoDataFrame (``code``, geometry) that splits cut with.
    granularity : {"district", "region"}
        ``"region"`` when units are whole post-reform regions (embedded default):
        the ``before`` region of each is its spec ``parent`` and moves/splits are
        not applied.

    Returns
    -------
    GeoDataFrame
        Pieces with ``unit``, ``piece`` (``whole``/``inside``/``outside``), names,
        ``region_<before>``, ``region_<after>``, geometry; same CRS as ``units``.

    Raises
    ------
    ReformSpecError
        The spec names unknown units or cut codes, or leaves a region empty.
    """
    crs = require_crs(units, name="units")
    require_columns(units, ("unit", "region"), name="units")
    before, after = region_col(spec.before), region_col(spec.after)
    base = units.copy()
    if granularity == "region":
        base[after] = base["region"].map(lambda c: merge_target(spec, c))
        base[before] = base["region"].map(spec.parent_of)
        base["piece"] = "whole"
        return base.drop(columns="region").reset_index(drop=True)

    unit_regions = dict(zip(base["unit"], base["region"], strict=True))
    layer_codes = {k: v["code"].tolist() for k, v in (cut_layers or {}).items()}
    check_against_units(spec, unit_regions, layer_codes=layer_codes if spec.splits else None)
    targets = assign_after(spec, unit_regions)
    split_units = {s.unit: s for s in spec.splits}

    whole = base[~base["unit"].isin(split_units)].copy()
    whole[before] = whole["region"]
    whole[after] = whole["unit"].map(targets)
    whole["piece"] = "whole"
    pieces = [whole]
    for s in spec.splits:
        row = base[base["unit"] == s.unit]
        layer = cut_layers[s.cut_layer]
        cut = shapely.union_all(
            layer.loc[layer["code"].isin(s.cut_codes)].to_crs(crs).geometry.to_numpy()
        )
        geom = row.geometry.iloc[0]
        inside = polygonal_part(shapely.intersection(geom, cut))
        outside = polygonal_part(shapely.difference(geom, cut))
        for label, part, region in (("inside", inside, s.inside), ("outside", outside, s.outside)):
            if part.is_empty:
                continue
            piece = row.copy()
            piece[piece.geometry.name] = gpd.GeoSeries([part], index=piece.index, crs=crs)
            piece[before] = piece["region"]
            piece[after] = merge_target(spec, region)
            piece["piece"] = label
            pieces.append(piece)
    out = pd.concat(pieces, ignore_index=True)
    return gpd.GeoDataFrame(out.drop(columns="region"), geometry=units.geometry.name, crs=crs)


def region_geometry(geoms: np.ndarray) -> shapely.Geometry:
    """Dissolve some pieces into one region: union, made valid, polygonal part kept.

    The one dissolve of the project: :func:`build_regions` and the scenario lab
    (:func:`analysis.whatif.evaluate`) both call it.
    """
    return polygonal_part(shapely.make_valid(shapely.union_all(geoms)))


def region_record(code: str, region: Region, centre: Centre) -> dict[str, object]:
    """Return the attributes of a built region (:data:`REGION_COLUMNS` but ``area_km2``)."""
    return {
        "code": code,
        "name_en": region.name_en,
        "name_kk": region.name_kk,
        "name_ru": region.name_ru,
        "centre_name_en": centre.name_en,
        "centre_name_kk": centre.name_kk,
        "centre_name_ru": centre.name_ru,
        "centre_lon": centre.lon,
        "centre_lat": centre.lat,
    }


def build_regions(pieces: gpd.GeoDataFrame, spec: ReformSpec, *, epoch: int) -> gpd.GeoDataFrame:
    """Dissolve pieces into the regions of ``epoch``, with names, centre and area.

    Returns
    -------
    GeoDataFrame
        One row per region (sorted by code) with the columns of
        :data:`REGION_COLUMNS` plus ``epoch`` and geometry, in EPSG:4326;
        ``area_km2`` is computed in :data:`~geo.crs.EQUAL_AREA`.
    """
    require_crs(pieces, name="pieces")
    col = region_col(epoch)
    require_columns(pieces, (col,), name="pieces")
    codes, uniques = pd.factorize(pieces[col], sort=True)
    geoms = pieces.geometry.to_numpy()
    meta = spec.regions_of(epoch)
    rows, shapes = [], []
    for i, code in enumerate(uniques):
        rows.append(region_record(code, meta[code], spec.centres[meta[code].centre]))
        shapes.append(region_geometry(geoms[codes == i]))
    out = gpd.GeoDataFrame(rows, geometry=shapes, crs=pieces.crs).to_crs(WGS84)
    out["area_km2"] = area_km2(out)
    out["epoch"] = epoch
    out = out.sort_values("code").reset_index(drop=True)
    return out[[*REGION_COLUMNS, "epoch", "geometry"]]


def crosswalk(pieces: gpd.GeoDataFrame, spec: ReformSpec) -> pd.DataFrame:
    """Relationship table between ``before`` and ``after`` regions, census style.

    For each (``region_<before>``, ``region_<after>``) pair: ``area_km2`` (equal-area
    CRS) and its share of the before region and of the after region. Shares sum to
    1 over each region because pieces do not overlap (see :func:`build`).
    """
    before, after = region_col(spec.before), region_col(spec.after)
    frame = pd.DataFrame(
        {
            before: pieces[before].to_numpy(),
            after: pieces[after].to_numpy(),
            "area_km2": area_km2(pieces).to_numpy(),
        }
    )
    table = frame.groupby([before, after], as_index=False)["area_km2"].sum()
    table[share_of_area_col(spec.before)] = table["area_km2"] / table.groupby(before)[
        "area_km2"
    ].transform("sum")
    table[share_of_area_col(spec.after)] = table["area_km2"] / table.groupby(after)[
        "area_km2"
    ].transform("sum")
    table["changed"] = table[before] != table[after]
    return table.sort_values([before, after]).reset_index(drop=True)


def validate_regions(
    built: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, *, epoch: int
) -> pd.DataFrame:
    """IoU of every published region against the built region with the same code."""
    scores = iou_by_key(built, reference, key="code")
    ref_area = area_km2(reference).set_axis(reference["code"].to_numpy())
    built_area = built.set_index("code")["area_km2"]
    out = pd.DataFrame(
        {
            "region": scores.index,
            "epoch": epoch,
            "iou": scores.to_numpy(),
            "built_area_km2": built_area.reindex(scores.index).to_numpy(),
            "published_area_km2": ref_area.reindex(scores.index).to_numpy(),
        }
    )
    return out


@dataclass
class BuildResult:
    """Outputs of :func:`build`."""

    spec: ReformSpec
    sources: BoundarySources
    pieces: gpd.GeoDataFrame
    regions: dict[int, gpd.GeoDataFrame]
    crosswalk: pd.DataFrame
    validation: pd.DataFrame
    coverage: CoverageReport | None
    seconds: float
    notes: list[str] = field(default_factory=list)
    #: The chain build this reform was taken from (:func:`reform_build`), else None.
    chain: ChainBuild | None = None

    def enacted(self) -> BuildResult:
        """Return the latest reform of this build's chain (itself when it is not from a chain).

        Official population describes the latest map (2024): control needs that build.
        """
        if self.chain is None:
            return self
        return reform_build(self.chain, self.chain.chain.specs[-1].id)


def build(sources: BoundarySources, spec: ReformSpec) -> BuildResult:
    """Build both epochs' regions, the crosswalk and the validation table.

    With district data, the 2018 districts are first checked as a coverage
    (:func:`shapely.coverage_invalid_edges`) and their overlaps (about 15 km² in the
    geokz 2018 layer) are resolved deterministically: each overlapping sliver is kept
    by the district with the smaller code and cut from the other, so pieces tile
    the country once and areas add up exactly.
    """
    t0 = time.perf_counter()
    pieces, coverage, notes = _base_pieces(sources, spec)
    regions, validation = _epoch_regions(pieces, dict.fromkeys(spec.epochs, spec), sources)
    return BuildResult(
        spec=spec,
        sources=sources,
        pieces=pieces,
        regions=regions,
        crosswalk=crosswalk(pieces, spec),
        validation=validation,
        coverage=coverage,
        seconds=time.perf_counter() - t0,
        notes=notes,
    )


def _base_pieces(
    sources: BoundarySources, spec: ReformSpec
) -> tuple[gpd.GeoDataFrame, CoverageReport | None, list[str]]:
    """Pieces labelled with both epochs of ``spec`` (the spec the sources' units belong to)."""
    notes = list(sources.repairs)
    if sources.kind == "embedded":
        notes.append(
            "embedded default: pre-reform regions derived by merging post-reform regions along the spec's "
            "parent links (exact at region level except Astana's 2022 growth into Tselinograd, 91 km²)"
        )
        return apply_spec(sources.units, spec, granularity="region"), None, notes
    coverage = coverage_report(sources.units)
    notes.append(f"2018 districts: {coverage.summary()}")
    units = resolve_overlaps(sources.units, priority="unit", pairs=coverage.pairs)
    # cutting only shrinks polygons, so overlaps can remain only among those resolved
    involved = units.index.isin([*coverage.pairs["left"], *coverage.pairs["right"]])
    remaining = overlap_pairs(units[involved])["overlap_km2"].sum()
    notes.append(
        f"overlaps resolved (sliver kept by the district with the smaller code): {remaining:.3f} km² remain"
    )
    return apply_spec(units, spec, cut_layers=sources.cut_layers), coverage, notes


def _epoch_regions(
    pieces: gpd.GeoDataFrame, specs: Mapping[int, ReformSpec], sources: BoundarySources
) -> tuple[dict[int, gpd.GeoDataFrame], pd.DataFrame]:
    """Regions of every epoch in ``specs`` (epoch → a spec defining it) and their validation."""
    validation = pd.DataFrame(
        columns=["region", "epoch", "iou", "built_area_km2", "published_area_km2"]
    )
    if not specs:
        return {}, validation
    # a thread per epoch: the dissolves and the overlays of the validation are GEOS,
    # which releases the GIL, so the epochs share two cores. Measured alone (kz-2022 on
    # ../shared/data, 5 interleaved builds, load 3.5): 0.70 s min / 0.74 s median with
    # it, 0.76 / 0.80 s without; bench_pipeline.py's threads stage measures all threads
    with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="epoch") as pool:
        tasks = {
            e: pool.submit(_epoch, pieces, specs[e], e, sources.reference.get(e)) for e in specs
        }
        done = {e: task.result() for e, task in tasks.items()}
    regions = {e: built for e, (built, _) in done.items()}
    frames = [done[e][1] for e in sources.reference if e in done]
    if frames:
        validation = pd.concat(frames, ignore_index=True)
    return regions, validation


def _epoch(
    pieces: gpd.GeoDataFrame, spec: ReformSpec, epoch: int, reference: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None]:
    """Return the regions of ``epoch`` and, given a published layer, their validation."""
    regions = build_regions(pieces, spec, epoch=epoch)
    return regions, None if reference is None else validate_regions(regions, reference, epoch=epoch)


def piece_keys(pieces: pd.DataFrame) -> pd.Series:
    """``CODE:inside``/``CODE:outside`` for pieces of a split unit, ``CODE`` for whole ones."""
    whole = pieces["piece"] == "whole"
    return pieces["unit"].where(whole, pieces["unit"] + ":" + pieces["piece"].astype(str))


def derive_before(
    pieces: gpd.GeoDataFrame, spec: ReformSpec, *, granularity: str = "district"
) -> gpd.GeoDataFrame:
    """Label pieces with the ``before`` region of ``spec``, from their ``after`` region.

    A piece's ``before`` region is its ``[[members]]`` region when its unit (``CODE``)
    or piece (``CODE:outside``) is listed there, else the ``parent`` of its ``after``
    region (the same code when there is none). This builds an earlier epoch of a chain
    from later units: 2017 South Kazakhstan = Turkistan region + Shymkent city (parents),
    1996 oblasts from the districts listed as their members.

    Parameters
    ----------
    pieces : GeoDataFrame
        Pieces with ``unit``, ``piece`` and ``region_<after>`` (see :func:`apply_spec`).
    spec : ReformSpec
        The reform leading from ``before`` to ``after``.
    granularity : {"district", "region"}
        ``"region"`` when units are whole regions (embedded default): a spec with
        ``[[members]]`` needs districts and raises.

    Returns
    -------
    GeoDataFrame
        A copy with ``region_<before>``.

    Raises
    ------
    ReformSpecError
        Members naming unknown units, ``after`` regions the spec does not define,
        ``before`` regions left empty, or members with region-level units.
    """
    require_columns(pieces, ("unit", "piece", region_col(spec.after)), name="pieces")
    after = pieces[region_col(spec.after)].astype(object)
    after_regions = spec.regions_of(spec.after)
    problems = [
        f"pieces have {spec.after} region {c} that the spec does not define for {spec.after}; add it to [[regions]]"
        for c in sorted(set(after.dropna()) - set(after_regions))
    ]
    members = spec.member_regions()
    if members and granularity == "region":
        problems.append(
            f"[[members]] list districts, but the units are whole regions; pass a data directory with districts to build {spec.before}"
        )
    keys = piece_keys(pieces)
    known = set(keys) | set(pieces["unit"])
    problems += [
        f"[[members]] {region}: unit {u} is not a district (ADM2_PCODE) or split piece "
        "(CODE:inside/CODE:outside) of the units; fix the code"
        for u, region in members.items()
        if u not in known and granularity != "region"
    ]
    before = after.map(lambda c: spec.parent_of(c) if c in after_regions else c)
    listed = keys.map(members).fillna(pieces["unit"].map(members))
    before = listed.where(listed.notna(), before)
    empty = sorted(set(spec.regions_of(spec.before)) - set(before.dropna()))
    problems += [
        f"{spec.before} region {c} receives no district; list its units in [[members]] or give it a child region"
        for c in empty
    ]
    if problems:
        raise ReformSpecError(spec.source, problems)
    out = pieces.copy()
    out[region_col(spec.before)] = before.to_numpy()
    return out


@dataclass
class ChainBuild:
    """Outputs of :func:`build_chain`: every epoch of a reform chain."""

    chain: ReformChain
    sources: BoundarySources
    pieces: gpd.GeoDataFrame
    regions: dict[int, gpd.GeoDataFrame]
    validation: pd.DataFrame
    coverage: CoverageReport | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def epochs(self) -> tuple[int, ...]:
        """The epochs built, oldest first (with the embedded default, those it can build)."""
        return tuple(sorted(self.regions))

    @property
    def specs(self) -> tuple[ReformSpec, ...]:
        """The reforms whose both epochs were built, oldest first."""
        return tuple(s for s in self.chain.specs if s.before in self.regions)


def build_chain(
    sources: BoundarySources, chain: ReformChain, *, base: BuildResult | None = None
) -> ChainBuild:
    """Build every epoch of ``chain`` from the units of ``sources``.

    The units belong to the latest reform's ``before`` epoch (2018 districts; with the
    embedded default, its ``after`` regions), as for :func:`build`. That reform is applied
    as usual; each earlier epoch is then derived from the next with
    :func:`derive_before`. With the embedded default, epochs that need districts
    (``[[members]]``) are left out and a note says so.

    Parameters
    ----------
    base : BuildResult, optional
        :func:`build` of the latest reform on the same sources, already made: its
        pieces, regions and validation are reused, not built again.
    """
    t0 = time.perf_counter()
    last = chain.specs[-1]
    if base is None:
        pieces, coverage, notes = _base_pieces(sources, last)
        done, checked = {}, None
    else:
        if base.spec.id != last.id or base.spec.epochs != last.epochs:
            msg = f"base build is of {base.spec.id}, not of the chain's latest reform {last.id}"
            raise ValueError(msg)
        pieces, coverage, notes = base.pieces, base.coverage, list(base.notes)
        done, checked = base.regions, base.validation
    granularity = "region" if sources.kind == "embedded" else "district"
    for spec in reversed(chain.specs[:-1]):
        if granularity == "region" and spec.members:
            notes.append(
                f"embedded default: epoch {spec.before} ({spec.id}) and earlier need district "
                "units; pass --data-dir to build them"
            )
            break
        pieces = derive_before(pieces, spec, granularity=granularity)
    epochs = [e for e in chain.epochs if region_col(e) in pieces.columns and e not in done]
    regions, validation = _epoch_regions(
        pieces, {e: chain.spec_of_epoch(e) for e in epochs}, sources
    )
    regions = dict(sorted({**done, **regions}.items()))
    if checked is not None:
        frames = [f for f in (checked, validation) if len(f)]
        validation = pd.concat(frames, ignore_index=True) if frames else checked
    return ChainBuild(
        chain=chain,
        sources=sources,
        pieces=pieces,
        regions=regions,
        validation=validation,
        coverage=coverage,
        seconds=time.perf_counter() - t0,
        notes=notes,
    )


def reform_build(chain_build: ChainBuild, reform_id: str) -> BuildResult:
    """One reform of a chain build as a :class:`BuildResult` (its ``before`` and ``after`` epochs).

    Raises
    ------
    DataError
        The reform's ``before`` epoch was not built (it needs district units).
    """
    spec = chain_build.chain.spec(reform_id)
    missing = [e for e in spec.epochs if e not in chain_build.regions]
    if missing:
        msg = (
            f"reform {reform_id}: epoch {missing[0]} needs district boundaries, which the "
            "embedded default lacks; pass --data-dir DIR (a folder laid out like ../shared/data)"
        )
        raise DataError(msg)
    v = chain_build.validation
    return BuildResult(
        spec=spec,
        sources=chain_build.sources,
        pieces=chain_build.pieces,
        regions={e: chain_build.regions[e] for e in spec.epochs},
        crosswalk=crosswalk(chain_build.pieces, spec),
        validation=v[v["epoch"].isin(spec.epochs)].reset_index(drop=True),
        coverage=chain_build.coverage,
        seconds=chain_build.seconds,
        notes=list(chain_build.notes),
        chain=chain_build,
    )
