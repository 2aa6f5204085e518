"""webapp.labels: epoch periods and names of a period, from the specs' [periods] and [[renames]]."""

from __future__ import annotations

import pytest

from boundaries.chain import load_chain


@pytest.fixture(scope="module")
def chain():
    return load_chain()


def test_every_epoch_of_the_bundled_chain_has_its_period(chain):
    from webapp.labels import epoch_name, epoch_period, is_approximate

    kz2022, kz2018, kz1997 = chain.spec("kz-2022"), chain.spec("kz-2018"), chain.spec("kz-1997")
    assert epoch_period(kz2022, 2018) == "June 2018 – June 2022"
    assert epoch_period(kz2018, 2018) == epoch_period(kz2022, 2018)  # the shared epoch, said once each, equal
    assert epoch_period(kz2022, 2024) == "since June 2022"
    assert epoch_period(kz2018, 2017) == "April 2001 – June 2018"
    assert epoch_period(kz1997, 1996) == "1991 – April 1997 (approximate)"  # marked wherever shown
    assert is_approximate(kz1997, 1996) and not is_approximate(kz1997, 2017)
    assert epoch_name(kz2022, 2018) == "2018 (June 2018 – June 2022)"
    assert epoch_name(kz1997, 1996) == "1996 (1991 – April 1997, approximate)"
    assert epoch_name(kz2022, 2030) == "2030"  # no period: the year


def test_places_are_named_as_their_period_knew_them(chain):
    from webapp.labels import period_name

    kz2022, kz2018, kz1997 = chain.spec("kz-2022"), chain.spec("kz-2018"), chain.spec("kz-1997")
    assert period_name(kz2022, 2018, "Nur-Sultan") == "Astana / Nur-Sultan"
    assert period_name(kz2022, 2024, "Astana") == "Astana"
    assert period_name(kz2018, 2017, "Astana") == "Astana"  # 2001–2018: neither Akmola nor Nur-Sultan
    assert period_name(kz1997, 1996, "Akmola") == "Akmola"  # renamed Astana on 6 May 1998
    assert period_name(kz1997, 1996, "Semey") == "Semipalatinsk"  # renamed Semey on 21 June 2007
    # kz-2022 alone knows the renames of the whole chain (names are facts about places)
    assert period_name(kz2022, 2018, "Kapshagai") == "Kapshagai / Konaev"


def test_centre_labels_of_each_epoch(chain):
    from webapp.maps.features import centre_label

    kz2022, kz2018, kz1997 = chain.spec("kz-2022"), chain.spec("kz-2018"), chain.spec("kz-1997")
    assert centre_label(kz2022, "KZ-19", 2024) == "Konaev (former Kapshagai)"
    assert centre_label(kz2022, "KZ-71", 2018) == "Astana / Nur-Sultan"
    assert centre_label(kz2018, "KZ-71", 2017) == "Astana (former Akmola)"
    assert centre_label(kz1997, "KZ-11", 1996) == "Akmola"
    assert centre_label(kz1997, "KZ-SEM", 1996) == "Semipalatinsk"


def test_centre_columns_are_named_as_their_period_knew_them(chain):
    import pandas as pd

    from webapp.labels import centres_then

    frame = pd.DataFrame({"centre_1996": ["Semey", None], "centre_2017": ["Oskemen", "Astana"]})
    named = centres_then(frame, chain.spec("kz-1997"), {1996: "centre_1996", 2017: "centre_2017"})
    assert named["centre_1996"].iloc[0] == "Semipalatinsk" and pd.isna(named["centre_1996"].iloc[1])
    assert named["centre_2017"].tolist() == ["Oskemen", "Astana"]
    assert frame["centre_1996"].iloc[0] == "Semey"  # the input is not changed
