"""Population figures as gazetteers write them: parsed, classified and bounded.

OpenStreetMap ``population`` tags, GeoNames figures and the population column of a
user's settlements file are text in many forms (``"12 345"``, ``"ок. 700"``,
``"1,2 тыс."``, ``"1e15"``). :func:`parse_population` reads them,
:func:`population_status` says which were read, and :func:`check_population_bound`
rejects figures no settlement can have, naming their rows.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import DataError, escape_controls

__all__ = [
    "MAX_PLACE_POPULATION",
    "MISSING",
    "TAGGED",
    "UNPARSED",
    "check_population_bound",
    "parse_population",
    "population_columns",
    "population_status",
    "raw_text",
]

#: Values of ``population_status``.
TAGGED, UNPARSED, MISSING = "tagged", "unparsed", "missing"

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_APPROX = re.compile(r"^(?:~|≈|±|ca\.?|c\.|circa|approx\.?|about|около|ок\.|примерно|прибл\.?)\s*")
_MULTIPLIERS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\s*(?:тыс\.?|тысяч[аи]?|thousand|k)$"), 1e3),
    (re.compile(r"\s*(?:млн\.?|million|mln)$"), 1e6),
)
_GROUPED = re.compile(r"^\d{1,3}(?:([ ,.'’])\d{3})(?:\1\d{3})*$")
_INTEGER = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^(\d+)[.,](\d+)$")
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?e\+?\d+$")
_NEGATIVE = re.compile(r"^[-−]\s*\d")
_RANGE = re.compile(r"^(.+?)\s*[-–—]\s*(.+)$")


def parse_population(values: pd.Series, *, zero_as_missing: bool = True) -> pd.Series:
    """Parse population values written as text into numbers.

    Rules, applied to each value after trimming and lower-casing:

    * plain integers: ``"12345"``;
    * thousands separators — space (also no-break and thin spaces), comma,
      dot or apostrophe — when every group after the first has exactly three
      digits: ``"12 345"``, ``"12,345"``, ``"12.345"``, ``"1,234,567"``;
    * decimals whose fraction is zero: ``"1234.0"``; any other fraction
      (``"1.5"``, ``"12,5"``) is not a head count and is left unparsed;
    * scientific notation of a whole number: ``"2.5e6"``, ``"1E15"`` (so an
      absurd figure is caught by :func:`check_population_bound`, not left unparsed);
    * approximations: a leading ``~``, ``≈``, ``ca.``, ``c.``, ``circa``,
      ``approx.``, ``about``, ``около``, ``ок.``, ``примерно``, ``прибл.`` is ignored;
    * bracketed notes are ignored: ``"1200 (2009)"`` → 1200;
    * multipliers ``тыс.``/``k``/``thousand`` (×1000) and ``млн``/``million``
      (×10⁶), where comma or dot is a decimal mark: ``"1,2 тыс."`` → 1200;
    * ranges ``"100-200"`` (also en/em dash) → the midpoint, 150, when the
      lower bound does not exceed the upper;
    * ``0`` → NaN when ``zero_as_missing`` (the default): OSM ``population=0``
      and GeoNames ``0`` mean "unknown" far more often than "abandoned", and a
      settlement in a gazetteer is assumed inhabited;
    * anything else (``">1000"``, ``"unknown"``, negative numbers) → NaN.

    Parameters
    ----------
    values : pandas.Series
        Text (or numbers) as found in the source; missing values stay NaN.
    zero_as_missing : bool
        Whether a parsed 0 becomes NaN.

    Returns
    -------
    pandas.Series
        ``float64`` on the input index, named ``population``. Use
        :func:`population_status` to tell missing values from unparsed ones.
    """
    raw = raw_text(values)
    parsed = [_parse_one(text) if isinstance(text, str) else math.nan for text in raw]
    out = pd.Series(parsed, index=values.index, dtype="float64", name="population")
    if zero_as_missing:
        out = out.mask(out == 0)
    return out


def population_status(raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """Classify each value as ``"tagged"``, ``"unparsed"`` or ``"missing"``.

    Parameters
    ----------
    raw : pandas.Series
        The source values (text or numbers).
    parsed : pandas.Series
        Output of :func:`parse_population` on ``raw``.

    Returns
    -------
    pandas.Series
        ``string`` dtype on the index of ``raw``.
    """
    text = raw_text(raw)
    present = text.notna() & (text.str.strip() != "")
    status = np.where(parsed.notna(), TAGGED, np.where(present, UNPARSED, MISSING))
    return pd.Series(status, index=raw.index, dtype="string", name="population_status")


def raw_text(values: pd.Series) -> pd.Series:
    """Return ``values`` as text, writing integral floats without ``.0``.

    Parameters
    ----------
    values : pandas.Series
        Text or numbers.

    Returns
    -------
    pandas.Series
        ``string`` dtype; missing values are ``<NA>``.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
        text = [
            (str(int(v)) if float(v).is_integer() else repr(float(v))) if np.isfinite(v) else None
            for v in numbers
        ]
        return pd.Series(text, index=values.index, dtype="string")
    return values.astype("string")


