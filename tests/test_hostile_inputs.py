# ruff: noqa: E501  (the corpus is a table: one case per line)
"""A corpus of hostile and careless inputs for the command line (issue #12).

Every case is generated here, runs ``reform-atlas`` in-process and asserts the
contract of the README: exit code 2, one line on stderr naming the problem (no
traceback, no control characters, bounded length), and nothing written to
``--out`` (or ``--dest``). Classes: settlements files (kinds of file, formats,
coordinates, populations, names), reform specs (``build`` and ``scenario
evaluate``), official figures, data directories (geokz layers, BNS workbooks, the
path itself), output folders (blocked, read-only, full, signals, stale temporary
folders), command-line arguments and settings, ``data fetch`` against a local
server on 127.0.0.1 (drip, no length, oversize, truncated, HTTP errors, silence,
SIGTERM/SIGINT/SIGKILL), and names escaped in the lines printed on success. The
app's uploads are in ``test_app.py`` and ``test_scenario_lab.py``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import tomli_w

from boundaries.spec import dump_spec, load_spec
from cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SHP_PARTS = ("shp", "shx", "dbf", "prj", "cpg")


# ---------------------------------------------------------------- the contract
def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, pattern: str) -> None:
    assert code == 2, err
    assert err.startswith("reform-atlas: error: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\x9b]", err), err  # no raw controls
    assert len(err) < 2200, len(err)
    assert "Traceback" not in err
    assert re.search(pattern, err), (pattern, err)


def snapshot(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(folder.rglob("*"))
    }


def no_temp_left(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    monkeypatch.delenv("REFORM_ATLAS_MIRROR", raising=False)


# ---------------------------------------------------------------- generators
def csv(text: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / "places.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return make


def raw_bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(data)
        return path

    return make


def geojson(features: list[dict], name: str = "places.geojson") -> Callable[[Path], Path]:
    return raw_bytes(
        name, json.dumps({"type": "FeatureCollection", "features": features}).encode()
    )


def point(lon, lat, **props) -> dict:
    return {"type": "Feature", "properties": {"name": "p", **props},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}  # fmt: skip


def fifo(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        os.mkfifo(path)
        return path

    return make


def folder(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).mkdir()
        return d / name

    return make


def dangling(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).symlink_to(d / "nowhere")
        return d / name

    return make


def device(_: Path) -> Path:
    return Path("/dev/zero")


def missing(name: str) -> Callable[[Path], Path]:
    return lambda d: d / name


def gpkg_layers(*layers: tuple[str, str]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / "places.gpkg"
        for name, kind in layers:
            geom = shapely.Point(76.9, 43.2) if kind == "point" else shapely.box(76, 43, 77, 44)
            gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs=4326).to_file(
                path, layer=name, engine="pyogrio"
            )
        return path

    return make


GOOD = "name,lon,lat,population\nAlmaty,76.95,43.24,2000000\nTalgar,77.24,43.30,50000\n"
SWAPPED = "name,lon,lat\nAlmaty,43.24,76.95\nTalgar,43.30,77.24\nAstana,51.16,71.45\n"
ABROAD = "name,lon,lat,population\nParis,2.35,48.86,2100000\nTokyo,139.69,35.69,14000000\nLima,-77.04,-12.05,9700000\n"

SETTLEMENT_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (fifo("places.csv"), r"named pipe \(FIFO\), not a regular file"),
    "dev-zero": (device, r"/dev/zero: is a character device, not a regular file"),
    "directory": (folder("places.csv"), r"is a folder, not a file"),
    "directory-geojson": (folder("places.geojson"), r"is a folder, not a file"),
    "dangling-symlink": (dangling("places.csv"), r"file not found"),
    "missing": (missing("nope.csv"), r"nope.csv: file not found"),
    "empty": (raw_bytes("places.csv", b""), r"file is empty \(0 bytes\)"),
    "all-nul-csv": (raw_bytes("places.csv", b"\0" * 200_000), r"all NUL \(zero\) bytes"),
    "all-nul-geojson": (raw_bytes("p.geojson", b"\0" * 5000), r"all NUL \(zero\) bytes"),
    "nul-in-csv": (raw_bytes("places.csv", b"name,lon,lat\nA\0,1,2\n"), r"binary data \(NUL bytes\)"),
    "only-bom": (raw_bytes("places.csv", b"\xef\xbb\xbf"), r"no header and no rows"),
    "header-only": (csv("name,lon,lat\n"), r"header but no rows"),
    "no-coordinates": (csv("name,town\nA,B\n"), r"no coordinate columns"),
    "semicolons": (csv("name;lon;lat\nA;76.9;43.2\n"), r"is one column"),
    "non-numeric-lon": (csv("name,lon,lat\nA,east,43.2\n"), r"non-numeric 'lon'/'lat'"),
    "blank-coordinates": (csv("name,lon,lat\nA,,\nB,76.9,43.2\n"), r"have no geometry"),
    "metres": (csv("name,x,y\nA,500000,4800000\n"), r"looks like projected metres"),
    "nan-coordinates": (csv("name,lon,lat\nA,nan,43\n"), r"non-numeric|non-finite coordinates|no geometry"),
    "inf-coordinates": (csv("name,lon,lat\nA,inf,43\n"), r"non-finite coordinates"),
    "latitude-100": (csv("name,lon,lat\nA,76.9,100\n"), r"outside lon ±180 / lat ±90"),
    "invalid-wkt": (csv("name,geometry\nA,POINT (1\n"), r"invalid WKT"),
    "polygon-wkt": (csv('name,wkt\nA,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n'), r"expected Point geometries"),
    "latin1": (raw_bytes("places.csv", "name,lon,lat\nÖskemen,82.6,49.9\n".encode("latin-1")),
               r"unreadable CSV|UTF-8"),
    "too-many-columns": (csv("," * 1500 + "\n"), r"over 1000 columns"),
    "truncated-geojson": (raw_bytes("p.geojson", b'{"type": "FeatureCollection", "features": [{"ty'),
                          r"unreadable or truncated file"),
    "json-not-geojson": (raw_bytes("p.geojson", b'{"hello": "world"}'), r"unreadable|no geometry"),
    "geojson-null-geometry": (geojson([{"type": "Feature", "properties": {}, "geometry": None}]),
                              r"no geometry"),
    "geojson-no-features": (geojson([]), r"no features|no geometry"),
    "geojson-polygon": (geojson([{"type": "Feature", "properties": {},
                                  "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]),
                        r"expected Point geometries"),
    "geojson-metres": (geojson([point(7.6e6, 5.4e6)]), r"looks like projected metres"),
    "gpkg-three-layers": (gpkg_layers(("a", "point"), ("b", "point"), ("c", "poly")),
                          r"3 layers .* save the points layer alone"),
    "gpkg-no-points": (gpkg_layers(("a", "poly"), ("b", "poly")), r"2 layers .* save the points layer alone"),
    "population-1e19": (csv("name,lon,lat,population\nA,76.9,43.2,10000000000000000000\n"),
                        r"population above 50,000,000 for one place in row 1"),
    "population-1e15": (csv("name,lon,lat,population\nA,76.9,43.2,1\nB,77,43,1000000000000000\n"),
                        r"population above .* in row 2"),
    "population-1e15-notation": (csv("name,lon,lat,population\nA,76.9,43.2,1e15\n"), r"population above 50,000,000 for one place in row 1 \(1e15\)"),
    "population-7E9-spaces": (csv("name,lon,lat,population\nA,76.9,43.2,1\nB,77,43, 7E9 \n"), r"population above .* in row 2"),
    "population-1e400": (csv("name,lon,lat,population\nA,76.9,43.2,1e400\n"), r"population above .* in row 1 \(1e400\)"),
    "population-geojson-1e15": (geojson([point(76.9, 43.2, population=1e15)]), r"population above .* in row 1"),
    "population-negative": (csv("name,lon,lat,population\nA,76.9,43.2,5\nB,77,43,-5\n"), r"negative population for one place in row 2 \(-5\)"),
    "population-negative-unicode-minus": (csv("name,lon,lat,population\nA,76.9,43.2,−120\n"), r"negative population .* row 1"),
    "population-geojson-negative": (geojson([point(76.9, 43.2, population=-3)]), r"negative population"),
    "population-400-digits": (csv("name,lon,lat,population\nA,76.9,43.2," + "9" * 400 + "\n"),
                              r"population above"),
    "duplicate-ids": (csv("id,name,lon,lat\n1,A,76.9,43.2\n1,B,77,43\n"), r"'id' repeats values"),
    "blank-ids": (csv("id,name,lon,lat\n,A,76.9,43.2\n"), r"row\(s\) without 'id'"),
    "osm-id-text": (csv("osm_id,name,lon,lat\nabc,A,76.9,43.2\n"), r"osm_id is not an integer"),
    "lat-lon-swapped": (csv(SWAPPED), r"3 of 3 settlements fall outside every region.*swapped"),
    "all-abroad": (csv(ABROAD), r"fall outside every region.*wrong file"),
    "too-large": (csv(GOOD + "X,76.9,43.2,1\n" * 200), r"over the 0.001 MB limit for settlements files"),
    "deep-nesting-geojson": (raw_bytes("p.geojson", b"[" * 100_000 + b"]" * 100_000), r"not recognized as being in a supported file format\); re-download"),
    "no-extension": (raw_bytes("places", GOOD.encode()), r"places: unreadable or truncated file \('.*places' not recognized as being in a supported file format\); re-download"),
    "gzip-as-csv": (raw_bytes("places.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes(200)), r"binary data \(NUL bytes\) in a text file; give a UTF-8 text"),
    "zip-as-geojson": (raw_bytes("p.geojson", b"PK\x03\x04\x14\x00\x00\x00" + bytes(100)), r"binary data \(NUL bytes\)"),
    "utf16-csv": (raw_bytes("places.csv", GOOD.encode("utf-16")), r"places.csv: UTF-16 text, not UTF-8; save the points file .* as UTF-8"),
    "utf16-be-geojson": (raw_bytes("p.geojson", '{"type": "FeatureCollection"}'.encode("utf-16-be").join([b"\xfe\xff", b""])), r"UTF-16 text, not UTF-8"),
    "tabs": (csv("name\tlon\tlat\nA\t76.9\t43.2\n"), r"is one column; save the file comma-separated"),
    "unclosed-quote": (csv('name,lon,lat\n"A,76.9,43.2\n'), r"unreadable CSV \(.*EOF inside string"),
    "short-row": (csv("name,lon,lat\nA,76.9\n"), r"no geometry"),
    "degrees-minutes": (csv("name,lon,lat\nA,76°54′,43°12′\n"), r"non-numeric 'lon'/'lat' .*write decimal degrees"),
    "decimal-comma": (csv('name,lon,lat\nA,"76,9","43,2"\n'), r"non-numeric 'lon'/'lat'"),
    "newline-in-name": (missing("pla\nces.csv"), r"pla\\nces.csv: file not found"),
    "ansi-in-name": (missing("\x1b[31mred.csv"), r"\\x1b\[31mred.csv: file not found"),
    "bidi-in-name": (missing("a\u202ecsv.exe"), r"a\\u202ecsv.exe: file not found"),
}


@pytest.mark.parametrize("case", list(SETTLEMENT_CASES))
def test_hostile_settlements(case, tmp_path, capsys, monkeypatch):
    make, pattern = SETTLEMENT_CASES[case]
    if case == "too-large":
        monkeypatch.setenv("REFORM_ATLAS_MAX_SETTLEMENTS_MB", "0.001")
    path = make(tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(["analyze", "--settlements", str(path), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists() and no_temp_left(tmp_path)


# ---------------------------------------------------------------- specs
def spec_raw() -> dict:
    import tomllib

    return tomllib.loads(dump_spec(load_spec()))


def spec_edit(edit: Callable[[dict], object]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        raw = spec_raw()
        edit(raw)
        path = d / "spec.toml"
        path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        return path

    return make


def spec_text(text: str) -> Callable[[Path], Path]:
    return raw_bytes("spec.toml", text.encode("utf-8"))


def _region(raw, code):
    return next(r for r in raw["regions"] if r["code"] == code)


def _many_problems(raw):
    raw["centres"].update({f"c{i}": {"name_en": i} for i in range(2500)})


SPEC_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "epoch-string": (spec_edit(lambda r: r["reform"].update(after="2024")), r"\[reform\]: 'after' must be a whole number, got '2024'"),
    "epoch-1e20": (spec_edit(lambda r: r["reform"].update(before=10**20)), r"'before' = 100000000000000000000 is not a year in 1800..2200"),
    "epoch-negative": (spec_edit(lambda r: r["reform"].update(before=-5)), r"'before' = -5 is not a year"),
    "epoch-float": (spec_edit(lambda r: r["reform"].update(after=2024.5)), r"'after' must be a whole number"),
    "epoch-bool": (spec_edit(lambda r: r["reform"].update(after=True)), r"'after' must be a whole number, got True"),
    "epoch-date": (spec_text('[reform]\nid = "x"\nbefore = 2018-01-01\nafter = 2024\n'), r"'before' must be a whole number"),
    "epoch-missing": (spec_edit(lambda r: r["reform"].pop("before")), r"\[reform\] has no 'before'; add it"),
    "reform-missing": (spec_edit(lambda r: r.pop("reform")), r"missing \[reform\] table"),
    "reform-not-table": (spec_edit(lambda r: r.update(reform=[1, 2])), r"\[reform\]: must be a table|\[reform\]: 'reform' must be a table"),
    "id-not-text": (spec_edit(lambda r: r["reform"].update(id=5)), r"'id' must be text in quotes, got 5"),
    "centres-number": (spec_edit(lambda r: r.update(centres=5)), r"\[centres\]: 'centres' must be a table, got 5"),
    "centres-list": (spec_edit(lambda r: r.update(centres=["a"])), r"'centres' must be a table"),
    "centre-not-table": (spec_edit(lambda r: r["centres"].update(semey="x")), r"\[centres.semey\]: must be a table"),
    "moves-strings": (spec_edit(lambda r: r.update(moves=["a", "b"])), r"\[\[moves\]\] #1: must be a table, got 'a'"),
    "moves-table": (spec_edit(lambda r: r.update(moves={"to": "KZ-10"})), r"'moves' must be a list"),
    "regions-table": (spec_edit(lambda r: r.update(regions={"a": 1})), r"'regions' must be a list"),
    "unknown-table": (spec_edit(lambda r: r.update(extras={"a": 1})), r"unknown table 'extras'"),
    "unknown-key-typo": (spec_edit(lambda r: _region(r, "KZ-19").update(centr="x")), r"\[\[regions\]\] KZ-19: unknown key 'centr'.*known: code, epochs"),
    "unknown-reform-key": (spec_edit(lambda r: r["reform"].update(afterr=2024)), r"\[reform\]: unknown key 'afterr'"),
    "unknown-centre-key": (spec_edit(lambda r: r["centres"]["semey"].update(latt=1.0)), r"\[centres.semey\]: unknown key 'latt'"),
    "lon-365": (spec_edit(lambda r: r["centres"]["semey"].update(lon=365.0)), r"\[centres.semey\]: lon 365.0 is not a longitude"),
    "lat-minus-100": (spec_edit(lambda r: r["centres"]["semey"].update(lat=-100)), r"lat -100.0 is not a latitude|lat -100 is not a latitude"),
    "lat-text": (spec_edit(lambda r: r["centres"]["semey"].update(lat="50")), r"'lat' must be a number, got '50'"),
    "lon-nan": (spec_text(dump_spec(load_spec()).replace("lon = 80.232336", "lon = nan")), r"lon nan is not a longitude"),
    "lon-inf": (spec_text(dump_spec(load_spec()).replace("lon = 80.232336", "lon = inf")), r"lon inf is not a longitude"),
    "name-too-long": (spec_edit(lambda r: r["centres"]["semey"].update(name_en="S" * 10_000)), r"'name_en' is 10,000 characters long; keep it to 200"),
    "code-too-long": (spec_edit(lambda r: _region(r, "KZ-19").update(code="K" * 500)), r"'code' is 500 characters long"),
    "name-empty": (spec_edit(lambda r: r["centres"]["semey"].update(name_en="")), r"'name_en' is empty"),
    "units-not-list": (spec_edit(lambda r: r["moves"][0].update(units="KZ191000")), r"\[\[moves\]\] #1: 'units' must be a list"),
    "units-numbers": (spec_edit(lambda r: r["moves"][0].update(units=[1, 2])), r"'units\[0\]' must be text in quotes, got 1"),
    "epochs-empty": (spec_edit(lambda r: _region(r, "KZ-19").update(epochs=[])), r"'epochs' must be a list of years"),
    "epochs-text": (spec_edit(lambda r: _region(r, "KZ-19").update(epochs="2018")), r"'epochs' must be a list of years"),
    "epochs-item-text": (spec_edit(lambda r: _region(r, "KZ-19").update(epochs=[2018, "x"])), r"'epochs\[1\]' must be a whole number"),
    "epochs-item-huge": (spec_edit(lambda r: _region(r, "KZ-19").update(epochs=[10**18])), r"'epochs' must be a list of years|not a year"),
    "cut-layer-unknown": (spec_edit(lambda r: r["splits"][0].update(cut_layer="adm3")), r"cut_layer 'adm3' unknown; use one of adm2_2024, adm1_2024"),
    "cut-codes-empty": (spec_edit(lambda r: r["splits"][0].update(cut_codes=[])), r"'cut_codes' is empty"),
    "merges-circular": (spec_edit(lambda r: r.update(merges=[{"regions": ["KZ-10"], "into": "KZ-63"}, {"regions": ["KZ-63"], "into": "KZ-10"}])),
                        r"\[\[merges\]\] form a cycle KZ-10 → KZ-63 → KZ-10"),
    "merges-three-cycle": (spec_edit(lambda r: r.update(merges=[{"regions": ["KZ-10"], "into": "KZ-62"}, {"regions": ["KZ-62"], "into": "KZ-33"}, {"regions": ["KZ-33"], "into": "KZ-10"}])),
                           r"form a cycle"),
    "merges-two-targets": (spec_edit(lambda r: r.update(merges=[{"regions": ["KZ-10"], "into": "KZ-63"}, {"regions": ["KZ-10"], "into": "KZ-62"}])),
                           r"KZ-10 is merged into both KZ-63 and KZ-62"),
    "merges-empty": (spec_edit(lambda r: r.update(merges=[{"regions": [], "into": "KZ-63"}])), r"'regions' is empty"),
    "move-unknown-region": (spec_edit(lambda r: r["moves"][0].update(to="KZ-99")), r"\[\[moves\]\] to KZ-99: no such 2024 region"),
    "unit-twice": (spec_edit(lambda r: r["moves"][1]["units"].append(r["moves"][0]["units"][0])), r"is assigned 2 times by moves/splits"),
    "centre-undefined": (spec_edit(lambda r: _region(r, "KZ-62").update(centre="atlantis")), r"centre 'atlantis' is not defined; add a \[centres.atlantis\] table"),
    "parent-unknown": (spec_edit(lambda r: _region(r, "KZ-10").update(parent="KZ-98")), r"parent KZ-98 is not a 2018 region"),
    "region-twice": (spec_edit(lambda r: r["regions"].append(dict(_region(r, "KZ-11")))), r"region KZ-11 is defined 2 times"),
    "period-unknown-epoch": (spec_edit(lambda r: r["periods"].update({"2019": dict(r["periods"]["2018"])})),
                             r"\[periods.2019\]: 2019 is not an epoch of this spec \(before 2018, after 2024\); rename the table"),
    "period-end-before-start": (spec_edit(lambda r: r["periods"]["2018"].update(last_day=date(2017, 1, 1))),
                                r"\[periods.2018\]: last_day 2017-01-01 is before first_day 2018-06-19; swap them"),
    "period-malformed-day": (spec_edit(lambda r: r["periods"]["2024"].update(first_day="2024-02-30")),
                             r"\[periods.2024\]: 'first_day' = '2024-02-30' is not a day; write it as a date"),
    "period-not-table": (spec_edit(lambda r: r["periods"].update({"2018": "June"})), r"\[periods.2018\]: must be a table"),
    "rename-without-day": (spec_edit(lambda r: r["renames"][0].pop("on")), r"\[\[renames\]\] #1 has no 'on'; add it"),
    "rename-day-text": (spec_edit(lambda r: r["renames"][0].update(on="soon")), r"\[\[renames\]\] #1: 'on' = 'soon' is not a day"),
    "many-problems": (spec_edit(_many_problems), r"problem\(s\) in reform spec: .*; and \d+ more$"),
    "invalid-toml": (spec_text("[reform\nid = "), r"not valid TOML"),
    "deep-nesting": (spec_text("a = " + "[" * 5000 + "]" * 5000 + "\n"), r"not valid TOML|unknown table 'a'"),
    "toml-duplicate-key": (spec_text('[reform]\nid = "a"\nid = "b"\n'), r"not valid TOML"),
    "empty-file": (raw_bytes("spec.toml", b""), r"file is empty"),
    "nul-file": (raw_bytes("spec.toml", b"\0" * 4096), r"all NUL"),
    "binary-file": (raw_bytes("spec.toml", b"[reform]\0\x01\x02"), r"binary data \(NUL bytes\)"),
    "latin1": (raw_bytes("spec.toml", 'title = "Öskemen"'.encode("latin-1")), r"not UTF-8 text"),
    "too-large": (spec_text("# " + "x" * (2 << 20) + "\n"), r"over the 1 MB limit for spec files"),
    "directory": (folder("spec.toml"), r"is a folder, not a file"),
    "fifo": (fifo("spec.toml"), r"named pipe \(FIFO\)"),
    "dev-zero": (device, r"/dev/zero.*character device"),
    "missing": (missing("nope.toml"), r"nope.toml.*file not found"),
    "dangling-symlink": (dangling("spec.toml"), r"file not found"),
    "newline-in-name": (missing("sp\nec.toml"), r"sp\\nec.toml"),
    "ansi-in-name": (missing("\x1b]0;pwned\x07.toml"), r"\\x1b\]0;pwned\\x07.toml"),
}


@pytest.mark.parametrize("case", list(SPEC_CASES))
def test_hostile_spec_build(case, tmp_path, capsys):
    make, pattern = SPEC_CASES[case]
    path = make(tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(["build", "--spec", str(path), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists() and no_temp_left(tmp_path)


@pytest.mark.parametrize(
    "case",
    ["epoch-string", "centres-number", "moves-strings", "dev-zero", "fifo", "directory",
     "many-problems", "merges-circular", "deep-nesting", "nul-file"],
)  # fmt: skip
def test_hostile_spec_scenario_evaluate(case, tmp_path, capsys):
    make, pattern = SPEC_CASES[case]
    path = make(tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(["scenario", "evaluate", str(path), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists()


# ---------------------------------------------------------------- official figures
OFFICIAL_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "non-numeric": (csv("code,population\nKZ-19,many\n"), r"line 2: population 'many' is not a finite non-negative number"),
    "nan": (csv("code,population\nKZ-19,nan\n"), r"not a finite non-negative number"),
    "inf": (csv("code,population\nKZ-19,inf\n"), r"not a finite non-negative number"),
    "negative": (csv("code,population\nKZ-19,-5\n"), r"line 2: population '-5' is not a finite non-negative number"),
    "blank": (csv("code,population\nKZ-19,\n"), r"not a finite non-negative number"),
    "1e15": (csv("code,population\nKZ-19,1e15\n"), r"line 2: population '1e15' is above 1,000,000,000, more than any region holds"),
    "1e400": (csv("code,population\nKZ-19,1e400\n"), r"line 2: population '1e400' is not a finite"),
    "formula-code": (csv("code,population\n=cmd|x,1\n"), r"line 2: unknown region code '=cmd\|x'"),
    "semicolons": (csv("code;population\nKZ-19;1\n"), r"missing column\(s\) code, population"),
    "many-problems": (csv("code,population\n" + "KZ-98,x\n" * 5000), r"line 2: unknown region code .*; and \d+ more; give one row per region"),
    "duplicate": (csv("code,population\nKZ-19,1\nKZ19,2\n"), r"code KZ-19 appears more than once"),
    "bad-code": (csv("code,population\nAtlantis,5\n"), r"line 2: unknown region code 'Atlantis'"),
    "unknown-code": (csv("code,population\nKZ-98,5\n"), r"line 2: unknown region code 'KZ-98'"),
    "missing-column": (csv("region,people\nKZ-19,5\n"), r"missing column\(s\) code, population"),
    "empty": (raw_bytes("places.csv", b""), r"file is empty"),
    "fifo": (fifo("official.csv"), r"named pipe"),
    "directory": (folder("official.csv"), r"is a folder"),
    "dev-zero": (device, r"character device"),
    "too-large": (csv("code,population\n" + "KZ-19,1\n" * 3_000_000), r"over the 16 MB limit for table files"),
}


@pytest.mark.parametrize("case", list(OFFICIAL_CASES))
def test_hostile_official(case, tmp_path, capsys):
    make, pattern = OFFICIAL_CASES[case]
    path = make(tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(["analyze", "--official", str(path), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists()


# ---------------------------------------------------------------- arguments and settings
ARG_CASES: dict[str, tuple[list[str], str]] = {
    "no-command": ([], r"the following arguments are required: command \(see reform-atlas --help\)"),
    "unknown-command": (["frobnicate"], r"invalid choice: 'frobnicate'"),
    "unknown-option-with-escape": (["build", "--bogus", "a\x1b[2Jb", "--out", "{out}"], r"unrecognized arguments: --bogus a\\x1b\[2Jb"),
    "missing-out": (["build"], r"required: --out \(see reform-atlas build --help\)"),
    "k-zero": (["centres", "pmedian", "--regions", "KZ-19", "--k", "0", "--out", "{out}"], r"argument --k: '0' is not a positive whole number"),
    "k-text-escape": (["centres", "pmedian", "--regions", "KZ-19", "--k", "\x1b]0;x\x07", "--out", "{out}"], r"argument --k: '\\x1b\]0;x\\x07'"),
    "k-huge": (["centres", "pmedian", "--regions", "KZ-19,KZ-33", "--k", "1000000000", "--out", "{out}"], r"only \d+ candidate\(s\) for k=1000000000"),
    "regions-empty": (["centres", "pmedian", "--regions", ",", "--k", "2", "--out", "{out}"], r"--regions ',': no region code given"),
    "regions-unknown": (["centres", "pmedian", "--regions", "KZ-19,KZ-98", "--k", "2", "--out", "{out}"], r"region\(s\) KZ-98 are not 2024 regions"),
    "top-negative": (["centres", "rank", "--region", "KZ-19", "--top", "-3", "--out", "{out}"], r"argument --top: '-3'"),
    "min-population-negative": (["centres", "rank", "--region", "KZ-19", "--min-population", "-5", "--out", "{out}"], r"argument --min-population"),
    "region-junk": (["centres", "rank", "--region", "\x1b[31mX", "--out", "{out}"], r"cannot read a region code from '\\x1b\[31mX'"),
    "region-unknown": (["centres", "rank", "--region", "KZ-99", "--out", "{out}"], r"region KZ-99 is not a 2024 region"),
    "epoch-3000": (["centres", "rank", "--region", "KZ-19", "--epoch", "3000", "--out", "{out}"], r"--epoch 3000: the spec kz-2022 has epochs 2018 and 2024"),
    "reform-unknown": (["build", "--reform", "kz-1900", "--out", "{out}"], r"reform 'kz-1900' is not in the chain"),
    "reform-path": (["build", "--reform", "../../etc/passwd", "--out", "{out}"], r"is not in the chain"),
    "spec-and-reform": (["build", "--spec", "x.toml", "--reform", "kz-2018", "--out", "{out}"], r"not allowed with argument"),
    "scenario-missing": (["scenario", "evaluate", "nope.toml", "--out", "{out}"], r"nope.toml: 1 problem\(s\) in reform spec: file not found"),
    "scenario-enacted-device": (["scenario", "evaluate", str(ROOT / "scenarios" / "zhetysu-without-alakol.toml"), "--enacted", "/dev/zero", "--out", "{out}"], r"/dev/zero: .*character device"),
    "base-url-ftp": (["data", "fetch", "--dest", "{out}", "--base-url", "ftp://example.org/x", "--no-progress"], r"invalid mirror address 'ftp://example.org/x'"),
    "dest-under-device": (["data", "fetch", "--dest", "/dev/null", "--base-url", "http://127.0.0.1:9"], r"cannot write /dev/null/geokz: Not a directory"),
}


@pytest.mark.parametrize("case", list(ARG_CASES))
def test_hostile_arguments(case, tmp_path, capsys):
    argv, pattern = ARG_CASES[case]
    out = tmp_path / "out"
    code, err = run_cli([a.replace("{out}", str(out)) for a in argv], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists() and no_temp_left(tmp_path)


@pytest.mark.parametrize(
    ("setting", "value", "pattern"),
    [("REFORM_ATLAS_MAX_SPEC_MB", "abc", r"^reform-atlas: error: REFORM_ATLAS_MAX_SPEC_MB='abc' is not a number of MB"),
     ("REFORM_ATLAS_MAX_SETTLEMENTS_MB", "-1", r"REFORM_ATLAS_MAX_SETTLEMENTS_MB='-1' must be a positive number"),
     ("REFORM_ATLAS_DATA_DIR", "/nonexistent", r"/nonexistent: data directory not found")],
)  # fmt: skip
def test_hostile_settings(setting, value, pattern, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(setting, value)
    places = csv(GOOD)(tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(["analyze", "--settlements", str(places), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists()


# ---------------------------------------------------------------- data directories
@pytest.fixture(scope="module")
def geokz_copy_source(data_dir):
    return data_dir


def copy_data_dir(src: Path, dest: Path) -> Path:
    for sub in ("geokz", "hotosm"):
        shutil.copytree(src / sub, dest / sub)
    return dest


def _layer(d: Path, name: str) -> Path:
    return d / "geokz" / f"kaz_admbnda_{name}.shp"


def rewrite(d: Path, name: str, change: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]) -> None:
    path = _layer(d, name)
    gdf = gpd.read_file(path, engine="pyogrio")
    for part in SHP_PARTS:
        path.with_suffix(f".{part}").unlink(missing_ok=True)
    change(gdf).to_file(path, engine="pyogrio")


def _metres(gdf):
    gdf = gdf.copy()
    gdf.geometry = gdf.geometry.scale(111_000, 111_000, origin=(0, 0))
    return gdf


def _duplicate_district(gdf):
    import pandas as pd

    extra = gdf.iloc[[5]].copy()
    extra["ADM2_PCODE"] = "KZ999999"
    return gpd.GeoDataFrame(pd.concat([gdf, extra], ignore_index=True), crs=gdf.crs)


def _set(gdf, column, row, value):
    gdf = gdf.copy()
    gdf.loc[gdf.index[row], column] = value
    return gdf


def _empty_geometry(gdf):
    gdf = gdf.copy()
    gdf.loc[gdf.index[3], "geometry"] = shapely.Polygon()
    return gdf


def _part(name: str, ext: str, action: str) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        path = _layer(d, name).with_suffix(ext)
        path.unlink()
        if action == "empty":
            path.write_bytes(b"")
        elif action == "nul":
            path.write_bytes(b"\0" * 4096)
        elif action == "dir":
            path.mkdir()
        elif action == "fifo":
            os.mkfifo(path)

    return change


DATA_DIR_CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "metres-under-wgs84": (lambda d: rewrite(d, "adm2_2018", _metres), r"coordinates up to x=.* are not degrees, but the .prj says"),
    "district-duplicated-new-code": (lambda d: rewrite(d, "adm2_2018", _duplicate_district), r"have the same geometry; a district is repeated under another code"),
    "district-deleted": (lambda d: rewrite(d, "adm2_2018", lambda g: g.drop(index=g.index[10])), r"the districts leave holes in region\(s\) KZ-\d\d [\d,]+ km²"),
    "code-blank": (lambda d: rewrite(d, "adm2_2018", lambda g: _set(g, "ADM2_PCODE", 7, "")), r"district\(s\) without ADM2_PCODE \(feature\(s\) 8\)"),
    "code-duplicate": (lambda d: rewrite(d, "adm2_2018", lambda g: _set(g, "ADM2_PCODE", 7, g["ADM2_PCODE"].iloc[8])), r"duplicate ADM2_PCODE"),
    "region-code-junk": (lambda d: rewrite(d, "adm2_2018", lambda g: _set(g, "ADM1_PCODE", 7, "XX")), r"ADM1_PCODE: cannot read a region code from 'XX'"),
    "empty-geometry": (lambda d: rewrite(d, "adm2_2018", _empty_geometry), r"features have no geometry"),
    "field-missing": (lambda d: rewrite(d, "adm2_2018", lambda g: g.drop(columns=["ADM2_EN"])), r"missing field\(s\) ADM2_EN"),
    "dbf-empty": (_part("adm2_2018", ".dbf", "empty"), r"kaz_admbnda_adm2_2018.dbf: file is empty"),
    "dbf-nul": (_part("adm2_2018", ".dbf", "nul"), r"kaz_admbnda_adm2_2018.dbf: the file is all NUL"),
    "shp-nul": (_part("adm1_2024", ".shp", "nul"), r"kaz_admbnda_adm1_2024.shp: the file is all NUL"),
    "shp-directory": (_part("adm2_2024", ".shp", "dir"), r"kaz_admbnda_adm2_2024.shp: is a folder"),
    "shx-fifo": (_part("adm1_2018", ".shx", "fifo"), r"kaz_admbnda_adm1_2018.shx: is a named pipe"),
    "shx-missing": (_part("adm1_2018", ".shx", "missing"), r"missing part of shapefile"),
    "prj-missing": (_part("cnt1_2022", ".prj", "missing"), r"no CRS \(missing .prj\)"),
}


@pytest.mark.parametrize("case", list(DATA_DIR_CASES))
def test_hostile_data_dir(case, data_dir, tmp_path, capsys):
    change, pattern = DATA_DIR_CASES[case]
    d = copy_data_dir(data_dir, tmp_path / "data")
    change(d)
    out = tmp_path / "out"
    code, err = run_cli(["build", "--data-dir", str(d), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists() and no_temp_left(tmp_path)


BULLETIN = "bns/bns_population_2023-01-01.xlsx"
BNS_CASES = {
    "empty": (lambda p: p.write_bytes(b""), r"bns_population_2023-01-01.xlsx: file is empty"),
    "junk": (lambda p: p.write_bytes(b"<html>maintenance</html>"), r"cannot read as an .xlsx workbook \(ZipError: invalid Zip archive: Could not find EOCD\); fetch the file again"),
    "nul": (lambda p: p.write_bytes(bytes(5000)), r"the file is all NUL"),
    "fifo": (lambda p: os.mkfifo(p), r"is a named pipe \(FIFO\), not a regular file; give the path of a BNS workbook"),
    "directory": (lambda p: p.mkdir(), r"is a folder, not a file; give the path of a BNS workbook"),
}


@pytest.mark.parametrize("case", list(BNS_CASES))
def test_hostile_bns_workbook(case, data_dir, tmp_path, capsys):
    change, pattern = BNS_CASES[case]
    d = copy_data_dir(data_dir, tmp_path / "data")
    shutil.copytree(data_dir / "bns", d / "bns")
    (d / BULLETIN).unlink()
    change(d / BULLETIN)
    out = tmp_path / "out"
    code, err = run_cli(["analyze", "--data-dir", str(d), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists() and no_temp_left(tmp_path)


@pytest.mark.parametrize(
    ("case", "pattern"),
    [("file", r"f: is a file, not a folder; pass --data-dir DIR"), ("missing", r"data directory not found"),
     ("dev", r"/dev/zero: is not a folder \(a pipe, device or socket\)"),
     ("fifo", r"fifo: is not a folder \(a pipe, device or socket\)"),
     ("symlink-loop", r"loop: data directory not found")],
)  # fmt: skip
def test_hostile_data_dir_path(case, pattern, tmp_path, capsys):
    target = {"file": tmp_path / "f", "missing": tmp_path / "nope", "dev": Path("/dev/zero"),
              "fifo": tmp_path / "fifo", "symlink-loop": tmp_path / "loop"}[case]  # fmt: skip
    if case == "file":
        target.write_text("x")
    elif case == "fifo":
        os.mkfifo(target)
    elif case == "symlink-loop":
        target.symlink_to(target)
    out = tmp_path / "out"
    code, err = run_cli(["build", "--data-dir", str(target), "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert not out.exists()


# ---------------------------------------------------------------- output folders
def out_existing(d: Path) -> Path:
    out = d / "out"
    out.mkdir()
    (out / "regions_2018.geojson").write_text("old", encoding="utf-8")
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    return out


def out_blocked(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        out = out_existing(d)
        (out / name).mkdir()
        (out / name / "x").write_text("x", encoding="utf-8")
        return out

    return make


def out_file(d: Path) -> Path:
    (d / "out").write_text("a file", encoding="utf-8")
    return d / "out"


def out_under_file(d: Path) -> Path:
    (d / "f").write_text("a file", encoding="utf-8")
    return d / "f" / "out"


OUT_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "folder-named-like-output": (out_blocked("regions_2024.geojson"), r"regions_2024.geojson: a folder is in the way"),
    "folder-named-like-csv": (out_blocked("crosswalk.csv"), r"crosswalk.csv: a folder is in the way"),
    "out-is-file": (out_file, r"output path exists and is not a folder"),
    "dangling-symlink": (dangling("out"), r"a symbolic link to nothing"),
    "parent-is-file": (out_under_file, r"f: is a file, not a folder"),
    "dev-null": (lambda d: Path("/dev/null"), r"output path exists and is not a folder"),
    "root": (lambda d: Path("/"), r"/: not a folder to write outputs into; choose a folder of its own"),
    "working-folder": (lambda d: Path("."), r"\.: not a folder to write outputs into"),
    "parent-of-working-folder": (lambda d: Path(".."), r"\.\.: not a folder to write outputs into"),
}


@pytest.mark.parametrize("case", list(OUT_CASES))
def test_hostile_out(case, tmp_path, capsys, monkeypatch):
    make, pattern = OUT_CASES[case]
    out = make(tmp_path)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # "." and ".." are folders of this test
    watched = tmp_path if out == Path("/") else out  # (not a walk of the whole file system)
    before = snapshot(watched) if watched.is_dir() else None
    code, err = run_cli(["build", "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    if watched.is_dir():
        assert snapshot(watched) == before
    assert no_temp_left(tmp_path) and not [p for p in Path("/").iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    ("error", "pattern"),
    [(errno.EACCES, r"Permission denied; make the path writable"),
     (errno.EROFS, r"Read-only file system; the file system is read-only"),
     (errno.ENOSPC, r"No space left on device; the disk is full"),
     (errno.EDQUOT, r"quota"),
     (errno.ENOTDIR, r"Not a directory; a part of the path is a file")],
    ids=["permission", "read-only-fs", "disk-full", "quota", "not-a-directory"],
)  # fmt: skip
def test_os_errors_while_writing(error, pattern, tmp_path, capsys, monkeypatch):
    import cli.export

    out = out_existing(tmp_path)
    before = snapshot(out)
    real = cli.export.write_geojson

    def failing(gdf, path, **kw):
        real(gdf, path, **kw)
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr(cli.export, "write_geojson", failing)
    code, err = run_cli(["build", "--out", str(out)], capsys)
    assert_one_line_error(code, err, pattern)
    assert snapshot(out) == before and no_temp_left(tmp_path)


def test_read_only_parent_is_one_line(tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    out = tmp_path / "out"
    code, err = run_cli(["build", "--out", str(out)], capsys)
    assert_one_line_error(code, err, r"cannot create the output next to out \(Permission denied\)")
    assert not out.exists()


def test_stale_temp_folders_of_killed_runs_are_removed(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".out.tmp-{dead}-abcd"
    stale.mkdir()
    (stale / "half.csv").write_text("x", encoding="utf-8")
    alive = tmp_path / f".out.tmp-{os.getppid()}-abcd"  # a live process: not ours to remove
    alive.mkdir()
    assert main(["build", "--out", str(tmp_path / "out")]) == 0
    assert not stale.exists() and alive.exists()


def test_sigterm_leaves_previous_set_and_no_temp(tmp_path):
    out = out_existing(tmp_path)
    before = snapshot(out)
    code = (
        "import signal, os, sys\n"
        "import cli.export as e\n"
        "real = e.write_geojson\n"
        "def slow(*a, **k):\n"
        "    real(*a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "e.write_geojson = slow\n"
        "from cli.main import main\n"
        f"sys.exit(main(['build', '--out', {str(out)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "reform-atlas: interrupted; no output was written"
    assert snapshot(out) == before and no_temp_left(tmp_path)


# ---------------------------------------------------------------- fetch on 127.0.0.1
class Hostile(BaseHTTPRequestHandler):
    mode = "ok"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        mode = self.mode
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
        elif mode == "slow-drip":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(5):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(5)
        elif mode == "no-length":
            self.send_response(200)
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(64):
                    self.wfile.write(b"y" * 65536)
            self.close_connection = True
        elif mode == "big-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
        elif mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"ab")
            self.close_connection = True
        elif mode == "404":
            self.send_error(404)
        elif mode == "500":
            self.send_error(500)
        elif mode == "wrong-bytes":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"zzzzz")
        elif mode == "silent":
            time.sleep(3)


@contextlib.contextmanager
def hostile_server(mode: str) -> Iterator[str]:
    handler = type("H", (Hostile,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


FETCH_CASES = {
    "drip": (r"not finished after 0.6 s \(deadline for this file\)"),
    "no-length": (r"sent more than the expected 5 bytes"),
    "big-length": (r"announces 1,000,000,000,000 bytes, more than the expected 5"),
    "truncated": (r"connection closed after 2 of 5 bytes"),
    "404": (r"HTTP 404"),
    "500": (r"HTTP 500"),
    "wrong-bytes": (r"checksum mismatch for geokz/kaz_admbnda_adm0_2018.cpg"),
    "silent": (r"timed out"),
}


@pytest.mark.parametrize("mode", list(FETCH_CASES))
def test_hostile_fetch(mode, tmp_path, monkeypatch):
    from geo.errors import FetchError
    from inputs.fetch import fetch_data

    dest = tmp_path / "data"
    started = time.monotonic()
    with hostile_server(mode) as url, pytest.raises(FetchError) as info:
        fetch_data(dest, base_url=url, progress=False, timeout=0.5, deadline=0.6)
    assert time.monotonic() - started < 20  # never the 48 minutes of a per-read timeout
    line = str(info.value)
    assert "\n" not in line and re.search(FETCH_CASES[mode], line), line
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_fetch_cli_one_line(tmp_path, capsys):
    with hostile_server("no-length") as url:
        code, err = run_cli(["data", "fetch", "--dest", str(tmp_path / "d"), "--base-url", url,
                             "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(code, err, r"sent more than the expected 5 bytes")
    assert [p for p in (tmp_path / "d").rglob("*") if p.is_file()] == []


def test_fetch_interrupted_removes_partial_file(tmp_path, monkeypatch):
    from inputs import download, fetch

    real = download._write

    def interrupt(out, chunk, path):
        real(out, chunk, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "_write", interrupt)
    with hostile_server("wrong-bytes") as url, pytest.raises(KeyboardInterrupt):
        fetch.fetch_data(tmp_path, base_url=url, progress=False, timeout=2)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def start_dripping_fetch(dest: Path, url: str) -> subprocess.Popen:
    """``data fetch`` in a child process, returned once pooch's temporary file is being written.

    The condition awaited is the file appearing in the private folder beside the target
    (``geokz/.kaz_admbnda_adm0_2018.cpg.tmp-<pid>-*/``); the server sends a byte every 5 s.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "data", "fetch", "--dest", str(dest), "--base-url", url,
         "--no-progress"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pattern = f".kaz_admbnda_adm0_2018.cpg.tmp-{proc.pid}-*/*"
    deadline = time.monotonic() + 120
    while not list((dest / "geokz").glob(pattern)):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.02)  # polling for the condition, not waiting for a time
    return proc


