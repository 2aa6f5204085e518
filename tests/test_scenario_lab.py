"""The Scenario lab page (webapp.lab), driven by streamlit.testing.v1.AppTest.

The real-data tests point ``$REFORM_ATLAS_DATA_DIR`` at ../shared/data (skipped when
it is absent); the base build and analysis are cached by the page across runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # a cold run builds and analyses everything; later runs hit the caches
ALAKOL = "KZ193400"
POP = "Population (persons)"
DPOP = "Δ population (persons)"
DIST = "Pop.-weighted mean distance (km)"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def real_data(data_dir, monkeypatch):
    from boundaries.sources import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(data_dir))
    return data_dir


@pytest.fixture
def embedded(monkeypatch):
    from boundaries.sources import ENV_VAR

    monkeypatch.delenv(ENV_VAR, raising=False)


def lab_page():
    from webapp.lab import main

    main()


def start():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(lab_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def run(at):
    at.run()
    assert not at.exception, at.exception
    return at


def table(at):
    """The comparison table, indexed by region code."""
    frames = [d.value for d in at.dataframe if POP in d.value.columns]
    assert len(frames) == 1
    frame = frames[0].set_index("Code")
    assert set(frame["Changed"]) <= {"yes", ""}  # a plain word where something changed, else empty
    return frame.assign(Changed=frame["Changed"] == "yes")


def errors(at) -> str:
    """The error messages as a reader sees them (Markdown escapes of names removed)."""
    import re

    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in at.error))


# --------------------------------------------------------------------------- real data
def test_page_loads_on_the_enacted_reform(real_data):
    at = start()
    assert not at.error
    assert at.radio(key="lab_source").value == "Data directory “data”"
    t = table(at)
    assert len(t) == 21 and t.index[0] == "KZ"  # national row + 20 regions
    assert (t[DPOP] == 0).all() and (t["Δ distance (km)"] == 0).all()
    assert not t["Changed"].any()
    assert {m.label for m in at.metric} >= {"Distance to centre (km)", "Non-contiguous regions"}
    assert all(m.delta == "no change" for m in at.metric)
    assert at.button(key="lab_undo").disabled and at.button(key="lab_reset").disabled
    assert at.button(key="lab_redo").disabled


def test_a_move_through_the_widgets_changes_the_table_and_undo_restores_it(real_data):
    at = start()
    before = table(at)
    at.selectbox(key="lab_unit").set_value(ALAKOL)
    at.selectbox(key="lab_target").set_value("KZ-10")
    run(at)
    assert not at.button(key="lab_move").disabled
    at.button(key="lab_move").click()
    run(at)
    moved = table(at)
    gain = moved.loc["KZ-10", DPOP]
    assert gain > 10_000 and moved.loc["KZ-33", DPOP] == -gain
    assert moved.loc["KZ-10", POP] == before.loc["KZ-10", POP] + gain
    assert moved.loc[["KZ-10", "KZ-33", "KZ"], "Changed"].all()
    assert moved["Changed"].sum() == 3
    assert moved.loc["KZ-11", DIST] == before.loc["KZ-11", DIST]
    assert any(m.delta != "no change" for m in at.metric)
    history = "\n".join(m.value for m in at.markdown)
    assert "Alakol (KZ193400): Zhetysu Region → Abai Region" in history
    at.button(key="lab_undo").click()
    run(at)
    restored = table(at)
    assert restored.equals(before)
    assert at.button(key="lab_undo").disabled
    at.button(key="lab_redo").click()  # redo brings the move back
    run(at)
    assert table(at).equals(moved)
    assert not at.button(key="lab_undo").disabled and at.button(key="lab_redo").disabled


def test_a_centre_change_through_the_widgets(real_data):
    at = start()
    before = table(at)
    at.selectbox(key="lab_centre_region").set_value("KZ-19")
    at.text_input(key="lab_centre_query").set_value("Kaskelen")
    run(at)
    pick = at.selectbox(key="lab_centre_pick")
    assert pick.options and "Қаскелең" in pick.options[0]
    at.button(key="lab_set_centre").click()
    run(at)
    after = table(at)
    assert list(after.index[after["Changed"]]) == ["KZ", "KZ-19"]
    assert after.loc["KZ-19", "Centre"] != before.loc["KZ-19", "Centre"]
    assert after.loc["KZ-19", DIST] < before.loc["KZ-19", DIST]  # Kaskelen sits in the Almaty belt
    assert after.loc["KZ-19", DPOP] == 0
    others = [c for c in after.index if c not in ("KZ", "KZ-19")]
    assert after.loc[others, DIST].equals(before.loc[others, DIST])
    assert not at.button(key="lab_restore_centre").disabled
    at.button(key="lab_restore_centre").click()
    run(at)
    assert table(at).equals(before)


def test_the_example_specs_load_with_one_click(real_data):
    at = start()
    at.button(key="lab_example_0").click()  # Zhetysu without Alakol
    run(at)
    assert not at.error
    t = table(at)
    assert list(t.index[t["Changed"]]) == ["KZ", "KZ-10", "KZ-33"]
    assert t.loc["KZ-10", DPOP] > 0
    at.session_state["lab_panel"] = "Scenario spec (TOML)"  # the tab is drawn only when open
    run(at)
    spec_text = "\n".join(c.value for c in at.code)
    raw = tomllib.loads(spec_text)
    assert raw["reform"]["id"] == "zhetysu-without-alakol"
    assert any(ALAKOL in m["units"] and m["to"] == "KZ-10" for m in raw["moves"])
    at.session_state["lab_panel"] = "Regions vs enacted"
    run(at)
    at.button(key="lab_example_1").click()  # Almaty Region centred on Kaskelen
    run(at)
    t = table(at)
    assert list(t.index[t["Changed"]]) == ["KZ", "KZ-19"]
    assert t.loc["KZ-19", "Centre"] == "Kaskelen"
    assert (t[DPOP] == 0).all()
    at.button(key="lab_undo").click()
    run(at)
    assert list(table(at).index[table(at)["Changed"]]) == ["KZ", "KZ-10", "KZ-33"]


def test_an_invalid_toml_upload_shows_an_error_and_the_page_keeps_working(real_data):
    at = start()
    at.file_uploader(key="lab_upload").set_value(
        ("broken.toml", b"[reform\nid = 1", "application/toml")
    )
    run(at)
    assert "broken.toml" in errors(at) and "not valid TOML" in errors(at)
    assert len(table(at)) == 21
    # a spec that parses but does not fit: every problem is listed
    bad = (ROOT / "scenarios" / "zhetysu-without-alakol.toml").read_text("utf-8")
    bad = bad.replace('"KZ193400", # Alakol', '"KZ999999", # no such district', 1)
    bad = bad.replace('name_en = "Semey"\n', "", 1)
    at.file_uploader(key="lab_upload").set_value(("bad.toml", bad.encode(), "application/toml"))
    run(at)
    text = errors(at)
    assert "bad.toml" in text and "KZ999999" in text and "[centres.semey] has no 'name_en'" in text
    assert "2 problem(s)" in text or "3 problem(s)" in text
    assert not table(at)["Changed"].any()
    # the editor still works after the failed uploads
    at.selectbox(key="lab_unit").set_value(ALAKOL)
    at.selectbox(key="lab_target").set_value("KZ-19")
    run(at)
    at.button(key="lab_move").click()
    run(at)
    assert table(at).loc["KZ-19", DPOP] > 0


def test_a_valid_upload_becomes_the_current_scenario(real_data):
    at = start()
    data = (ROOT / "scenarios" / "almaty-centre-kaskelen.toml").read_bytes()
    at.file_uploader(key="lab_upload").set_value(("kaskelen.toml", data, "application/toml"))
    run(at)
    assert not at.error
    t = table(at)
    assert t.loc["KZ-19", "Centre"] == "Kaskelen" and list(t.index[t["Changed"]]) == ["KZ", "KZ-19"]


def test_export_round_trips_through_the_slow_path_format(data_dir, monkeypatch):
    """The lab's TOML and GeoJSON writers on a moved district (module functions, no server)."""
    import json

    from analysis.scenario import scenario_problems
    from boundaries.sources import ENV_VAR
    from boundaries.spec import parse_spec
    from webapp.cache import cached_regions_geojson, compute_analysis
    from webapp.datasource import configured_sources
    from webapp.lab_model import compute_lab, spec_text
    from webapp.lab_state import evaluate_state

    monkeypatch.setenv(ENV_VAR, str(data_dir))
    name = next(n for n, s in configured_sources().items() if s.path)
    lab = compute_lab(name, compute_analysis(name))
    state = {"moves": {ALAKOL: "KZ-10"}, "centres": {}, "label": "", "id": "alakol-lab", "title": "",
             "origin": "kz-2022"}
    result = evaluate_state(lab, state)
    raw = tomllib.loads(spec_text(lab, state, result))
    assert raw["reform"]["title"] == "What if: Alakol to Abai Region"
    _, problems = scenario_problems(raw, sources=lab.build.sources)
    assert problems == [] and parse_spec(raw).moved_units()[ALAKOL] == "KZ-10"
    doc = json.loads(cached_regions_geojson.__wrapped__(name, "k", result))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc and len(doc["features"]) == 20
    areas = {f["properties"]["code"]: f["properties"]["area_km2"] for f in doc["features"]}
    assert areas["KZ-10"] == pytest.approx(result.metrics.loc["KZ-10", "area_km2"], abs=0.01)
    ring = np.array(doc["features"][0]["geometry"]["coordinates"][0][0])
    signed = np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert signed > 0  # RFC 7946: exterior rings counter-clockwise


