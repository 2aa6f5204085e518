"""Tests for cli.cache: keys follow the content of every input, bad entries rebuild."""

from __future__ import annotations

import shutil

import pytest

from cli.cache import (
    DiskCache,
    build_key,
    cached_analysis,
    cached_build,
    make_key,
    spec_plan,
    tree_digest,
)
from cli.main import main


def test_tree_digest_follows_content_not_dates(tmp_path):
    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "x.csv"
    f.write_text("code,population\nKZ-19,1\n")
    first = tree_digest(tmp_path)
    f.write_text("code,population\nKZ-19,2\n")  # same size, new content
    second = tree_digest(tmp_path)
    assert first != second
    f.write_text("code,population\nKZ-19,1\n")
    assert tree_digest(tmp_path) == first
    (tmp_path / ".hidden").write_text("ignored")
    assert tree_digest(tmp_path) == first


def test_disk_cache_round_trip_and_corruption(tmp_path):
    cache = DiskCache(tmp_path)
    key = make_key("build", ["x"])
    assert cache.get(key) is None
    assert cache.get_or_compute(key, lambda: {"n": 1}) == {"n": 1}
    assert cache.get(key) == {"n": 1}
    assert cache.hits == ["build"]
    # a truncated entry is a miss, deleted, then rebuilt
    path = tmp_path / f"{key}.pickle"
    path.write_bytes(path.read_bytes()[:10])
    assert cache.get(key) is None
    assert not path.exists()
    assert cache.get_or_compute(key, lambda: {"n": 2}) == {"n": 2}
    # an entry stored under another key (a renamed file) is never used
    other = make_key("build", ["y"])
    shutil.copy(path, tmp_path / f"{other}.pickle")
    assert cache.get(other) is None


def test_disk_cache_off_keeps_nothing(tmp_path):
    cache = DiskCache(None)
    calls = []
    for _ in range(2):
        cache.get_or_compute("k", lambda: calls.append(1) or 5)
    assert len(calls) == 2


def test_unwritable_cache_is_ignored(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = DiskCache(blocker / "cache")
    assert cache.get_or_compute("build-k", lambda: 3) == 3


def test_cached_build_equals_fresh_build_and_is_keyed_by_data(tmp_path, data_dir, spec):
    cache = DiskCache(tmp_path / "cache")
    first = cached_build(cache, data_dir, *spec_plan(spec))
    again = cached_build(cache, data_dir, *spec_plan(spec))
    assert cache.hits == ["build"]
    for epoch in spec.epochs:
        assert (
            again.regions[epoch]
            .geometry.geom_equals_exact(first.regions[epoch].geometry, tolerance=0)
            .all()
        )
        assert list(again.regions[epoch]["code"]) == list(first.regions[epoch]["code"])
    # a copy elsewhere is another build (a build records its folder), and so is the
    # same folder with one changed byte
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    key = build_key(copy, spec_plan(spec)[0])
    assert key == build_key(copy, spec_plan(spec)[0])
    assert key != build_key(data_dir, spec_plan(spec)[0])
    sources = copy / "SOURCES.md"
    sources.write_text(sources.read_text() + "\n")
    assert build_key(copy, spec_plan(spec)[0]) != key
    assert cached_build(cache, copy, *spec_plan(spec)).sources.data_dir == copy


def test_cached_analysis_conserves_settlements(tmp_path, spec):
    cache = DiskCache(tmp_path)
    cold = cached_analysis(cache, None, *spec_plan(spec))
    warm = cached_analysis(cache, None, *spec_plan(spec))
    assert cache.hits == ["analysis"]
    assert len(warm.settlements) == len(cold.settlements) == cold.counts["loaded"]
    assert warm.region_stats.equals(cold.region_stats)


def test_cli_reuses_the_cache_and_writes_the_same_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REFORM_ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["analyze", "--out", str(tmp_path / "cold")]) == 0
    assert "cache: reused" not in capsys.readouterr().out
    assert main(["analyze", "--out", str(tmp_path / "warm")]) == 0
    assert "cache: reused outputs" in capsys.readouterr().out
    cold = sorted(p.name for p in (tmp_path / "cold").iterdir())
    assert cold == sorted(p.name for p in (tmp_path / "warm").iterdir())
    for name in cold:
        assert (tmp_path / "cold" / name).read_bytes() == (tmp_path / "warm" / name).read_bytes()


def test_entries_reused_by_the_forked_reading_are_reported(tmp_path, capsys, monkeypatch):
    """The settlements entry is read by the inputs' forked process: the summary still says so."""
    monkeypatch.setenv("REFORM_ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    official = tmp_path / "official.csv"
    official.write_text("code,population\nKZ-11,1000\n")
    assert main(["analyze", "--out", str(tmp_path / "first")]) == 0
    capsys.readouterr()
    # another --official file: another analysis, on the same build and settlements
    assert main(["analyze", "--official", str(official), "--out", str(tmp_path / "second")]) == 0
    assert "cache: reused build, settlements from" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["off", ""])
def test_cache_can_be_turned_off(monkeypatch, value):
    from cli.cache import cache_dir

    monkeypatch.setenv("REFORM_ATLAS_CACHE_DIR", value)
    assert cache_dir() is None


def test_analysis_inputs_from_a_forked_process_are_those_read_here(geokz_sources, tmp_path):
    """The cold analysis reads its inputs in a forked process: same values, same errors."""
    from cli import forked
    from cli.cache import analysis_inputs
    from geo.errors import DataError
    from inputs import names

    data_dir = geokz_sources.data_dir
    names._SKELETON_SETS.clear()
    there = forked.start(analysis_inputs, DiskCache(None), data_dir, None)()
    assert names._SKELETON_SETS == {}  # computed in the child, not here
    here = analysis_inputs(DiskCache(None), data_dir, None, sources=geokz_sources)
    (_, series, units), source, skeletons, hits = there
    assert skeletons == here.skeletons and len(skeletons) > 1000  # the child's name keys came back
    assert source.description == here.source.description and source.counts == here.source.counts
    assert source.frame.equals(here.source.frame)
    assert list(source.frame.dtypes) == list(here.source.frame.dtypes)
    assert series.equals(here.bns[1]) and units.units.equals(here.bns[2].units)
    assert hits == here.hits == []
    bad = tmp_path / "bad.csv"
    bad.write_text("no,coordinates\n1,2\n")
    with pytest.raises(DataError, match=r"bad\.csv"):
        forked.start(analysis_inputs, DiskCache(None), data_dir, str(bad))()
