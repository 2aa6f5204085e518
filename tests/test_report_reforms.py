"""report.reforms: a section per reform of the chain and today's regions vs the 1996 oblasts."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.summary import ChainSummary
from report.reforms import reforms_context
from report.render import environment

TITLES = {"kz-2018": "Kazakhstan regional reform of 2018"}


@pytest.fixture(scope="module")
def tables():
    summary = pd.DataFrame(
        {
            "reform": ["kz-2018", "kz-2022", "kz-2022"],
            "before": [2017, 2018, 2018],
            "after": [2018, 2024, 2024],
            "region_before": ["KZ-51", "KZ-19", "KZ-35"],
            "name_before": ["South Kazakhstan Region", "Almaty Region", "Karaganda Region"],
            "centre_before": ["Shymkent", "Taldykorgan", "Karaganda"],
            "settlements": [1000, 739, 742],
            "population": [2_900_000.0, 1_865_890.0, 1_750_905.0],
            "share_pop_nearer": [0.2, 0.559, 0.132],
            "share_pop_farther": [0.5, 0.036, 0.026],
            "share_pop_unchanged": [0.3, 0.405, 0.842],
            "pop_weighted_mean_before_km": [80.0, 163.8, 129.4],
            "pop_weighted_mean_after_km": [120.0, 87.4, 81.9],
            "median_delta_km": [10.0, 0.0, 0.0],
        }
    )
    overlap = pd.DataFrame(
        {"region": ["KZ-62"], "epoch": [2024], "name_en": ["Ulytau Region"],
         "former_region": ["KZ-ZHE"], "former_epoch": [1996], "former_name_en": ["Zhezkazgan Oblast"],
         "overlap_km2": [180_000.0], "share_of_region": [0.95], "share_of_former": [0.57],
         "iou": [0.55], "centre": ["Zhezkazgan"], "former_centre": ["Zhezkazgan"], "centres_km": [0.0]}
    )  # fmt: skip
    approximation = pd.DataFrame(
        {"region": ["KZ-ZHE"], "epoch": [1996], "name_en": ["Zhezkazgan Oblast"],
         "built_area_km2": [314_700.0], "official_area_km2": [313_400.0], "difference_pct": [0.41]}
    )  # fmt: skip
    return {"reform_summary": summary, "successor_overlap": overlap, "approximation": approximation}


def chain(tables, **kw):
    fields = {"titles": TITLES, "epochs": {}, "claims": {}, "names": {}} | kw
    return ChainSummary(tables=tables, **fields)


def render(context, fmt):
    env = environment(fmt)
    source = f'{{% import "blocks.{fmt}.j2" as m %}}{{% include "sections/reforms.j2" %}}'
    return env.from_string(source).render(reforms=context, after=2024)


def test_no_section_without_the_timeline():
    assert reforms_context(None) is None
    assert reforms_context(chain({"reform_summary": pd.DataFrame()})) is None
    assert render(None, "md").strip() == ""


def test_one_section_per_reform_in_chain_order(tables):
    context = reforms_context(chain(tables))
    assert [r["id"] for r in context["reforms"]] == ["kz-2018", "kz-2022"]
    first = context["reforms"][0]
    assert first["title"] == "Kazakhstan regional reform of 2018" and first["before"] == 2017
    assert context["reforms"][1]["title"] == "kz-2022"  # no title given: the spec id
    assert [len(r["table"].rows) for r in context["reforms"]] == [1, 2]
    assert context["reforms"][1]["table"].rows[0][3:5] == ("163.8", "87.4")


def test_sections_render_the_numbers_and_the_approximation(tables):
    context = reforms_context(chain(tables))
    md = render(context, "md")
    assert "## Reforms in sequence" in md
    assert "### Kazakhstan regional reform of 2018 (2017 → 2018)" in md
    assert (
        "- South Kazakhstan Region (centre Shymkent in 2017; 2,900,000 people): 80.0 km → "
        "120.0 km; 50.0% of the people farther, 20.0% nearer" in md
    )
    assert (
        "| Ulytau Region (2024) | Zhezkazgan Oblast (1996, approximate) | 180,000 | 95.0% | 57.0% | 0.550 |"
        in md
    )
    assert "| Zhezkazgan Oblast (1996) | 314,700 | 313,400 | +0.4 % |" in md
    html = render(context, "html")
    assert "<h3>Today&#39;s regions and the oblasts of 1996</h3>" in html


def test_claim_places_of_another_reform_are_tabulated(tables):
    claims = pd.DataFrame(
        [
            {"place": "Lenger", "found": True, "name": "Леңгір", "population": 34145.0,
             "region_2017": "KZ-51", "region_2018": "KZ-61", "centre_2017": "Shymkent",
             "centre_2018": "Turkistan", "dist_2017_km": 29.0, "dist_2018_km": 181.9,
             "delta_km": 152.9},
            {"place": "Nowhere", "found": False},
        ]
    )  # fmt: skip
    names = {2017: {"KZ-51": "South Kazakhstan Region"}, 2018: {"KZ-61": "Turkistan Region"}}
    context = reforms_context(
        chain(tables, epochs={"kz-2018": (2017, 2018)}, claims={"kz-2018": claims}, names=names)
    )
    table = context["reforms"][0]["claims"]
    lenger, nowhere = table.rows
    assert lenger[2] == "KZ-51 South Kazakhstan Region → KZ-61 Turkistan Region"
    assert lenger[4:] == ("29.0", "Turkistan", "181.9", "+152.9", "farther by 152.9 km", "–")
    assert table.highlight == (True, False)  # farther: no gain
    assert nowhere[1] == "not found in the settlement source"
    assert table.caption.startswith("Places the reform moved")
    assert context["reforms"][1]["claims"] is None


def test_epochs_carry_their_periods_and_centres_their_names_of_the_period(tables):
    from boundaries.chain import load_chain

    bundled = load_chain()
    summary = tables["reform_summary"]
    semey = summary.iloc[[0]].assign(reform="kz-1997", before=1996, after=2017, region_before="KZ-SEM",
                                     name_before="Semipalatinsk Region", centre_before="Semey")  # fmt: skip
    periods = {e: bundled.period(e) for e in bundled.epochs}
    context = reforms_context(chain({**tables, "reform_summary": pd.concat([semey, summary])},
                                    periods=periods, renames=bundled.renames))  # fmt: skip
    first = context["reforms"][0]
    assert first["before_period"] == "1996 (1991 – April 1997, approximate)"
    assert first["after_period"] == "2017 (April 2001 – June 2018)"
    assert first["regions"][0]["centre"] == "Semipalatinsk"  # renamed Semey on 21 June 2007
    md = render(context, "md")
    assert "The map of 2017 (April 2001 – June 2018) against the map of 2018 (June 2018 – June 2022)." in md