def _parse_one(text: str) -> float:
    """Parse one population text; NaN when it cannot be read (see parse_population)."""
    s = _SPACES.sub(" ", _BRACKETS.sub(" ", text.casefold())).strip()
    s = _APPROX.sub("", s).strip()
    for pattern, factor in _MULTIPLIERS:
        if pattern.search(s):
            value = _decimal(pattern.sub("", s).strip())
            return round(value * factor) if value == value else math.nan
    value = _number(s)
    if value == value:
        return value
    found = _RANGE.match(s)
    if found:
        low, high = _number(found.group(1)), _number(found.group(2))
        if low <= high:  # False for NaN
            return (low + high) / 2
    return math.nan


def _number(s: str) -> float:
    """Parse an integer head count, with optional thousands separators."""
    if _INTEGER.match(s):
        return float(s)
    if _GROUPED.match(s):
        return float(re.sub(r"\D", "", s))
    found = _DECIMAL.match(s)
    if found and set(found.group(2)) == {"0"}:
        return float(found.group(1))
    if _SCIENTIFIC.match(s):  # 1e15, 2.5E6: infinity when out of range (then rejected as too large)
        value = float(s)
        return value if value.is_integer() or math.isinf(value) else math.nan
    return math.nan


def _decimal(s: str) -> float:
    """Parse a number before a multiplier, where comma or dot is a decimal mark."""
    s = s.replace(" ", "")
    if re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        return float(s.replace(",", "."))
    return math.nan


#: Largest head count accepted for one settlement: above the population of any city on
#: Earth (Tokyo's metropolitan area, the largest, has about 37 million people).
MAX_PLACE_POPULATION = 50_000_000


def check_population_bound(frame: pd.DataFrame, path: str | Path) -> None:
    """Raise if a ``population`` is negative or above :data:`MAX_PLACE_POPULATION`, naming the rows.

    Negative numbers are not parsed (:func:`parse_population`); they are found in
    ``population_raw``, where a head count cannot start with a minus sign.
    """
    raw = frame["population_raw"].fillna("").str.strip()
    problems = (
        (
            (frame["population"] > MAX_PLACE_POPULATION).to_numpy(),
            f"population above {MAX_PLACE_POPULATION:,}",
            "no settlement is that large",
        ),
        (raw.str.contains(_NEGATIVE).to_numpy(dtype=bool), "negative population", "a head count is never negative"),
    )
    for bad, what, why in problems:
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = ", ".join(
                f"row {i + 1} ({escape_controls(str(frame['population_raw'].iloc[i]))[:30]})" for i in rows[:5]
            )
            more = f" and {rows.size - 5} more" if rows.size > 5 else ""
            msg = (
                f"{path}: {what} for one place in {shown}{more}; {why}: fix the value or leave it empty"
            )
            raise DataError(msg)


def population_columns(values: pd.Series, *, zero_as_missing: bool = True) -> pd.DataFrame:
    """Build ``population``, ``population_raw`` and ``population_status`` from source values."""
    raw = raw_text(values)
    parsed = parse_population(raw, zero_as_missing=zero_as_missing)
    return pd.DataFrame(
        {
            "population": parsed,
            "population_raw": raw,
            "population_status": population_status(raw, parsed),
        },
        index=values.index,
    )
