"""Official population (BNS) as control totals for every settlement figure.

:func:`control_units` turns the bulletin into control units with polygons (geokz
2024 districts matched by :func:`inputs.bns_match.match_districts`, or the
post-reform regions when no district data is at hand). :func:`apply_official`
then, for the settlements of an analysis:

* marks places in no region of either epoch as abroad: listed, never counted
  (``population`` NaN, ``population_basis == "abroad (not counted)"``);
* puts every other settlement in a control unit: point in polygon among the units
  of its own post-reform region (nearest unit of that region when it falls in a
  digitising gap), so unit totals add up to region totals exactly;
* finds every BNS settlement among them (:func:`inputs.bns_match.match_settlements`)
  and controls all figures to the unit totals (:mod:`analysis.control`);
* adds one representative point per unit whose people no settlement can carry.

Columns after control: ``population`` (the figure used, whole people),
``population_est`` (the same, kept for readers of the earlier schema),
``population_low``/``population_high`` (allocated with the prior's quartiles as
weights: the band of the allocated part), ``population_osm`` (the gazetteer's own
figure), ``population_prior`` (the earlier estimate: tag or imputed median),
``population_basis``, ``bns_unit``, ``bns_name`` and ``abroad``.

:func:`official_shift` gives the reform's population shift in the regional
series' own numbers (1 January 2021, old borders, vs 1 January 2022, new ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.assign import subdivide
from analysis.control import (
    ALLOCATED,
    ALLOCATED_FIGURE,
    ALLOCATED_IMPUTED,
    COUNTED,
    REMAINDER,
    allocate,
    remainders,
)
from analysis.population import population_summary
from boundaries.schema import region_col
from geo.crs import WGS84, require_crs
from inputs.bns import BNS_SOURCE, BULLETIN_DATE, Bulletin
from inputs.bns_match import DistrictMatch, match_districts, match_settlements
from inputs.names import latin_names

ABROAD = "abroad (not counted)"
#: Prior bases (:mod:`analysis.population`) that are a gazetteer's own figure.
PRIOR_FIGURES = ("known", "secondary gazetteer figure")
#: Bases after control whose figure rests on a count: the official one, or a gazetteer
#: figure scaled to the official unit total.
COUNTED_BASES = (COUNTED, ALLOCATED_FIGURE)


@dataclass
class ControlUnits:
    """Official totals with polygons: ``unit``, ``region``, ``population``, ``name``, geometry."""

    bulletin: Bulletin
    units: gpd.GeoDataFrame
    level: str  # "district" or "region"
    districts: DistrictMatch | None = None


@dataclass
class OfficialResult:
    """What control did: settlement matches, unit totals, checks."""

    units: ControlUnits
    matches: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def control_units(
    bulletin: Bulletin,
    *,
    districts: gpd.GeoDataFrame | None = None,
    regions: gpd.GeoDataFrame | None = None,
) -> ControlUnits:
    """Control units from geokz 2024 districts (preferred) or post-reform regions.

    Parameters
    ----------
    bulletin : Bulletin
        :func:`inputs.bns.load_bulletin`.
    districts : GeoDataFrame, optional
        geokz ``adm2_2024`` with ``KATO``, ``ADM2_KK``, ``ADM2_RU``, ``ADM2_EN``,
        ``region`` and polygons (needs ``bulletin.districts``).
    regions : GeoDataFrame, optional
        Post-reform regions (``code``, polygons), used when ``districts`` is None.
    """
    if districts is not None and len(bulletin.districts):
        require_crs(districts, name="districts")
        match = match_districts(bulletin.districts, districts)
        geom = districts.geometry.to_crs(WGS84).to_numpy()
        rows = districts.groupby("KATO", sort=False).indices  # KATO -> row positions, once
        polys = [
            shapely.union_all(geom[np.concatenate([rows[k] for k in katos.split(";")])])
            for katos in match.units["katos"]
        ]
        table = match.units.assign(name=match.units["bns_names"])
        units = gpd.GeoDataFrame(table, geometry=polys, crs=WGS84)
        return ControlUnits(bulletin, units, "district", match)
    if regions is None:
        msg = "control_units: give districts (with a bulletin that has them) or regions"
        raise ValueError(msg)
    require_crs(regions, name="regions")
    reg = regions.to_crs(WGS84)
    figures = bulletin.regions.set_index("region")
    units = gpd.GeoDataFrame(
        {
            "unit": reg["code"].to_numpy(),
            "region": reg["code"].to_numpy(),
            "population": reg["code"]
            .map(figures["population"])
            .fillna(0)
            .astype("int64")
            .to_numpy(),
            "name": reg["code"].map(figures["name_kk"]).to_numpy(),
        },
        geometry=reg.geometry.to_numpy(),
        crs=WGS84,
    )
    return ControlUnits(bulletin, units, "region")


def locate_units(
    settlements: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, region_col: str
) -> pd.Series:
    """Control unit of each settlement, chosen among the units of its own region.

    A point inside no unit of its region (a digitising gap between the geokz
    district layer and the build) takes the nearest unit of that region; a row
    without a region gets NaN.
    """
    pts = settlements.geometry.to_crs(WGS84).to_numpy()
    region = settlements[region_col].astype(object).to_numpy()
    unit_region = units["region"].to_numpy(dtype=object)
    cells, owner = subdivide(units.geometry.to_numpy())
    p_idx, c_idx = shapely.STRtree(cells).query(pts, predicate="intersects")
    keep = unit_region[owner[c_idx]] == region[p_idx]
    p_idx, u_idx = p_idx[keep], owner[c_idx][keep]
    found = np.full(len(pts), -1)
    order = np.lexsort((u_idx, p_idx))
    first = np.r_[True, p_idx[order][1:] != p_idx[order][:-1]] if p_idx.size else []
    found[p_idx[order][first]] = u_idx[order][first]
    has_region = pd.notna(region)
    for i in np.flatnonzero((found < 0) & has_region):
        mine = np.flatnonzero(unit_region == region[i])
        if mine.size:
            found[i] = mine[np.argmin(shapely.distance(units.geometry.to_numpy()[mine], pts[i]))]
    codes = units["unit"].to_numpy(dtype=object)
    return pd.Series(
        np.where(found >= 0, codes[found], None), index=settlements.index, dtype=object
    )


def _places_with_units(cu: ControlUnits) -> pd.DataFrame:
    places = cu.bulletin.settlements.copy()
    if cu.level == "district":
        unit_of_row = cu.districts.links.drop_duplicates("bns_row").set_index("bns_row")["unit"]
        places["unit"] = places["district_row"].map(unit_of_row)
    else:
        places["unit"] = places["region"]
    return places


def apply_official(
    settlements: gpd.GeoDataFrame, cu: ControlUnits, *, after: int, before: int
) -> tuple[gpd.GeoDataFrame, OfficialResult]:
    """Control every settlement figure to the official totals (see the module notes).

    Parameters
    ----------
    settlements : GeoDataFrame
        Assigned settlements with the prior estimate (``population``,
        ``population_est``, ``population_low``, ``population_high``,
        ``population_basis``) and ``region_<before>``/``region_<after>``.
    cu : ControlUnits
        :func:`control_units`.
    after, before : int
        The epochs; units belong to ``after`` regions.

    Returns
    -------
    (GeoDataFrame, OfficialResult)
        The settlements (plus representative points, ``source == "bns"``, without
        ``region_<before>`` yet: the caller assigns them) and the match table.
    """
    a = region_col(after)
    out = settlements.copy()
    out["population_osm"] = pd.to_numeric(out["population"], errors="coerce")
    out["population_prior"] = out["population_est"]
    out["abroad"] = out[a].isna() & out[region_col(before)].isna()
    out["bns_unit"] = locate_units(out, cu.units, region_col=a)
    places = _places_with_units(cu)
    matches = match_settlements(
        places, out, unit_col="bns_unit", region_col=a, weight_col="population_prior"
    )
    hit = matches[matches["match"] >= 0]
    idx = out.index[hit["match"].to_numpy()]
    fixed = pd.Series(np.nan, index=out.index)
    fixed[idx] = hit["population"].to_numpy(dtype="float64")
    out.loc[idx, "bns_unit"] = hit["unit"].to_numpy()
    out["bns_name"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[idx, "bns_name"] = hit["name_kk"].to_numpy()
    totals = cu.units.set_index("unit")["population"]
    pop, basis = allocate(out["bns_unit"], out["population_prior"], fixed, totals)
    low, _ = allocate(out["bns_unit"], out["population_low"], fixed, totals)
    high, _ = allocate(out["bns_unit"], out["population_high"], fixed, totals)
    band = np.sort(np.column_stack([low, high, pop]), axis=1)
    out["population"], out["population_est"] = pop, pop
    out["population_low"], out["population_high"] = band[:, 0], band[:, 2]
    figure = out["population_basis"].isin(PRIOR_FIGURES)
    basis = basis.mask(basis.eq(ALLOCATED) & figure, ALLOCATED_FIGURE)
    basis = basis.mask(basis.eq(ALLOCATED), ALLOCATED_IMPUTED)
    out["population_basis"] = basis.where(basis != "", ABROAD)
    extra = _representative_points(cu, remainders(out["bns_unit"], pop, totals), after=after)
    if len(extra):
        out = pd.concat([out, extra], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry=settlements.geometry.name, crs=settlements.crs)
    return out, OfficialResult(cu, matches)


def _representative_points(cu: ControlUnits, left: pd.Series, *, after: int) -> gpd.GeoDataFrame:
    """One point per unit whose remaining people no settlement carries."""
    if left.empty:
        return gpd.GeoDataFrame(geometry=[], crs=WGS84)
    units = cu.units.set_index("unit").loc[left.index]
    pts = shapely.point_on_surface(units.geometry.to_numpy())
    n = len(units)
    return gpd.GeoDataFrame(
        {
            "id": [f"bns:{u}" for u in units.index],
            "source": "bns",
            "name": units["name"].to_numpy(),
            "name_latn": latin_names(units[["name"]]).to_numpy(),
            "place": "district remainder",
            "population": left.to_numpy(dtype="float64"),
            "population_est": left.to_numpy(dtype="float64"),
            "population_low": left.to_numpy(dtype="float64"),
            "population_high": left.to_numpy(dtype="float64"),
            "population_prior": np.zeros(n),
            "population_basis": REMAINDER,
            "population_status": "missing",
            "bns_unit": units.index.to_numpy(),
            "abroad": False,
            region_col(after): units["region"].to_numpy(),
        },
        geometry=pts,
        crs=WGS84,
    )


# --------------------------------------------------------------------------- checks


def population_check(
    settlements: pd.DataFrame,
    result: OfficialResult,
    series: pd.DataFrame | None,
    *,
    before: int,
    after: int,
) -> pd.DataFrame:
    """Project vs official figures, per region and epoch and per BNS settlement.

    Region rows: the ``after`` regions against the bulletin (1 January 2023); the
    ``before`` regions against the regional series on 1 January 2021, the last
    count in the old borders (so the difference includes two years of change).
    Settlement rows: the official figure against the gazetteer's own figure
    (``osm_population``) of the matched point.
    """
    rows = []
    cu = result.units
    official = cu.bulletin.regions.set_index("region")["population"]
    for epoch, ref, date, src in (
        (after, official, BULLETIN_DATE, cu.bulletin.source),
        (before, _series_year(series, 2021), "2021-01-01", "regional series"),
    ):
        proj = settlements.groupby(settlements[region_col(epoch)].astype(object))[
            "population"
        ].sum()
        for code in sorted(set(proj.index) | set(ref.index)):
            off = ref.get(code, np.nan)
            rows.append(
                {"level": "region", "epoch": epoch, "code": code, "name": code,
                 "project_population": float(proj.get(code, 0.0)), "official_population": off,
                 "official_date": date, "source": f"{BNS_SOURCE}: {src}"}
            )  # fmt: skip
    osm = settlements["population_osm"].to_numpy()
    prior = settlements["population_prior"].to_numpy()
    for m in result.matches.itertuples(index=False):
        rows.append(
            {"level": "settlement", "epoch": after, "code": m.unit, "name": m.name_kk,
             "project_population": float(m.population) if m.match >= 0 else np.nan,
             "official_population": m.population, "official_date": BULLETIN_DATE,
             "source": f"{BNS_SOURCE}: {cu.bulletin.source}",
             "osm_population": osm[m.match] if m.match >= 0 else np.nan,
             "prior_population": prior[m.match] if m.match >= 0 else np.nan,
             "match_status": m.status,
             "matched_id": settlements["id"].iloc[m.match] if m.match >= 0 else None}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["difference"] = table["project_population"] - table["official_population"]
    table["osm_error_pct"] = 100 * (table["osm_population"] / table["official_population"] - 1)
    table["prior_error_pct"] = 100 * (table["prior_population"] / table["official_population"] - 1)
    return table


def _series_year(series: pd.DataFrame | None, year: int) -> pd.Series:
    if series is None:
        return pd.Series(dtype="float64")
    sel = series[(series["year"] == year) & (series["region"] != "KZ")]
    return sel.set_index("region")["population"].astype("float64").dropna()


def osm_error(check: pd.DataFrame) -> dict[str, float]:
    """How far the earlier figures are from official settlement counts.

    ``mdape_pct``: median absolute percentage error of the gazetteer's own figure
    (OSM ``population`` tag) over the BNS settlements whose matched point has one;
    ``prior_mdape_pct``: the same for the earlier estimate (tag, GeoNames figure or
    imputed median) over every matched BNS settlement.
    """
    s = check[check["level"] == "settlement"]
    tagged = s["osm_population"].notna()
    err = s.loc[tagged, "osm_error_pct"].abs()
    prior = s.loc[s["prior_population"].notna(), "prior_error_pct"].abs()
    return {
        "places_compared": int(tagged.sum()),
        "mdape_pct": float(err.median()) if len(err) else float("nan"),
        "within_10pct": float((err <= 10).mean()) if len(err) else float("nan"),
        "prior_places_compared": len(prior),
        "prior_mdape_pct": float(prior.median()) if len(prior) else float("nan"),
        "prior_within_10pct": float((prior <= 10).mean()) if len(prior) else float("nan"),
    }


def population_sources(settlements: pd.DataFrame, *, epoch: int) -> pd.DataFrame:
    """Per region of ``epoch``: people from official counts, allocation and remainder points.

    ``allocated_low``/``allocated_high`` sum each allocated settlement's band: its
    share recomputed with the prior's 25th and 75th percentiles as weights (see
    :mod:`analysis.population`). The band says how many people could sit in other
    settlements of the same control unit; it moves no one between regions made of
    whole units, whose totals are fixed by the official figures.
    """
    col = region_col(epoch)
    used = [col, "population", "population_low", "population_high", "population_basis"]
    frame = pd.DataFrame(settlements[used])  # these columns only: copying all took 0.03 s
    frame = frame[frame[col].notna()]
    g = frame.groupby(frame[col].astype(object))
    basis = frame["population_basis"].replace(
        {ALLOCATED_FIGURE: ALLOCATED, ALLOCATED_IMPUTED: ALLOCATED}
    )
    by_region = frame[col].astype(object)

    def total(values: pd.Series, kind: str) -> pd.Series:
        return values.where(basis == kind, 0).groupby(by_region).sum()

    out = pd.DataFrame(
        {
            "counted": total(frame["population"], COUNTED),
            "allocated": total(frame["population"], ALLOCATED),
            "allocated_low": total(frame["population_low"], ALLOCATED),
            "allocated_high": total(frame["population_high"], ALLOCATED),
            "representative": total(frame["population"], REMAINDER),
        }
    )
    out["population"] = g["population"].sum()
    out["counted_share"] = out["counted"] / out["population"]
    out.insert(0, "epoch", epoch)
    return out.reset_index(names="region")


# --------------------------------------------------------------------------- shift


def official_shift(series: pd.DataFrame, parents: dict[str, str]) -> pd.DataFrame:
    """Tabulate the reform's population shift in official numbers, with dates.

    Parameters
    ----------
    series : DataFrame
        :func:`inputs.bns.read_series` (long form).
    parents : dict
        New region → the pre-reform region it was formed from (``{"KZ-33": "KZ-19", …}``,
        the spec's ``parent`` links).

    Returns
    -------
    DataFrame
        One row per (old region, new region): ``region_before``,
        ``population_before`` on 1 January 2021 (old borders), ``region_after``,
        ``population_after`` on 1 January 2022 (new borders), ``share_after`` (of
        the old region's successors in 2022), the two dates and the source.
    """
    pop = series.set_index(["region", "year"])["population"]
    rows = []
    for old in sorted(set(parents.values())):
        successors = [old, *sorted(k for k, v in parents.items() if v == old)]
        total = sum(int(pop[(s, 2022)]) for s in successors)
        for new in successors:
            rows.append(
                {"region_before": old, "population_before": int(pop[(old, 2021)]),
                 "date_before": "2021-01-01", "region_after": new,
                 "population_after": int(pop[(new, 2022)]), "date_after": "2022-01-01",
                 "share_after": int(pop[(new, 2022)]) / total,
                 "source": f"{BNS_SOURCE}, population by region on 1 January"}
            )  # fmt: skip
    return pd.DataFrame(rows)


def controlled_summary(settlements: pd.DataFrame) -> dict[str, float]:
    """Headline population figures after control, over places in the country only.

    Keys of :func:`analysis.population.population_summary` (``population_known`` =
    people on official settlement counts; ``imputed_*`` = the allocated and
    representative part, with the band of the allocated part) plus ``abroad``
    (places listed but not counted) and ``covers`` (what the totals cover).
    """
    home = settlements[~settlements["abroad"].astype(bool)]
    summary = population_summary(home, counted=home["population_basis"] == COUNTED)
    return {
        **summary,
        "abroad": int(settlements["abroad"].astype(bool).sum()),
        "covers": "settlements in Kazakhstan (places abroad listed, not counted)",
    }
