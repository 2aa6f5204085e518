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
def geokz_settlement_source(geokz_sources):
    from analysis.pipeline import load_settlements

    return load_settlements(geokz_sources)


@pytest.fixture(scope="session")
def geokz_analysis(geokz_build, geokz_settlement_source):
    """The full analysis on ../shared/data, shared by every test module (read-only)."""
    from analysis.pipeline import analyze

    return analyze(geokz_build, geokz_settlement_source)


@pytest.fixture(scope="session")
def embedded_analysis(embedded_build):
    from analysis.pipeline import analyze, load_settlements

    return analyze(embedded_build, load_settlements(embedded_build.sources))


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
