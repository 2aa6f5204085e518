"""BNS workbook readers: figures read in the workbooks, and layouts that changed."""

from __future__ import annotations

import shutil

import pytest

from geo.errors import DataError
from inputs import bns


@pytest.fixture(scope="module")
def bulletin(data_dir):
    return bns.read_bulletin(data_dir / bns.BULLETIN_FILE)


@pytest.fixture(scope="module")
def series(data_dir):
    return bns.read_series(data_dir / bns.SERIES_FILE)


def test_bulletin_national_regions_and_units(bulletin):
    assert bulletin.national == 19_765_004  # sheet 02, row 7
    assert len(bulletin.regions) == 20
    assert len(bulletin.districts) == 220
    assert bulletin.districts["population"].sum() == 19_765_004
    almaty = bulletin.regions.set_index("region").loc["KZ-19"]
    assert almaty["population"] == 1_505_984  # "Алматы", sheet 02 row 58


def test_bulletin_tells_city_from_district(bulletin):
    d = bulletin.districts
    kostanay = d[(d["region"] == "KZ-39") & (d["name"] == "Қостанай")].set_index("kind")
    assert kostanay.loc["city", "population"] == 264_446
    assert kostanay.loc["district", "population"] == 73_157
    # the double space of "Шығыс  Қазақстан" is read as one region
    assert (d["region"] == "KZ-63").sum() == 11


def test_bulletin_settlements(bulletin):
    s = bulletin.settlements
    assert len(s) == 244  # every row of sheet 03 under a district
    assert (s["kind"] == "city_district").sum() == 5  # Aktobe's and Karaganda's city districts
    by_name = s.set_index("name_kk")["population"]
    assert by_name["Ұзынағаш а."] == 47_820
    assert by_name["Талғар қ."] == 64_898
    assert by_name["Сарқант қ."] == 18_014
    talgar = s[s["name_kk"] == "Талғар қ."].iloc[0]
    assert (talgar["region"], talgar["district"], talgar["kind"]) == ("KZ-19", "Талғар ауданы", "city")


def test_series_old_and_new_borders(series):
    pop = series.set_index(["region", "year"])["population"]
    assert pop[("KZ-19", 2021)] == 2_077_967
    assert pop[("KZ-19", 2022)] == 1_478_496
    assert pop[("KZ-33", 2022)] == 698_757
    assert pd_isna(pop[("KZ-33", 2021)])  # Zhetysu did not exist
    # the footnote marker of "Туркестанская 1" is dropped
    assert set(series.loc[series["region"] == "KZ-61", "name_ru"]) == {"Туркестанская"}


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_embedded_tables_match_the_workbook(bulletin, series):
    emb = bns.embedded_bulletin()
    assert emb.national == bulletin.national
    assert emb.regions.set_index("region")["population"].equals(
        bulletin.regions.set_index("region")["population"]
    )
    assert emb.settlements["population"].tolist() == bulletin.settlements["population"].tolist()
    es = bns.embedded_series().set_index(["region", "year"])["population"]
    assert es[("KZ-63", 2021)] == 1_363_797


# ------------------------------------------------------------------ changed layouts


def _edited(data_dir, tmp_path, sheet, edit):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "bulletin.xlsx"
    shutil.copy(data_dir / bns.BULLETIN_FILE, path)
    book = openpyxl.load_workbook(path)
    edit(book, sheet)
    book.save(path)
    return path


def test_missing_sheet(data_dir, tmp_path):
    path = _edited(data_dir, tmp_path, "03", lambda b, s: b.remove(b[s]))
    with pytest.raises(DataError, match=r"bulletin.xlsx: sheet '03' is missing"):
        bns.read_bulletin(path)


def test_moved_header(data_dir, tmp_path):
    def move(book, sheet):
        book[sheet].insert_rows(1, amount=30)

    path = _edited(data_dir, tmp_path, "02", move)
    with pytest.raises(DataError, match=r"sheet '02': no 'Қазақстан Республикасы' row in rows 1-20"):
        bns.read_bulletin(path)


def test_non_numeric_cell(data_dir, tmp_path):
    def spoil(book, sheet):
        book[sheet]["B66"] = "240 022 people"

    path = _edited(data_dir, tmp_path, "02", spoil)
    with pytest.raises(DataError, match=r"sheet '02', row 66, column B: '240 022 people' is not a head count"):
        bns.read_bulletin(path)


def test_units_not_adding_up(data_dir, tmp_path):
    def spoil(book, sheet):
        book[sheet]["B66"] = 240_023  # Talgar district one person more

    path = _edited(data_dir, tmp_path, "02", spoil)
    with pytest.raises(DataError, match=r"row 58 Алматы: units add up to 1,505,985, the region row says 1,505,984"):
        bns.read_bulletin(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="BNS workbook not found; run 'reform-atlas data fetch"):
        bns.read_bulletin(tmp_path / "bns" / "none.xlsx")
