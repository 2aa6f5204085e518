"""report.official: official (BNS) figures in the report, with their dates and sources."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from report.context import report_context
from report.official import official_context, shift_context
from report.render import render_html, render_markdown

SOURCE = "Bureau of National Statistics of the Republic of Kazakhstan"


@pytest.fixture(scope="module")
def shift():
    # BNS regional series, population on 1 January (issue #10): Almaty region 2,077,967 in
    # its old borders (2021); Almaty 1,478,496 and Zhetysu 698,757 in the new ones (2022)
    new = {"KZ-19": 1_478_496, "KZ-33": 698_757}
    return pd.DataFrame(
        {
            "region_before": "KZ-19",
            "population_before": 2_077_967,
            "date_before": "2021-01-01",
            "region_after": list(new),
            "population_after": list(new.values()),
            "date_after": "2022-01-01",
            "share_after": [v / sum(new.values()) for v in new.values()],
            "source": f"{SOURCE}, population by region on 1 January",
        }
    )


@pytest.fixture(scope="module")
def controlled(embedded_analysis, shift):
    """The embedded analysis with the official tables a controlled run carries."""
    stats = embedded_analysis.region_stats
    after = stats[stats["epoch"] == 2024]
    check = pd.DataFrame(
        {
            "level": "region",
            "epoch": 2024,
            "code": after["region"].to_numpy(),
            "project_population": after["population"].to_numpy(),
            "official_population": after["population"].to_numpy() + 1000,
            "official_date": "2023-01-01",
            "source": f"{SOURCE}: /srv/data/bns/bns_population_2023-01-01.xlsx",
        }
    )
    check["difference"] = check["project_population"] - check["official_population"]
    sources = pd.DataFrame(
        {"region": ["KZ-33"], "epoch": [2024], "population": [698_757.0], "counted": [400_000.0],
         "allocated": [298_757.0], "allocated_low": [290_000.0], "allocated_high": [300_000.0],
         "representative": [0.0], "counted_share": [400_000 / 698_757]}
    )  # fmt: skip
    out = copy.copy(embedded_analysis)
    out.population_check, out.population_sources, out.official_shift = check, sources, shift
    return out


def test_sections_are_skipped_without_official_figures(embedded_analysis):
    plain = copy.copy(embedded_analysis)
    plain.population_check = plain.population_sources = plain.official_shift = None
    plain.official_series = None
    assert official_context(plain) is None
    assert shift_context(plain) is None


def test_shift_table_names_both_dates_and_the_source(controlled):
    table = shift_context(controlled)
    assert (
        table.columns[0] == "Region, 1 January 2021"
        and table.columns[2] == "Region, 1 January 2022"
    )
    assert table.rows[0] == (
        "KZ-19 Almaty Region",
        "2,077,967",
        "KZ-19 Almaty Region",
        "1,478,496",
        "67.9%",
    )
    assert table.rows[1][2:] == ("KZ-33 Zhetysu Region", "698,757", "32.1%")
    assert SOURCE in table.caption


def test_region_checks_carry_the_official_date_and_source(controlled):
    context = official_context(controlled)
    (table,) = context["checks"]
    assert "1 January 2023" in table.caption and SOURCE in table.caption
    assert "bns_population_2023-01-01.xlsx" in table.caption and "/srv" not in table.caption
    assert len(table.rows) == len(controlled.build.regions[2024])
    assert all(row[3] == "-1,000" for row in table.rows)
    assert context["sources"][0].rows == (
        ("KZ-33 Zhetysu Region", "698,757", "400,000", "57.2%", "298,757 (290,000–300,000)", "0"),
    )
    assert context["osm_error"] is None  # no settlement rows in this check


def test_report_shows_the_official_figures_in_both_formats(controlled):
    context = report_context(controlled)
    md, html = render_markdown(context), render_html(context)
    assert "## Official population figures" in md and "<h2>Official population figures</h2>" in html
    for text in (md, html):
        assert "1 January 2021" in text and "1 January 2022" in text and "1 January 2023" in text
        assert "2,077,967" in text and "698,757" in text
    flows = md.split("## Population flows")[1].split("\n## ")[0]
    assert "| KZ-19 Almaty Region | 2,077,967 | KZ-33 Zhetysu Region | 698,757 | 32.1% |" in flows


def test_official_series_by_region_in_the_borders_of_each_date(embedded_analysis):
    series = embedded_analysis.official_series
    assert series is not None and series["year"].max() == 2023
    context = official_context(embedded_analysis)["series"]
    table = context["table"]
    assert table.columns[0] == "Region" and table.columns[-1] == "1 Jan 2023"
    rows = {row[0]: row for row in table.rows}
    # Zhetysu exists from 2022; Almaty region's figure drops when Zhetysu is split off
    pop = series.set_index(["region", "year"])["population"]
    assert rows["KZ-33 Zhetysu Region"][table.columns.index("1 Jan 2021")] == "–"
    assert rows["KZ-33 Zhetysu Region"][-1] == f"{int(pop[('KZ-33', 2023)]):,}"
    assert int(pop[("KZ-19", 2022)]) < int(pop[("KZ-19", 2021)])
    assert (
        "in the borders of each date" in table.caption
        and "Bureau of National Statistics" in table.caption
    )
    assert "KZ" not in {row[0].split()[0] for row in table.rows}  # the national row is not a region
    assert context["figure"].png[:8] == b"\x89PNG\r\n\x1a\n"
    md = render_markdown(report_context(embedded_analysis, chain=None))
    assert "### Population by region, 2018–2023" in md
