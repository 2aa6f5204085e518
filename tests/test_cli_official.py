"""The command line with official population: bad workbooks and bad --official files."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cli.main import main
from inputs.bns import BULLETIN_FILE, SERIES_FILE


@pytest.fixture
def data_copy(data_dir, tmp_path):
    """A data folder whose geokz/ and hotosm/ are the real ones and whose bns/ can be edited."""
    copy = tmp_path / "data"
    copy.mkdir()
    for name in ("geokz", "hotosm"):
        (copy / name).symlink_to(data_dir / name, target_is_directory=True)
    (copy / "bns").mkdir()
    for f in (BULLETIN_FILE, SERIES_FILE):
        shutil.copy(data_dir / f, copy / f)
    return copy


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    return err[0]


def test_changed_workbook_exits_2_with_file_sheet_row(data_copy, tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    path = data_copy / BULLETIN_FILE
    book = openpyxl.load_workbook(path)
    book["03"]["B121"] = "n/a"  # Uzynagash's figure
    book.save(path)
    out = tmp_path / "out"
    assert main(["analyze", "--data-dir", str(data_copy), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "bns_population_2023-01-01.xlsx: sheet '03', row 121, column B: 'n/a' is not a head count" in line
    assert not out.exists()


def test_series_without_national_row_exits_2(data_copy, tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    path = data_copy / SERIES_FILE
    book = openpyxl.load_workbook(path)
    book.worksheets[0]["A2"] = "Итого"
    book.save(path)
    out = tmp_path / "out"
    assert main(["run", "--data-dir", str(data_copy), "--out", str(out)]) == 2
    assert "sheet 'Все население': no 'Республика Казахстан' row" in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("code,population\nKZ-19,1500000\nKZ-19,1\n", "code KZ-19 appears more than once"),
        ("code,population\nKZ-19,-5\n", "line 2: population '-5' is not a finite non-negative number"),
        ("code,population\nKZ-19,inf\n", "line 2: population 'inf' is not a finite"),
        ("code,population\nKZ-99,5\n", "line 2: unknown region code 'KZ-99'"),
        ("code,population\nKZ-19,lots\n", "line 2: population 'lots' is not a finite"),
    ],
)
def test_official_file_is_validated(tmp_path, capsys, monkeypatch, text, problem):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    f = tmp_path / "official.csv"
    f.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["analyze", "--official", str(f), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert problem in line and "official.csv" in line
    assert not out.exists()


def test_official_file_still_compared(tmp_path, monkeypatch):
    monkeypatch.delenv("REFORM_ATLAS_DATA_DIR", raising=False)
    f = tmp_path / "official.csv"
    f.write_text("code,population\nKZ19,1505984\nKZ-33,698675\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["analyze", "--official", str(f), "--out", str(out)]) == 0
    cmp = pd.read_csv(out / "official_vs_estimate.csv").set_index("region")
    assert cmp.loc["KZ-19", "error"] == 0  # the embedded default is controlled to the same bulletin
    stats = pd.read_csv(out / "region_stats.csv")
    bns = pd.read_csv(out / "population_check.csv")
    assert (bns.loc[(bns["level"] == "region") & (bns["epoch"] == 2024), "difference"] == 0).all()
    assert stats.loc[stats["epoch"] == 2024, "population"].sum() == 19_765_004
