"""Tests of inputs.names: romanisation (name_latn) and name matching keys."""

from __future__ import annotations

import re
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from boundaries.chain import load_chain
from geo.distance import geodesic_km
from inputs.names import (
    ALT_NAMES,
    NAME_FIELDS,
    latin_names,
    name_skeletons,
    names_in_period,
    period_name,
    romanise,
    skeleton,
)

# --------------------------------------------------------------------------- romanisation

#: Kazakh names of regional and district centres with their English names as
#: published in geokz 1.0.2 (layers kaz_admbnda_cnt1_2022 NAME_KK/NAME_EN and
#: kaz_admbnda_adm2_2024 ADM2_KK/ADM2_EN; A. Rodionov, from the Bureau of
#: National Statistics). Facts from the data, not outputs of romanise().
GEOKZ_ENGLISH = {
    # regional centres (cnt1_2022)
    "Семей": "Semey",
    "Көкшетау": "Kokshetau",
    "Ақтөбе": "Aktobe",
    "Атырау": "Atyrau",
    "Тараз": "Taraz",
    "Талдықорған": "Taldykorgan",
    "Қостанай": "Kostanay",
    "Қызылорда": "Kyzylorda",
    "Ақтау": "Aktau",
    "Түркістан": "Turkistan",
    "Өскемен": "Oskemen",
    "Шымкент": "Shymkent",
    # district and district-centre names (adm2_2024)
    "Жезқазған": "Zhezkazgan",
    "Талғар": "Talgar",
    "Екібастұз": "Ekibastuz",
    "Жаңаөзен": "Zhanaozen",
    "Райымбек": "Raiymbek",
    "Мойынқұм": "Moiynkum",
    "Қарқаралы": "Karkaraly",
    "Бесқарағай": "Beskaragay",
    "Тереңкөл": "Terenkol",
    "Құрманғазы": "Kurmangazy",
    "Әулиекөл": "Auliekol",
    "Уәлиханов": "Ualikhanov",
    "Ерейментау": "Ereymentau",
    "Есіл": "Esil",
    "Бородулиха": "Borodulikha",
    "Глубокое": "Glubokoe",
}


@pytest.mark.parametrize(("kazakh", "english"), sorted(GEOKZ_ENGLISH.items()))
def test_romanise_gives_the_established_english_name(kazakh, english):
    assert romanise(kazakh) == english


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        # the places of the brief: Kazakh and Russian spellings, one system
        ("Ұзынағаш", "Uzynagash"),
        ("Узынагаш", "Uzynagash"),
        ("Қаскелең", "Kaskelen"),
        ("Қонаев", "Konaev"),
        ("Усть-Каменогорск", "Ust-Kamenogorsk"),
        ("Щучинск", "Shchuchinsk"),
        ("Рудный", "Rudny"),
        ("Солтүстiк Қазақстан", "Soltustik Kazakstan"),  # with a Latin i, as geokz writes it
    ],
)
def test_romanise_kazakh_and_russian(cyrillic, latin):
    assert romanise(cyrillic) == latin


def test_romanise_folds_other_scripts_to_ascii():
    assert romanise("Qaskeleñ") == "Qaskelen"
    assert romanise("Jezqazğan") == "Jezqazgan"
    assert romanise("  Navro’z ") == "Navro'z"
    assert romanise("白哈巴村").isascii() and romanise("白哈巴村")


