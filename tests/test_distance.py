import numpy as np
import pytest
from geographiclib.geodesic import Geodesic

from geo.distance import geodesic_km, nearest_km


def test_geodesic_matches_geographiclib_to_a_metre():
    rng = np.random.default_rng(1)
    lon1, lat1 = rng.uniform(46, 88, 200), rng.uniform(40, 56, 200)
    lon2, lat2 = rng.uniform(46, 88, 200), rng.uniform(40, 56, 200)
    got = geodesic_km(lon1, lat1, lon2, lat2)
    ref = (
        np.array(
            [
                Geodesic.WGS84.Inverse(a, b, c, d)["s12"]
                for b, a, d, c in zip(lon1, lat1, lon2, lat2, strict=True)
            ]
        )
        / 1000
    )
    assert np.abs(got - ref).max() < 0.001


def test_known_distance_taldykorgan_almaty():
    # Taldykorgan → Almaty, both cnt1_2022 points: about 228 km as the crow flies
    assert geodesic_km(78.379184, 45.016414, 76.974524, 43.177119) == pytest.approx(233.3, abs=2)


def test_nearest_is_exact_geodesic_minimum():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(46, 88, 5000), rng.uniform(40, 56, 5000)
    tlon, tlat = rng.uniform(46, 88, 21), rng.uniform(40, 56, 21)
    idx, km = nearest_km(lon, lat, tlon, tlat, chunk=1000)
    full = geodesic_km(lon[:, None], lat[:, None], tlon[None, :], tlat[None, :])
    assert (idx == full.argmin(axis=1)).all()
    assert km == pytest.approx(full.min(axis=1), abs=1e-9)


def test_nan_points_stay_nan():
    idx, km = nearest_km([np.nan, 70.0], [np.nan, 45.0], [70.0], [46.0])
    assert idx.tolist() == [-1, 0] and np.isnan(km[0])
    assert np.isnan(geodesic_km(np.nan, 1, 2, 3))


def test_nearest_with_known_own_target_is_still_exact():
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(46, 88, 20000), rng.uniform(40, 56, 20000)
    tlon, tlat = rng.uniform(46, 88, 21), rng.uniform(40, 56, 21)
    own = rng.integers(0, 21, lon.size)  # an arbitrary "own" target, often not the nearest
    own_km = geodesic_km(lon, lat, tlon[own], tlat[own])
    idx, km = nearest_km(lon, lat, tlon, tlat, known_index=own, known_km=own_km)
    full = geodesic_km(lon[:, None], lat[:, None], tlon[None, :], tlat[None, :])
    assert (idx == full.argmin(axis=1)).all()
    assert km == pytest.approx(full.min(axis=1), abs=1e-9)


@pytest.mark.parametrize(
    ("lon_range", "lat_range", "n_targets"),
    [
        ((46, 88), (40, 56), 20),  # Kazakhstan-sized, few targets
        ((60, 61), (70, 80), 7),  # high latitudes, narrow cells
        ((-180, 180), (-89, 89), 300),  # world-wide: coarser grid, many targets
    ],
)
def test_cell_screen_never_settles_a_wrong_target(lon_range, lat_range, n_targets):
    rng = np.random.default_rng(n_targets)
    tlon, tlat = rng.uniform(*lon_range, n_targets), rng.uniform(*lat_range, n_targets)
    # half the points hug the bisectors between neighbouring targets, where cells
    # are hardest to decide; the rest are uniform
    a, b = rng.integers(0, n_targets, (2, 5_000))
    t = rng.uniform(0.45, 0.55, 5_000)
    lon = np.r_[tlon[a] * t + tlon[b] * (1 - t), rng.uniform(*lon_range, 5_000)]
    lat = np.r_[tlat[a] * t + tlat[b] * (1 - t), rng.uniform(*lat_range, 5_000)]
    idx, km = nearest_km(lon, lat, tlon, tlat)
    full = geodesic_km(lon[:, None], lat[:, None], tlon[None, :], tlat[None, :])
    assert km == pytest.approx(full.min(axis=1), abs=1e-9)
    assert (full[np.arange(lon.size), idx] == full.min(axis=1)).all()


def test_cell_screen_respects_the_cell_cap(monkeypatch):
    import geo.distance

    monkeypatch.setattr(geo.distance, "MAX_CELLS", 500)  # forces coarse cells, no refinement
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-180, 180, 4000), rng.uniform(-80, 80, 4000)
    tlon, tlat = rng.uniform(-180, 180, 40), rng.uniform(-80, 80, 40)
    idx, km = nearest_km(lon, lat, tlon, tlat)
    full = geodesic_km(lon[:, None], lat[:, None], tlon[None, :], tlat[None, :])
    assert km == pytest.approx(full.min(axis=1), abs=1e-9)
    assert (full[np.arange(lon.size), idx] == full.min(axis=1)).all()
