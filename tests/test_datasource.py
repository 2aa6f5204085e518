"""Data sources by name (webapp.datasource) and safe text (webapp.common)."""

from __future__ import annotations

import os


def test_sources_come_from_the_operator(tmp_path):
    from webapp.datasource import EMBEDDED_NAME, configured_sources, default_source

    a, b = tmp_path / "alpha", tmp_path / "beta"
    env = {"REFORM_ATLAS_DATA_DIR": str(a), "REFORM_ATLAS_ALLOWED_DATA_DIRS": os.pathsep.join([f"Beta set={b}", str(a), ""])}
    sources = configured_sources(env)
    assert list(sources) == [EMBEDDED_NAME, "Data directory “alpha”", "Beta set"]  # duplicates once, in order
    assert sources["Beta set"].path == str(b.resolve())
    assert default_source(sources) == "Data directory “alpha”"
    assert list(configured_sources({})) == [EMBEDDED_NAME]
    assert default_source(configured_sources({})) == EMBEDDED_NAME


def test_unknown_names_fall_back_to_the_embedded_default(monkeypatch):
    from webapp.datasource import EMBEDDED, source_of

    monkeypatch.delenv("REFORM_ATLAS_ALLOWED_DATA_DIRS", raising=False)
    assert source_of("/etc") is EMBEDDED  # a visitor cannot name a path
    assert source_of("../../root") is EMBEDDED


def test_scrub_and_one_line_show_no_server_path():
    from geo.errors import DataError
    from webapp.common import one_line, scrub

    text = scrub("/srv/data/geokz/x.shp: broken; see /usr/lib/python3/site-packages/a.py", [("/srv/data", "“data”")])
    assert text == "“data”/geokz/x.shp: broken; see a.py"
    assert one_line(ValueError("bad\n  value at /home/u/f.csv")) == "ValueError: bad value at f.csv"
    assert one_line(DataError("f.csv: no rows; fix it")) == "f.csv: no rows; fix it"
    assert scrub("see https://example.org/a/b.html") == "see https://example.org/a/b.html"


def test_plain_text_is_not_markdown():
    from webapp.common import fmt_count, plain

    assert plain("**x** [a](b) `c` <i>") == r"\*\*x\*\* \[a\](b) \`c\` \<i\>"
    assert plain("1. first") == r"1\. first" and plain("- item") == r"\- item"
    assert plain("Konaev (former Kapshagai)") == "Konaev (former Kapshagai)"
    assert fmt_count(1, "place") == "1 place" and fmt_count(2500, "place") == "2,500 places"