def test_romanise_agrees_with_most_geokz_names(data_dir):
    """Over every distinct geokz region, district and centre name, three in four agree.

    The rest are Russian-derived exonyms (Uralsk, Petropavlovsk) or one-off
    spellings (Konaiev, Aqsuat); a scheme of another habit agrees far less
    (the Kazakh Latin alphabet of 2021 agrees on none with ә, қ or ң).
    """
    pairs = set()
    for layer, level in [
        ("kaz_admbnda_adm1_2024", "ADM1"),
        ("kaz_admbnda_adm2_2018", "ADM2"),
        ("kaz_admbnda_adm2_2024", "ADM2"),
        ("kaz_admbnda_cnt1_2022", "NAME"),
    ]:
        table = gpd.read_file(data_dir / "geokz" / f"{layer}.shp", ignore_geometry=True)
        pairs |= set(zip(table[f"{level}_KK"], table[f"{level}_EN"], strict=True))
    agree = sum(romanise(kazakh) == english for kazakh, english in pairs)
    assert len(pairs) > 200
    assert agree / len(pairs) >= 0.7


def test_romanise_translation_table_agrees_with_iuliia_on_every_real_name(hot, geonames):
    """The ``str.translate`` shortcut of :func:`romanise` spells every name of the real
    gazetteers (all name fields and alternative names) as the iuliia scheme does."""
    from inputs.names import _letter_table, _scheme

    names = set()
    for frame in (hot, geonames):
        for column in [*NAME_FIELDS, ALT_NAMES]:
            if column in frame.columns:
                for value in frame[column].dropna():
                    names.update(re.split(r"[|;]", value))
    table, context = _letter_table()
    shortcut = [n for n in names if re.search(r"[\u0400-\u04ff]", n) and not context.search(n)]
    assert len(shortcut) > 1_000  # most names take the shortcut
    differ = [n for n in shortcut if n.translate(table) != _scheme().translate(n)]
    assert differ == []


def test_spec_centres_are_the_romanised_kazakh_or_russian_name(spec):
    """The project's English centre names (kz-2022.toml) follow the scheme."""
    for key, centre in spec.centres.items():
        assert centre.name_en in {romanise(centre.name_kk), romanise(centre.name_ru)}, key


# --------------------------------------------------------------------------- name_latn


def _frame(**columns) -> pd.DataFrame:
    n = max(len(v) for v in columns.values())
    return pd.DataFrame(
        {k: pd.array(v, dtype="string") for k, v in columns.items()}, index=range(n)
    )


