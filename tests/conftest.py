"""Shared fixtures: the real data in ../shared/data, the bundled spec, cached builds."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import Point, Polygon, box

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
NO_DATA = (
    f"real data folder {DATA} is absent (it sits beside the project root on dev machines and in CI)"
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "geokz").is_dir():
        pytest.skip(NO_DATA)
    return DATA


@pytest.fixture(scope="session")
def spec():
    from boundaries.spec import load_spec

    return load_spec()


@pytest.fixture(scope="session")
def geokz_sources(data_dir):
    from boundaries.sources import load_geokz

    return load_geokz(data_dir)


@pytest.fixture(scope="session")
def geokz_build(geokz_sources, spec):
    from boundaries.build import build

    return build(geokz_sources, spec)


@pytest.fixture(scope="session")
def embedded_build(spec):
    from boundaries.build import build
    from boundaries.sources import load_embedded

    return build(load_embedded(), spec)


@pytest.fixture(scope="session")
def geokz_settlement_source(geokz_build):
    """HOT + GeoNames settlements with figures controlled to the BNS totals, as the CLI uses them."""
    from analysis.pipeline import controlled_source, load_settlements

    raw = load_settlements(geokz_build.sources)
    return controlled_source(raw, geokz_build, _official(geokz_build)["control"])


def _official(build):
    """Control units and regional series as the CLI loads them (BNS workbooks or package tables)."""
    from analysis.official import control_units
    from inputs.bns import load_bulletin, load_series

    src = build.sources
    units = control_units(
        load_bulletin(src.data_dir),
        districts=src.districts,
        regions=build.regions[build.spec.epochs[1]],
    )
    return {"control": units, "series": load_series(src.data_dir)}


@pytest.fixture(scope="session")
def geokz_analysis(geokz_build, geokz_settlement_source):
    """The full analysis on ../shared/data, shared by every test module (read-only)."""
    from analysis.pipeline import analyze

    series = _official(geokz_build)["series"]
    return analyze(geokz_build, geokz_settlement_source, series=series)


@pytest.fixture(scope="session")
def embedded_analysis(embedded_build):
    from analysis.pipeline import analyze, load_settlements

    return analyze(
        embedded_build, load_settlements(embedded_build.sources), **_official(embedded_build)
    )


@pytest.fixture(scope="session", autouse=True)
def build_cache_dir(tmp_path_factory):
    """The CLI's build cache (cli.cache) lives in a folder of this test run, not the user's."""
    import os

    old = os.environ.get("REFORM_ATLAS_CACHE_DIR")
    path = tmp_path_factory.mktemp("build-cache")
    os.environ["REFORM_ATLAS_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("REFORM_ATLAS_CACHE_DIR", None)
    else:
        os.environ["REFORM_ATLAS_CACHE_DIR"] = old


# --------------------------------------------------------------------------- settlements

HOT = DATA / "hotosm" / "hotosm_kaz_populated_places_points_geojson.geojson"


@pytest.fixture(scope="session")
def hot(data_dir):
    """The HOT populated places of ../shared/data in the settlements schema (read-only)."""
    from inputs.settlements import load_hotosm

    return load_hotosm(HOT)


@pytest.fixture(scope="session")
def geonames():
    """The embedded GeoNames places of Kazakhstan (read-only)."""
    from inputs.settlements import load_geonames

    return load_geonames()


@pytest.fixture(scope="session")
def make_places():
    """Build a tiny settlements frame from (name, lon, lat[, population]) tuples."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from shapely.geometry import Point

    def make(rows: list[tuple], crs: str | int = 4326, prefix: str = "p") -> gpd.GeoDataFrame:
        names = [r[0] for r in rows]
        pops = [r[3] if len(r) > 3 else np.nan for r in rows]
        gdf = gpd.GeoDataFrame(
            {
                "id": [f"{prefix}:{i}" for i in range(len(rows))],
                "source": prefix,
                "name": pd.array(names, dtype="string"),
                "population": pd.array(pops, dtype="float64"),
                "population_status": ["tagged" if p == p else "missing" for p in pops],
            },
            geometry=[Point(r[1], r[2]) for r in rows],
            crs=4326,
        )
        return gdf.to_crs(crs)

    return make


@pytest.fixture(scope="session")
def check_schema():
    """Assert that a frame is in the inputs.settlements schema."""
    import geopandas as gpd
    import pandas as pd

    from inputs.settlements import SCHEMA

    def check(gdf) -> None:
        assert isinstance(gdf, gpd.GeoDataFrame)
        assert gdf.crs == "EPSG:4326"
        assert isinstance(gdf.index, pd.RangeIndex) and gdf.index.start == 0
        assert list(gdf.columns[: len(SCHEMA)]) == list(SCHEMA)
        for column, dtype in SCHEMA.items():
            assert gdf[column].dtype == dtype, column
        assert (gdf.geom_type == "Point").all()
        assert gdf["id"].is_unique
        assert set(gdf["population_status"]) <= {"tagged", "unparsed", "missing"}
        assert gdf["name_latn"].notna().all() and (gdf["name_latn"] != "").all()

    return check


@pytest.fixture(scope="session")
def regions_2024(data_dir):
    """The published 2024 regions (geokz adm1_2024), repaired, with ``code`` and ``name_en``."""
    gdf = gpd.read_file(data_dir / "geokz" / "kaz_admbnda_adm1_2024.shp")
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf.rename(columns={"ADM1_PCODE": "code", "ADM1_EN": "name_en"})


# ------------------------------------------------------------ hand-made regions (tests import these)
#: A local equal-area plane for hand-made shapes in metres (centred on Kazakhstan).
LAEA = CRS.from_user_input(
    "+proj=laea +lat_0=48 +lon_0=68 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"
)
KM = 1000.0


def shapes(geoms, codes=None, **columns) -> gpd.GeoDataFrame:
    """Regions from LAEA geometries (metres), densified and returned in EPSG:4326."""
    codes = codes or [f"R{i}" for i in range(len(geoms))]
    dense = [shapely.segmentize(g, 250.0) for g in geoms]
    gdf = gpd.GeoDataFrame({"code": codes, **columns}, geometry=dense, crs=LAEA)
    return gdf.to_crs("EPSG:4326")


def square(cx=0.0, cy=0.0, side=20 * KM) -> Polygon:
    h = side / 2
    return box(cx - h, cy - h, cx + h, cy + h)


# ------------------------------------------------- centres (test_centres, test_pmedian)
GEOD = Geod(ellps="WGS84")


def km(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


@pytest.fixture
def towns():
    rows = [
        # id, name, lon, lat, population, region
        ("t1", "Big", 68.00, 48.00, 50_000, "R1"),
        ("t2", "Mid", 68.60, 48.20, 20_000, "R1"),
        ("t3", "Small", 67.50, 47.70, 6_000, "R1"),
        ("t4", "Hamlet", 68.30, 48.90, 900, "R1"),
        ("t5", "Unknown", 69.50, 48.00, np.nan, "R1"),
        ("t6", "Far", 67.20, 48.50, 4_000, "R1"),
        ("t7", "Other", 75.00, 50.00, 80_000, "R2"),
        ("t8", "Other2", 75.40, 50.10, 9_000, "R2"),
    ]
    df = pd.DataFrame(rows, columns=["id", "name", "lon", "lat", "population", "region"])
    return gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]),
        geometry=[Point(x, y) for x, y in zip(df["lon"], df["lat"], strict=True)],
        crs="EPSG:4326",
    )