def fetch_temps(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if ".tmp-" in p.name or p.name.startswith("tmp") or p.suffix == ".part"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_fetch_signal_removes_partial_file(signum, tmp_path):
    dest = tmp_path / "d"
    with hostile_server("slow-drip") as url:
        proc = start_dripping_fetch(dest, url)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().endswith("reform-atlas: interrupted; no output was written")
    assert [p for p in dest.rglob("*") if p.is_file()] == []
    assert fetch_temps(dest) == []


def test_fetch_sigkill_leftover_is_removed_by_the_next_run(tmp_path, capsys):
    dest = tmp_path / "d"
    with hostile_server("slow-drip") as url:
        proc = start_dripping_fetch(dest, url)
        proc.kill()
        proc.communicate(timeout=60)
    left = fetch_temps(dest)
    assert left and all(f".tmp-{proc.pid}-" in str(p) for p in left)  # SIGKILL cannot be handled
    alive = dest / "geokz" / f".kaz_admbnda_adm2_2024.dbf.tmp-{os.getppid()}-abcd"  # a live process's
    alive.mkdir()
    with hostile_server("404") as url:
        code, err = run_cli(["data", "fetch", "--dest", str(dest), "--base-url", url, "--no-progress"], capsys)
    assert_one_line_error(code, err, r"HTTP 404")
    assert fetch_temps(dest) == [alive]


# ---------------------------------------------------------------- success output
UNSAFE_NAMES = {
    "newline": ("pla\nces", r"pla\nces"),
    "carriage-return": ("pla\rces", r"pla\rces"),
    "ansi-colour": ("\x1b[31mred", r"\x1b[31mred"),
    "osc-title": ("\x1b]0;pwned\x07t", r"\x1b]0;pwned\x07t"),
    "c1-csi": ("a\x9bb", r"a\x9bb"),
    "bidi-override": ("a\u202ecsv", r"a\u202ecsv"),
}


def assert_safe_lines(lines: list[str]) -> None:
    assert lines and not [line for line in lines if re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e]", line)]


@pytest.mark.parametrize("case", list(UNSAFE_NAMES))
def test_success_lines_escape_file_names(case, tmp_path, capsys):
    """A run that succeeds echoes file names escaped, as error messages do."""
    raw, shown = UNSAFE_NAMES[case]
    places = tmp_path / f"{raw}.csv"
    places.write_text(GOOD, encoding="utf-8")
    out = tmp_path / f"out{raw}"
    capsys.readouterr()
    assert main(["analyze", "--settlements", str(places), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert_safe_lines(lines)
    assert f"settlements: settlements file {tmp_path}/{shown}.csv" in lines
    assert lines[-1].startswith(f"wrote 12 file(s) to {tmp_path}/out{shown} in ")
    assert (out / "settlements.csv").is_file()


@pytest.mark.parametrize("case", list(UNSAFE_NAMES))
def test_success_lines_escape_place_names(case, tmp_path, capsys):
    """Place names from a settlements file are escaped in the printed ranking."""
    raw, shown = UNSAFE_NAMES[case]
    places = tmp_path / "places.csv"
    places.write_text(GOOD.replace("Talgar", f'"Talgar{raw}"'), encoding="utf-8")
    capsys.readouterr()
    argv = ["centres", "rank", "--region", "KZ-19", "--settlements", str(places), "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert_safe_lines(lines)
    assert any(line.endswith(f"1. Talgar{shown} (50,000): 0.0 km") for line in lines), lines