def test_latin_names_prefer_kazakh_and_keep_english_of_the_same_system():
    frame = _frame(
        name=["Узынагаш", "Өскемен", "Қаскелең", "Лесхоз", "Borovskoye", "Тұрар Рысқұлов"],
        name_kk=["Ұзынағаш", "Өскемен", None, None, None, None],
        name_ru=["Узынагач", "Усть-Каменогорск", "Каскелен", "Лесхоз", "Боровское", None],
        name_en=[None, "Ust-Kamenogorsk", "Qaskeleñ", "Leshoz", "Borovskoye", "Turar-Ryskulov"],
    )
    before = frame.copy()
    out = latin_names(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert out.name == "name_latn" and out.dtype == "string"
    assert out.tolist() == [
        "Uzynagash",
        "Oskemen",
        "Kaskelen",
        "Leskhoz",
        "Borovskoe",
        "Turar-Ryskulov",  # the English name's hyphen is kept: same spelling otherwise
    ]


def test_latin_names_without_cyrillic():
    frame = _frame(
        name=["Uzunagach", "Navro'z", "白哈巴村", None, None],
        name_en=["Uzunagach", None, "Baihaba", None, None],
        alt_names=["Kˌұzynagash|Uzunagach|Узунагач|Ұзынағаш", None, None, None, None],
        place=["village", "village", "village", "isolated_dwelling", None],
    )
    out = latin_names(frame)
    # GeoNames rows: the Kazakh alternative name spelling the same name wins (not
    # one mixing scripts)
    assert out.tolist() == [
        "Uzynagash",
        "Navro'z",
        "Baihaba",
        "Unnamed isolated dwelling",
        "Unnamed place",
    ]


def test_latin_names_drop_bracketed_qualifiers():
    frame = _frame(name_kk=["Талдыбұлақ (Талғар ауданы)"], name=["Талдыбұлақ"])
    assert latin_names(frame).tolist() == ["Taldybulak"]


def test_every_real_settlement_has_an_ascii_latin_name(geokz_analysis):
    names = geokz_analysis.settlements["name_latn"]
    assert len(names) == len(geokz_analysis.settlements) > 9000
    assert names.notna().all()
    assert (names.str.strip() != "").all()
    assert names.map(str.isascii).all()
    # only places without any name (or with only "?") are labelled "Unnamed …"
    named = geokz_analysis.settlements[["name", "name_en", "name_kk", "name_ru"]].apply(
        lambda c: c.str.contains(r"\w", regex=True).fillna(False)
    )
    assert names.str.startswith("Unnamed ").eq(~named.any(axis=1)).all()


def test_real_centres_carry_the_project_english_names(geokz_analysis, spec):
    """The largest settlement at each centre is named as the spec names the centre.

    Names of one city (same KATO: Astana and Nur-Sultan) count for each other.
    Karaganda is the exception: the spec keeps the Russian-derived English name;
    the Kazakh-first scheme gives Karagandy, geokz's ADM1_EN for its region.
    """
    s = geokz_analysis.settlements
    lon, lat = s.geometry.x.to_numpy(), s.geometry.y.to_numpy()
    pop = s["population_est"].fillna(0).to_numpy()
    names_of_city: dict[str, set] = {}
    for c in spec.centres.values():
        names_of_city.setdefault(c.kato, set()).update({c.name_en, c.former_name_en})
    wrong = {}
    for key, centre in spec.centres.items():
        km = geodesic_km(lon, lat, centre.lon, centre.lat)
        near = np.flatnonzero(km <= 10)
        best = near[np.argmax(pop[near])]
        if s["name_latn"].iat[best] not in names_of_city[centre.kato]:
            wrong[key] = s["name_latn"].iat[best]
    assert wrong == {"karaganda": "Karagandy"}


# --------------------------------------------------------------------------- matching keys


@pytest.mark.parametrize(
    "variants",
    [
        ("Ұзынағаш", "Узынагач", "Uzynagash", "Uzunagach", "Uzynaghash"),
        ("Алматы", "Almaty", "ALMATY"),
        ("Талдықорған", "Талдыкорган", "Taldykorgan", "Taldyqorghan", "Taldiqorgan"),
        ("Қаскелең", "Каскелен", "Kaskelen", "Qaskeleñ"),
        ("Талғар", "Талгар", "Talgar", "Talghar"),
        ("Есік", "Есик", "Esik", "Yesik"),
        ("Шымкент", "Chimkent", "Shymkent"),
        ("Жаңаөзен", "Zhanaozen", "Janaozen", "Zhangaozen"),
        ("Ақтөбе", "Aktobe", "Aqtöbe"),
        ("Шәкіров", "Шакиров"),
        ("Шу", "Shu", "Şu"),
        ("Новоишимское", "Novoishimskiy", "Новоишимский"),
        ("Қасым Қайсенов кенті", "Qasym Qaysenov"),
        ("Сарыбай би ауылы", "Сарыбай би"),
        ("Усть-Каменогорск", "Ust'-Kamenogorsk", "Ust Kamenogorsk"),
    ],
)
def test_skeleton_folds_scripts_and_romanisations(variants):
    keys = {skeleton(v) for v in variants}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("a", "b"), [("Алматы", "Талгар"), ("Аксу", "Аксай"), ("Kaskelen", "Talgar"), ("Есик", "Иссык")]
)
def test_skeleton_keeps_different_names_apart(a, b):
    assert skeleton(a) != skeleton(b)


def test_settlement_word_alone_is_kept():
    assert skeleton("Аул") == skeleton("Aul") != ""


