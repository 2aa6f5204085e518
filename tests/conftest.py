"""Shared fixtures: the real data in ../shared/data, the bundled spec, cached builds."""

from __future__ import annotations

from pathlib import Path

import pytest

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