def hostile_specs() -> list[tuple[str, bytes]]:
    """Specs of the wrong shape: the enacted one with a field of the wrong type, and worse."""
    enacted = (ROOT / "boundaries" / "reforms" / "kz-2022.toml").read_text("utf-8")
    after = enacted.replace("after = 2024", 'after = "x"', 1)
    assert after != enacted
    return [
        ("after-x.toml", after.encode()),
        ("centres-5.toml", b"centres = 5\n"),
        ("moves-strings.toml", b'moves = ["a", "b"]\n'),
        ("reform-string.toml", b'reform = "kz"\n'),
        ("huge-epoch.toml", enacted.replace("after = 2024", "after = 100000000000000000000", 1).encode()),
        ("nul.toml", b"\x00" * 100),
        ("latin1.toml", "title = 'é'".encode("latin-1")),
        ("big.toml", b"# " + b"x" * (2 * 1024 * 1024)),
        ("deep.toml", b"a = " + b"[" * 5000 + b"]" * 5000),
        ("empty.toml", b""),
        ("binary.toml", bytes(range(256)) * 4),
        ("circular.toml", (enacted + CIRCULAR_MERGES).encode()),
        ("many-problems.toml", "".join(f"k{i} = {i}\n" for i in range(10_000)).encode()),
    ]


