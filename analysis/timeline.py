"""Analysis over a reform chain: every settlement in every epoch, and per-reform tables.

* :func:`timeline_settlements` — each settlement's region, centre and geodesic distance
  to the centre in every epoch of a :class:`~boundaries.build.ChainBuild`.
* :func:`reform_summary` — per reform and pre-reform region whose centre moved for
  someone: population-weighted mean distance before and after, shares nearer/farther.
* :func:`reform_winners_losers` — per reform, the towns that gained and lost most.
* :func:`successor_overlap` — area overlap (EPSG:6933) of today's regions with the
  oblasts they were formed from (Ulytau/Zhezkazgan, Abai/Semipalatinsk, Zhetysu/Taldykorgan).
* :func:`former_centres` — the centres of abolished regions in every epoch.
* :func:`timeline_table` — the ``timeline.csv`` contract: one row per settlement.
* :func:`chain_tables` — all of them by name, for the CLI, the report and the app.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.assign import assign_regions
from analysis.distances import epoch_distances
from analysis.population import estimate_population
from analysis.stats import affected_regions, winners_losers
from boundaries.build import ChainBuild
from boundaries.schema import (
    DELTA_KM,
    POPULATION_EST,
    centre_col,
    dist_col,
    pw_mean_col,
    region_col,
)
from geo.crs import WGS84, area_km2, to_lonlat
from geo.distance import geodesic_km
from geo.validation import require_columns

#: Today's regions and the former oblasts they were formed on (address of 16 March 2022:
#: "The Ulytau region must be formed on the territory of the former Zhezkazgan region").
#: Each entry: (region, epoch, former oblast, its epoch).
SUCCESSORS: tuple[tuple[str, int, str, int], ...] = (
    ("KZ-62", 2024, "KZ-ZHE", 1996),  # Ulytau / Zhezkazgan
    ("KZ-10", 2024, "KZ-SEM", 1996),  # Abai / Semipalatinsk
    ("KZ-33", 2024, "KZ-TAL", 1996),  # Zhetysu / Taldykorgan
)

#: Official areas of the abolished oblasts (km²), to size the approximation of the
#: 1996 epoch: Kazakh SSR figures as given by the Kazakhstan Encyclopedia and
#: Wikipedia (Zhezkazgan 313.4, Semipalatinsk 179.6, Taldykorgan 118.5, Kokshetau 78.1,
#: Turgay 111.9 thousand km²).
OFFICIAL_AREA_KM2 = {
    "KZ-ZHE": 313_400.0,
    "KZ-SEM": 179_600.0,
    "KZ-TAL": 118_500.0,
    "KZ-KOK": 78_100.0,
    "KZ-TUR": 111_900.0,
}


def timeline_settlements(settlements: gpd.GeoDataFrame, chain: ChainBuild) -> gpd.GeoDataFrame:
    """Region, centre and distance of every settlement in every epoch of ``chain``.

    Returns
    -------
    GeoDataFrame
        A copy of ``settlements`` with ``region_<e>``, ``centre_<e>``,
        ``centre_<e>_lon``/``_lat`` and ``dist_<e>_km`` for every built epoch,
        ``assignment`` (see :func:`~analysis.assign.assign_regions`) and the
        population columns of :func:`~analysis.population.estimate_population`
        (stratified by the region of the units' epoch, as in the single-reform analysis).
        Settlements that already have ``population_est`` (an analysis's settlements)
        keep their population columns.
    """
    epochs = chain.epochs
    assigned = assign_regions(settlements, chain.pieces, epochs=epochs)
    with_dist = epoch_distances(assigned, chain.regions)
    if POPULATION_EST in settlements.columns:  # an analysis's settlements: keep its figures
        return with_dist
    base = chain.chain.specs[-1].before
    return estimate_population(with_dist, region_col=region_col(base))


def _reform_view(timeline: pd.DataFrame, spec, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Select one reform's two epochs (and ``extra`` columns) and add ``delta_km``."""
    b, a = spec.before, spec.after
    cols = [region_col(b), region_col(a), centre_col(b), centre_col(a), dist_col(b), dist_col(a)]
    view = pd.DataFrame(timeline[[*extra, *cols, POPULATION_EST]])
    view[DELTA_KM] = view[dist_col(a)] - view[dist_col(b)]
    return view


def _epoch_free(table: pd.DataFrame, spec) -> pd.DataFrame:
    """Rename a reform's per-epoch columns to ``*_before``/``*_after`` and prefix the reform."""
    b, a = spec.before, spec.after
    names = {}
    for side, e in (("before", b), ("after", a)):
        names |= {
            region_col(e): region_col(side),
            centre_col(e): centre_col(side),
            dist_col(e): dist_col(side),
            pw_mean_col(e): f"pop_weighted_mean_{side}_km",
        }
    out = table.rename(columns=names)
    out.insert(0, "after", a)
    out.insert(0, "before", b)
    out.insert(0, "reform", spec.id)
    return out


def reform_summary(timeline: pd.DataFrame, chain: ChainBuild) -> pd.DataFrame:
    """Per reform and pre-reform region where some distance changed: who got nearer or farther.

    One row per (reform, region of its ``before`` epoch), with the columns of
    :func:`~analysis.stats.affected_regions` under epoch-free names:
    ``pop_weighted_mean_before_km``, ``pop_weighted_mean_after_km``,
    ``share_pop_farther`` and so on, weighted by ``population_est``.
    """
    require_columns(timeline, (POPULATION_EST,), name="timeline")
    frames = []
    for spec in chain.specs:
        view = _reform_view(timeline, spec)
        table = affected_regions(view, before=spec.before, after=spec.after)
        if table.empty:
            continue
        names = chain.regions[spec.before].set_index("code")
        table = _epoch_free(table, spec)
        table.insert(4, "name_before", table["region_before"].map(names["name_en"]))
        table.insert(5, "centre_before", table["region_before"].map(names["centre_name_en"]))
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def reform_winners_losers(
    timeline: pd.DataFrame, chain: ChainBuild, *, top: int = 10
) -> pd.DataFrame:
    """Per reform, the places (known population ≥ 1,000) whose trip to the centre shrank or grew most.

    :func:`~analysis.stats.winners_losers` for each reform of the chain, under
    epoch-free column names (``region_before``, ``dist_after_km``, …).
    """
    extra = tuple(c for c in ("id", "name", "name_en", "population") if c in timeline.columns)
    frames = []
    for spec in chain.specs:
        view = _reform_view(timeline, spec, extra)
        table = winners_losers(view, before=spec.before, after=spec.after, top=top)
        if len(table):
            frames.append(_epoch_free(table, spec))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def successor_overlap(
    regions: dict[int, gpd.GeoDataFrame],
    *,
    pairs: tuple[tuple[str, int, str, int], ...] = SUCCESSORS,
    sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Area overlap of regions with the former regions they succeed, and their centres' distance.

    The intersection is computed in the regions' CRS and every area in
    :data:`~geo.crs.EQUAL_AREA` (EPSG:6933). Pairs whose epochs were not built are skipped.

    Returns
    -------
    DataFrame
        One row per pair: both codes, names and areas, ``overlap_km2``, the overlap's
        share of each, ``iou``, ``centres_km`` (geodesic distance between the centres)
        and ``former_source`` (from ``sources``, former region → where its membership
        is documented; see :func:`member_sources`).
    """
    rows = []
    for code, epoch, former, former_epoch in pairs:
        if epoch not in regions or former_epoch not in regions:
            continue
        a = regions[epoch].set_index("code").loc[code]
        b = regions[former_epoch].set_index("code").loc[former]
        crs = regions[epoch].crs
        geoms = gpd.GeoSeries(
            [a.geometry, b.geometry, shapely.intersection(a.geometry, b.geometry)], crs=crs
        )
        area_a, area_b, inter = area_km2(geoms).to_numpy()
        rows.append(
            {
                "region": code,
                "epoch": epoch,
                "name_en": a["name_en"],
                "former_region": former,
                "former_epoch": former_epoch,
                "former_name_en": b["name_en"],
                "area_km2": area_a,
                "former_area_km2": area_b,
                "former_official_area_km2": OFFICIAL_AREA_KM2.get(former, np.nan),
                "overlap_km2": inter,
                "share_of_region": inter / area_a,
                "share_of_former": inter / area_b,
                "iou": inter / (area_a + area_b - inter),
                "centre": a["centre_name_en"],
                "former_centre": b["centre_name_en"],
                "centres_km": float(
                    geodesic_km(a["centre_lon"], a["centre_lat"], b["centre_lon"], b["centre_lat"])
                ),
                "former_source": (sources or {}).get(former, ""),
            }
        )
    return pd.DataFrame(rows)


def member_sources(chain: ChainBuild) -> dict[str, str]:
    """Region → the source of its ``[[members]]`` list, over every spec of the chain."""
    return {m.region: m.source for spec in chain.chain.specs for m in spec.members}


def approximation_table(regions: dict[int, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Built area of each abolished oblast against its official area (size of the approximation)."""
    rows = []
    for epoch, table in sorted(regions.items()):
        for r in table[table["code"].isin(OFFICIAL_AREA_KM2)].itertuples(index=False):
            official = OFFICIAL_AREA_KM2[r.code]
            rows.append(
                {
                    "region": r.code,
                    "epoch": epoch,
                    "name_en": r.name_en,
                    "built_area_km2": r.area_km2,
                    "official_area_km2": official,
                    "difference_pct": 100 * (r.area_km2 - official) / official,
                }
            )
    return pd.DataFrame(rows)


def former_centres(chain: ChainBuild) -> pd.DataFrame:
    """Centres of regions abolished along the chain, with their region, centre and distance in every epoch.

    A region is abolished at a reform when its code is absent from the next epoch
    (Zhezkazgan, Semipalatinsk, Taldykorgan, Kokshetau, Turgay oblasts in 1997; South
    Kazakhstan in 2018).
    """
    epochs = chain.epochs
    rows = []
    for e, nxt in itertools.pairwise(epochs):
        gone = chain.regions[e][~chain.regions[e]["code"].isin(chain.regions[nxt]["code"])]
        for r in gone.itertuples(index=False):
            rows.append(
                {
                    "centre": r.centre_name_en,
                    "former_region": r.code,
                    "former_name_en": r.name_en,
                    "abolished_after": e,
                    "lon": r.centre_lon,
                    "lat": r.centre_lat,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["centre", "former_region", "former_name_en", "abolished_after", "lon", "lat"]
    )
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    )
    placed = epoch_distances(assign_regions(points, chain.pieces, epochs=epochs), chain.regions)
    cols = [c for e in epochs for c in (region_col(e), centre_col(e), dist_col(e))]
    return pd.DataFrame(placed[[*frame.columns, *cols]])


def timeline_table(timeline: gpd.GeoDataFrame, epochs: tuple[int, ...]) -> pd.DataFrame:
    """Return the ``timeline.csv`` table: one row per settlement.

    Identity and population columns, ``assignment``, then ``region_<e>``,
    ``centre_<e>``, ``dist_<e>_km`` for every epoch, then ``lon``/``lat``.
    """
    ident = [
        c
        for c in ("id", "osm_id", "name", "name_en", "place", "population", POPULATION_EST)
        if c in timeline.columns
    ]
    per_epoch = [c for e in epochs for c in (region_col(e), centre_col(e), dist_col(e))]
    table = pd.DataFrame(timeline[[*ident, "assignment", *per_epoch]])
    for e in epochs:
        table[dist_col(e)] = table[dist_col(e)].round(3)
    pts = to_lonlat(timeline.geometry, name="timeline", copy=False)
    table["lon"] = pts.x.round(6).to_numpy()
    table["lat"] = pts.y.round(6).to_numpy()
    return table


def chain_tables(timeline: gpd.GeoDataFrame, chain: ChainBuild) -> dict[str, pd.DataFrame]:
    """Every table of the chain by name (the CLI writes each as ``<name>.csv``).

    ``timeline`` (:func:`timeline_table`), ``reform_summary``, ``winners_losers``, ``successor_overlap``,
    ``approximation``, ``former_centres`` and the ``validation`` of the built epochs.
    """
    return {
        "timeline": timeline_table(timeline, chain.epochs),
        "reform_summary": reform_summary(timeline, chain),
        "winners_losers": reform_winners_losers(timeline, chain),
        "successor_overlap": successor_overlap(chain.regions, sources=member_sources(chain)),
        "approximation": approximation_table(chain.regions),
        "former_centres": former_centres(chain),
        "validation": chain.validation,
    }