def test_name_skeletons_use_all_name_fields():
    frame = pd.DataFrame(
        {
            "name": ["Есік", None],
            "name_ru": ["Есик", None],
            "alt_names": ["Issyk|Иссык", None],
        }
    )
    sets = name_skeletons(frame)
    assert sets.iloc[0] == {skeleton("Esik"), skeleton("Issyk")}
    assert sets.iloc[1] == frozenset()


# --------------------------------------------------------------------------- names over time

#: The span of the pre-reform map: from 2018 to the reform's entry into force
#: (decree No. 887 of 4 May 2022, in force 8 June 2022).
PRE_REFORM = (date(2018, 1, 1), date(2022, 6, 7))
POST_REFORM = (date(2024, 1, 1), date(2024, 12, 31))


#: The renamings of the bundled reform specs' ``[[renames]]`` (their one home).
RENAMES = load_chain().renames


@pytest.mark.parametrize(
    ("name", "period", "expected"),
    [
        ("Nur-Sultan", PRE_REFORM, ["Astana", "Nur-Sultan"]),
        ("Astana", PRE_REFORM, ["Astana", "Nur-Sultan"]),
        ("Нұр-Сұлтан", POST_REFORM, ["Astana"]),
        ("Konaev", PRE_REFORM, ["Kapshagai", "Konaev"]),  # renamed 3 May 2022
        ("Kapshagay", POST_REFORM, ["Konaev"]),  # another spelling finds it too
        ("Konaev", (date(2019, 1, 1), date(2021, 12, 31)), ["Kapshagai"]),
        ("Semey", (date(1996, 1, 1), date(1996, 12, 31)), ["Semipalatinsk"]),  # renamed 21 June 2007
        ("Astana", (date(1997, 1, 1), date(1998, 12, 31)), ["Akmola", "Astana"]),
        ("Taldykorgan", PRE_REFORM, ["Taldykorgan"]),  # never renamed
    ],
)
def test_names_in_period(name, period, expected):
    assert names_in_period(name, *period, renames=RENAMES) == expected


def test_period_name_joins_the_names_of_the_period():
    assert period_name("Nur-Sultan", *PRE_REFORM, renames=RENAMES) == "Astana / Nur-Sultan"
    assert period_name("Nur-Sultan", *POST_REFORM, renames=RENAMES) == "Astana"
    # a rename on the last day of a period counts; one the day after does not
    day = next(r.on for r in RENAMES if r.new == "Nur-Sultan")
    assert period_name("Astana", date(2019, 1, 1), day, renames=RENAMES) == "Astana / Nur-Sultan"
    assert period_name("Astana", date(2019, 1, 1), day - timedelta(days=1), renames=RENAMES) == "Astana"
    with pytest.raises(ValueError, match="swap them"):
        period_name("Astana", date(2020, 1, 1), date(2019, 1, 1), renames=RENAMES)
    assert period_name("Nur-Sultan", *PRE_REFORM, renames=()) == "Nur-Sultan"  # only the renames given


def test_renames_are_dated_in_order_and_sourced():
    assert [r.on for r in RENAMES] == sorted(r.on for r in RENAMES)
    assert all(r.source and r.old != r.new for r in RENAMES)
    # every name is in the romanisation scheme (ASCII, as name_latn)
    assert all(r.old.isascii() and r.new.isascii() for r in RENAMES)


def test_skeleton_memo_stays_bounded(monkeypatch):
    import inputs.names as names

    monkeypatch.setattr(names, "_MAX_SKELETON_SETS", 5)
    monkeypatch.setattr(names, "_SKELETON_SETS", {})
    frame = pd.DataFrame({"name": [f"Place {i}" for i in range(20)], "name_ru": "Пункт"})
    sets = names.name_skeletons(frame)
    assert len(names._SKELETON_SETS) == 5
    assert sets.iloc[17] == frozenset({skeleton("Place 17"), skeleton("Пункт")})
    again = names.name_skeletons(frame)  # a full memo is emptied first, then refilled
    assert again.equals(sets) and len(names._SKELETON_SETS) == 5