CIRCULAR_MERGES = '\n[[merges]]\nregions = ["KZ-10"]\ninto = "KZ-63"\n\n[[merges]]\nregions = ["KZ-63"]\ninto = "KZ-10"\n'


def test_hostile_spec_uploads_give_one_line_problems(real_data):
    at = start()
    before = table(at)
    for name, data in hostile_specs():
        at.file_uploader(key="lab_upload").set_value((name, data, "application/toml"))
        run(at)
        text = errors(at)
        assert name in text and "problem" in text, (name, text)
        assert "Traceback" not in text and str(ROOT) not in text and "/tmp/" not in text, text
        assert len(text) < 5000, (name, len(text))  # the first problems and "and N more", not 10,000
        assert table(at).equals(before), name


# --------------------------------------------------------------------------- embedded default
def test_embedded_default_explains_that_moves_need_districts(embedded):
    at = start()
    assert at.radio(key="lab_source").value == "Embedded default"
    assert any("District moves need district boundaries" in i.value for i in at.info)
    assert len(table(at)) == 21
    at.button(key="lab_example_0").click()  # Alakol moves a district: not possible here
    run(at)
    assert "needs district boundaries" in errors(at) and "choose a data directory" in errors(at)
    assert not table(at)["Changed"].any()
    at.button(key="lab_example_1").click()  # a centre change works
    run(at)
    t = table(at)
    assert t.loc["KZ-19", "Centre"] == "Kaskelen" and list(t.index[t["Changed"]]) == ["KZ", "KZ-19"]


def test_a_link_holds_the_scenario(real_data):
    from streamlit.testing.v1 import AppTest

    at = start()
    at.selectbox(key="lab_unit").set_value(ALAKOL)
    at.selectbox(key="lab_target").set_value("KZ-10")
    run(at)
    at.button(key="lab_move").click()
    run(at)
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params == {"moves": f"{ALAKOL}:KZ-10"}
    moved = table(at)
    fresh = AppTest.from_function(lab_page, default_timeout=TIMEOUT)
    fresh.query_params["moves"] = f"{ALAKOL}:KZ-10,KZ999999:KZ-10,bad"  # unknown parts are ignored
    fresh.run()
    assert not fresh.exception and not fresh.error
    assert table(fresh).equals(moved)
    assert not fresh.button(key="lab_undo").disabled  # the link's scenario is one undoable step
