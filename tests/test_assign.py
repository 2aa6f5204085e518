"""Tests for analysis.assign: point in polygon for both epochs, the 1 km nearest rule."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from analysis.assign import assign_regions, assignment_counts, subdivide, with_pieces
from boundaries.schema import MAX_NEAREST_KM
from geo.distance import geodesic_km
from geo.errors import CRSError


@pytest.fixture
def pieces():
    # two 1°x1° pieces side by side at 70-72 E, 48-49 N; A moves to region C after
    return gpd.GeoDataFrame(
        {"unit": ["a", "b"], "region_2018": ["A", "B"], "region_2024": ["C", "B"]},
        geometry=[box(70, 48, 71, 49), box(71, 48, 72, 49)],
        crs="EPSG:4326",
    )


def points(xy):
    return gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(len(xy))]},
        geometry=[Point(x, y) for x, y in xy],
        crs="EPSG:4326",
    )


def test_inside_edge_nearest_and_unassigned(pieces):
    # 0.005° of latitude is about 0.56 km; 0.02° about 2.2 km
    pts = points([(70.5, 48.5), (71.5, 48.5), (71.0, 48.5), (70.5, 49.005), (70.5, 49.02)])
    before = pts.copy()
    out = assign_regions(pts, pieces, epochs=(2018, 2024))
    pd.testing.assert_frame_equal(pts, before)  # input untouched
    assert len(out) == len(pts)  # no row dropped
    assert out["region_2018"].astype(object).tolist()[:4] == ["A", "B", "A", "A"]
    assert out["region_2024"].astype(object).tolist()[:4] == ["C", "B", "C", "C"]
    assert out["assignment"].astype(str).tolist() == [
        "inside",
        "inside",
        "inside",  # on the shared edge: the lower piece, deterministically
        "nearest",
        "unassigned",
    ]
    expected = geodesic_km(70.5, 49.005, 70.5, 49.0)
    assert out["assign_km"].iloc[3] == pytest.approx(expected, rel=1e-6)
    assert 0 < expected <= MAX_NEAREST_KM
    assert pd.isna(out["region_2018"].iloc[4]) and np.isnan(out["assign_km"].iloc[4])
    assert out["piece_index"].tolist() == [0, 1, 0, 0, -1]


def test_an_assignment_made_before_gives_the_same_columns(pieces):
    pts = points([(70.5, 48.5), (71.5, 48.5), (70.5, 49.005), (70.5, 49.02)])
    out = assign_regions(pts, pieces, epochs=(2018, 2024))
    again = with_pieces(pts, pieces, out["piece_index"], out["assign_km"], epochs=(2018, 2024))
    assert_geodataframe_equal(again, out)
    assert "piece_index" not in pts.columns  # input untouched


def test_counts_conserve_every_settlement(pieces):
    pts = points([(70.5, 48.5), (71.5, 48.5), (70.5, 49.005), (80.0, 40.0)])
    counts = assignment_counts(assign_regions(pts, pieces, epochs=(2018, 2024)))
    assert counts == {"inside": 2, "nearest": 1, "unassigned": 1}
    assert sum(counts.values()) == len(pts)


def test_projected_inputs_give_the_same_regions(pieces):
    pts = points([(70.5, 48.5), (71.5, 48.7)])
    plain = assign_regions(pts, pieces, epochs=(2018, 2024))
    projected = assign_regions(
        pts.to_crs("EPSG:32643"), pieces.to_crs("EPSG:6933"), epochs=(2018, 2024)
    )
    assert plain["region_2024"].tolist() == projected["region_2024"].tolist()


def test_missing_crs_names_the_fix(pieces):
    with pytest.raises(CRSError, match="set_crs"):
        assign_regions(
            points([(70.5, 48.5)]).set_crs(None, allow_override=True), pieces, epochs=(2018, 2024)
        )


def test_subdivide_keeps_the_area():
    poly = box(70.2, 48.1, 71.9, 49.3)
    parts, owner = subdivide(np.array([poly], dtype=object), cell_deg=0.5)
    assert len(parts) == 4 * 3  # 0.5° cells over 1.7° x 1.2°
    assert (owner == 0).all()
    assert sum(p.area for p in parts) == pytest.approx(poly.area, rel=1e-12)


def test_real_assignment_conserves_settlements(geokz_analysis):
    s = geokz_analysis.settlements
    counts = assignment_counts(s)
    assert sum(counts.values()) == len(s)
    # every loaded settlement, plus one point per BNS unit whose people no settlement carries
    assert len(s) == geokz_analysis.counts["loaded"] + geokz_analysis.counts["representative_points"]
    inside = s["assignment"] == "inside"
    assert (s.loc[inside, "assign_km"] == 0).all()
    assert (s.loc[s["assignment"] == "nearest", "assign_km"] <= MAX_NEAREST_KM).all()
    # both epochs are known wherever a piece was found
    found = s["piece_index"] >= 0
    assert s.loc[found, "region_2018"].notna().all() and s.loc[found, "region_2024"].notna().all()
