"""How numbers, dates, places and sources read in the report (also the templates' filters).

Formatting only: every function takes one value and returns text; the numbers
come from :mod:`analysis`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from boundaries.schema import CHANGE_KM, POPULATION_EST

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
#: Shown for a missing value.
MISSING = "–"
#: A POSIX or Windows absolute path (not part of a URL or of a relative path).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:\\|/)(?:[\w.+-]+[/\\])*[\w.+-]+")


def missing(value: Any) -> bool:
    """Whether ``value`` is None or a pandas/numpy missing value."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def fmt_int(value: Any) -> str:
    """Whole number with thousands separators (``–`` when missing)."""
    return MISSING if missing(value) else f"{float(value):,.0f}"


def fmt_km(value: Any) -> str:
    """Distance in km with one decimal (``–`` when missing)."""
    return MISSING if missing(value) else f"{float(value):,.1f}"


def fmt_delta(value: Any) -> str:
    """Signed change in km with one decimal (``–`` when missing)."""
    if missing(value):
        return MISSING
    return "0.0" if abs(float(value)) < 0.05 else f"{float(value):+,.1f}"


def fmt_signed(value: Any) -> str:
    """Signed whole number with thousands separators (``–`` when missing)."""
    if missing(value):
        return MISSING
    return "0" if round(float(value)) == 0 else f"{float(value):+,.0f}"


def fmt_pct(value: Any) -> str:
    """Format a share as a percentage with one decimal (``–`` when missing)."""
    return MISSING if missing(value) else f"{float(value):.1%}"


def fmt_pct_points(value: Any) -> str:
    """Signed percentage given in percent (``+1.2 %``; ``–`` when missing)."""
    return MISSING if missing(value) else f"{float(value):+.1f} %"


def fmt_date(iso: Any) -> str:
    """``2022-03-16`` → ``16 March 2022`` (locale independent; ``–`` when missing)."""
    if missing(iso) or str(iso) == "":
        return MISSING
    day = dt.date.fromisoformat(str(iso)[:10])
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def text(value: Any) -> str:
    """Return the value as text, empty when missing."""
    return "" if missing(value) else str(value)


def join_words(items: Sequence[str]) -> str:
    """Join words in running text: ``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def region_label(code: Any, names: Mapping[str, str]) -> str:
    """``KZ-19 Almaty Region``; ``unassigned`` for a missing code."""
    if missing(code) or code == "unassigned":
        return "unassigned"
    name = names.get(str(code))
    return f"{code} {name}" if name else str(code)


def settlement_label(row: Mapping[str, Any]) -> str:
    """Settlement name with its English form in parentheses when it differs."""
    name, name_en = text(row.get("name")), text(row.get("name_en"))
    if name_en and name_en != name:
        return f"{name} ({name_en})"
    return name or name_en or "?"


def population_text(row: Mapping[str, Any]) -> str:
    """``pop. 65,356`` for a known count, ``pop. ≈449 (estimate)`` otherwise."""
    if not missing(row.get("population")):
        return f"pop. {fmt_int(row['population'])}"
    return f"pop. ≈{fmt_int(row.get(POPULATION_EST))} (estimate)"


def distance_verdict(delta: Any) -> str:
    """Words for a change in distance (km)."""
    if missing(delta):
        return "no distance (unassigned)"
    d = float(delta)
    if abs(d) < 0.05:
        return "unchanged"
    if abs(d) <= CHANGE_KM:
        return f"slightly {'farther' if d > 0 else 'nearer'} ({fmt_delta(d)} km)"
    return f"{'farther' if d > 0 else 'nearer'} by {abs(d):,.1f} km"


def public_text(value: str) -> str:
    """Replace every absolute path in ``value`` by its last component.

    A report travels beyond the machine that wrote it: it names the data folder
    (``data/``) or the file (``places.geojson``), never a server path.
    """
    return _ABSOLUTE_PATH.sub(_last_component, value)


def _last_component(match: re.Match[str]) -> str:
    name = re.split(r"[/\\]", match.group(0))[-1]
    return f"{name}/" if Path(match.group(0)).is_dir() else name
