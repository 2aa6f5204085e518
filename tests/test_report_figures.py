"""report.figures: the map, the distance distributions and the flow chart."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from report.figures import centre_points, delta_norm, distance_figure, flow_figure, map_figure


def png_pixels(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(io.BytesIO(data), format="png")


def test_map_is_a_landscape_png_with_colour(embedded_analysis):
    data = map_figure(embedded_analysis)
    width, height = struct.unpack(">II", data[16:24])
    assert 900 <= width <= 1600 and height < width
    pixels = png_pixels(data)[..., :3]
    # the new regions' fill (#f4c98e) is drawn
    assert (np.abs(pixels - np.array([0xF4, 0xC9, 0x8E]) / 255).sum(axis=-1) < 0.02).sum() > 1000


def test_figures_are_reproducible(embedded_analysis):
    assert flow_figure(embedded_analysis) == flow_figure(embedded_analysis)


def test_distance_figure_has_one_panel_per_region_touched(embedded_analysis):
    data = distance_figure(embedded_analysis)
    assert data is not None
    width, height = struct.unpack(">II", data[16:24])
    assert width > 2 * height


def test_flow_chart_colours_the_regions_the_reform_touched(geokz_analysis):
    pixels = png_pixels(flow_figure(geokz_analysis))[..., :3]
    assert pixels.shape[1] > pixels.shape[0] > 400
    saturated = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 0.3
    assert saturated.sum() > 2000  # coloured bands for the split regions, the rest grey


def test_no_flow_chart_without_people(embedded_analysis):
    class Empty:
        epochs = embedded_analysis.epochs
        build = embedded_analysis.build
        shifts = embedded_analysis.shifts.assign(population=0.0)

    assert flow_figure(Empty()) is None


def test_centres_at_one_place_share_a_label(embedded_build):
    centres = centre_points(embedded_build)
    astana = centres[centres["label"].str.contains("Astana")]
    assert list(astana["label"]) == ["Astana / Nur-Sultan"]
    assert astana["epochs"].iloc[0] == {2018, 2024}
    assert centres.crs is not None and not centres.crs.is_geographic


@pytest.mark.parametrize(
    ("delta", "half", "extend"),
    [
        ([], 50.0, "neither"),
        ([10.0, -20.0], 50.0, "neither"),
        ([-120.0] * 9 + [400.0], 150.0, "both"),
    ],
)
def test_delta_norm_is_symmetric_and_rounded(delta, half, extend):
    norm, ext = delta_norm(np.asarray(delta, dtype="float64"))
    assert norm.vcenter == 0.0 and norm.halfrange == half and ext == extend


def test_figures_do_not_touch_the_analysis(embedded_analysis):
    before = pd.DataFrame(embedded_analysis.settlements).copy()
    map_figure(embedded_analysis)
    pd.testing.assert_frame_equal(pd.DataFrame(embedded_analysis.settlements), before)
