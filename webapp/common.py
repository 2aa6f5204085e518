"""Helpers both pages share: errors as one safe line, plain text, number formats."""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import ReformAtlasError, escape_controls, message_line

#: Problems shown as one line in the page (with the previous data kept) instead of a traceback.
EXPECTED_ERRORS = (ReformAtlasError, OSError, ValueError, TypeError, OverflowError, KeyError)
ROOT = Path(__file__).resolve().parents[1]
#: An absolute POSIX path of two or more parts (what a message must never show a visitor).
_ABS_PATH = re.compile(r"(?<![\w.~/:”])/(?:[^\s/:;,'\"()<>]+/)+([^\s/:;,'\"()<>]*)")
#: Characters that start Markdown markup anywhere (emphasis, code, links, HTML, tables, maths).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")
#: What starts a list or a heading at the beginning of a line.
_MD_LINE_START = re.compile(r"^(\s*)(\d*)([-+=.)])", re.MULTILINE)


def scrub(text: str, names: Iterable[tuple[str, str]] = ()) -> str:
    """Text without server paths: each known ``(path, name)`` by its name, any other path by its last part."""
    for path, name in sorted(names, key=lambda pn: -len(pn[0])):
        if path:
            text = text.replace(path, name)
    for root in (tempfile.gettempdir(), sys.prefix, str(ROOT), str(Path.home())):
        text = text.replace(root + "/", "")
    return _ABS_PATH.sub(lambda m: m.group(1) or "(folder)", text)


def one_line(err: BaseException, names: Iterable[tuple[str, str]] = ()) -> str:
    """Return an exception as one line of text, with no traceback and no server path.

    The project's errors are one line already: their control characters are escaped
    as the command line escapes them (:func:`geo.errors.message_line`). A library's
    message may span lines: its line breaks become spaces first.
    """
    if isinstance(err, ReformAtlasError):
        text = str(err)
    else:
        text = re.sub(r"\s+", " ", str(err)).strip()
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return message_line(scrub(text, names) or type(err).__name__)


def plain(text: object) -> str:
    r"""Text shown as itself inside Markdown (names never become bold, links or lists).

    Control characters are escaped first (``\n``, ``\x1b``), as in every message.
    """
    text = _MD_SPECIAL.sub(r"\\\1", escape_controls(str(text)))
    return _MD_LINE_START.sub(r"\1\2\\\3", text)


def fmt_km(value: float | None, decimals: int = 0) -> str:
    """``211 km``; ``–`` for missing."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:,.{decimals}f} km"


def fmt_count(value: float | None, unit: str = "") -> str:
    """``1,709,951 people``; ``–`` for missing; ``1 place`` / ``2 places`` style units."""
    if value is None or not np.isfinite(value):
        return "–"
    text = f"{value:,.0f}"
    if not unit:
        return text
    return f"{text} {unit if round(value) == 1 else unit + 's'}"


def whole(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Copy of ``frame`` with population-like columns rounded to whole persons for display."""
    out = frame.copy()
    for col in cols:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    return out


def table_height(rows: int) -> int:
    """Pixel height showing every row of a short table (Streamlit rows are 35 px)."""
    return 35 * (min(rows, 25) + 1) + 3
