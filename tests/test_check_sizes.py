"""The size rule of issue 9 (modules ≤ 600 lines, functions ≤ 60 code lines) holds for the project."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_sizes", ROOT / "scripts" / "check_sizes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_long_function_is_reported_unless_a_reason_is_given(tmp_path):
    check = _checker()
    body = "".join(f"    x{i} = {i}\n" for i in range(check.MAX_FUNCTION_LINES + 1))
    long = tmp_path / "long.py"
    long.write_text(f'def f():\n    """Doc."""\n    # a comment\n{body}', encoding="utf-8")
    assert [explained for _, explained in check.check_file(long)] == [False]
    long.write_text(f"# size: a table that reads best whole\ndef f():\n{body}", encoding="utf-8")
    assert [explained for _, explained in check.check_file(long)] == [True]
    short = tmp_path / "short.py"
    short.write_text("def f():\n" + "    # comment\n" * 100 + "    return 1\n", encoding="utf-8")
    assert check.check_file(short) == []


def test_every_module_and_function_of_the_project_fits_or_says_why(capsys):
    assert _checker().main([]) == 0, capsys.readouterr().out
