"""The typed model of a reform spec file: every field's type, range and length in one place.

:func:`validate_spec_mapping` checks a parsed TOML mapping against :class:`SpecFile`
(pydantic, strict: no silent conversion of ``"2018"`` to 2018) and turns every
validation error into one short problem line naming the table, the key and the fix.
:mod:`boundaries.spec` builds its runtime objects from the validated model and adds
the checks that relate entries to each other (centres referenced, merges, epochs).

To add a field, add it to the model class of its table (with a bounded type from
the aliases below); unknown keys are reported as problems, so a field that is not
in the model cannot be used in a spec file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: Years an epoch may take.
MIN_EPOCH, MAX_EPOCH = 1800, 2200
#: Longest code (region, district, centre key, spec id), name and free text, in characters.
MAX_CODE_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS = 64, 200, 4000
#: Most entries in one list or table of a spec (2018 has 216 districts, 17 regions).
MAX_ENTRIES = 5000
#: Layers a split may take its cut geometry from.
CUT_LAYERS = ("adm2_2024", "adm1_2024")

Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Epoch = Annotated[StrictInt, Field(ge=MIN_EPOCH, le=MAX_EPOCH)]
Codes = Annotated[list[Code], Field(max_length=MAX_ENTRIES)]


class _Table(BaseModel):
    """One TOML table: strict types, unknown keys are errors, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ReformTable(_Table):
    """``[reform]``: identity, epochs and free metadata of the spec."""

    id: Code
    title: Name | None = None
    before: Epoch
    after: Epoch
    country: Name | None = None
    proposed: Code | None = None
    enacted: Code | None = None
    in_force: Code | None = None
    source: Text | None = None
    kind: Code | None = None
    based_on: Code | None = None
    description: Text | None = None
    note: Text | None = None


class CentreTable(_Table):
    """``[centres.<key>]``: a regional centre with names and WGS 84 coordinates."""

    name_en: Name
    name_kk: Name
    name_ru: Name
    lon: float
    lat: float
    kato: Code | StrictInt | None = None
    former_name_en: Name | None = None
    alt_name_en: Name | None = None

    @field_validator("lon")
    @classmethod
    def _lon(cls, value: float) -> float:
        if not -180 <= value <= 180:
            raise PydanticCustomError(
                "lon_range", "lon {v} is not a longitude; give degrees east (WGS 84)", {"v": value}
            )
        return value

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float) -> float:
        if not -90 <= value <= 90:
            raise PydanticCustomError(
                "lat_range", "lat {v} is not a latitude; give degrees north (WGS 84)", {"v": value}
            )
        return value


class RegionTable(_Table):
    """``[[regions]]``: a region as it exists in one or more epochs."""

    code: Code
    epochs: Annotated[list[Epoch], Field(min_length=1, max_length=50)]
    name_en: Name
    name_kk: Name
    name_ru: Name
    centre: Code
    parent: Code | None = None


class MoveTable(_Table):
    """``[[moves]]``: whole districts given to region ``to`` in the ``after`` epoch."""

    to: Code
    units: Codes
    note: Text = ""


class SplitTable(_Table):
    """``[[splits]]``: a district divided by a cut geometry of a reference layer."""

    unit: Code
    cut_layer: Code
    cut_codes: Annotated[list[Code], Field(min_length=1, max_length=MAX_ENTRIES)]
    inside: Code
    outside: Code
    name_en: Text = ""
    note: Text = ""

    @field_validator("cut_layer")
    @classmethod
    def _layer(cls, value: str) -> str:
        if value not in CUT_LAYERS:
            raise PydanticCustomError(
                "cut_layer", "cut_layer '{v}' unknown; use one of {known}",
                {"v": value, "known": ", ".join(CUT_LAYERS)},
            )  # fmt: skip
        return value


class MergeTable(_Table):
    """``[[merges]]``: regions of the ``after`` epoch whose districts all go to ``into``."""

    regions: Annotated[list[Code], Field(min_length=1, max_length=MAX_ENTRIES)]
    into: Code
    note: Text = ""


class MemberTable(_Table):
    """``[[members]]``: districts that belonged to region ``region`` of the ``before`` epoch.

    For a spec whose earlier epoch is derived from later districts (the 1996 oblasts
    from the 2018 districts); a unit may be a split piece, ``CODE:inside``/``CODE:outside``.
    """

    region: Code
    units: Annotated[list[Code], Field(min_length=1, max_length=MAX_ENTRIES)]
    source: Text = ""
    note: Text = ""


def _day(value: Any, info: ValidationInfo) -> date:
    """Accept a TOML date (``2018-06-19``) or the same as ISO text; anything else is one problem line."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise PydanticCustomError(
        "day_value",
        "'{key}' = {v} is not a day; write it as a date such as {key} = 2018-06-19",
        {"key": info.field_name, "v": repr(value)[:40]},
    )


class PeriodTable(_Table):
    """``[periods.<epoch>]``: the period an epoch's map shows, and the days whose names it uses.

    ``label`` names the period (``June 2018 – June 2022``); ``first_day`` and
    ``last_day`` bound the days whose place names the map uses (both included); an
    ``approximate`` epoch (built from later units) is marked so wherever it is shown.
    """

    label: Name
    first_day: date
    last_day: date
    approximate: bool = False
    note: Text = ""

    _days = field_validator("first_day", "last_day", mode="before")(_day)

    @model_validator(mode="after")
    def _order(self) -> PeriodTable:
        if self.last_day < self.first_day:
            raise PydanticCustomError(
                "day_order",
                "last_day {last} is before first_day {first}; swap them or fix the dates",
                {"last": self.last_day.isoformat(), "first": self.first_day.isoformat()},
            )
        return self


class RenameTable(_Table):
    """``[[renames]]``: a place renamed on a day (``on``), with its names and the act that did it.

    Applied wherever a place is named for a period (:func:`inputs.names.names_in_period`).
    """

    kind: Code | None = None
    on: date
    source: Text
    old_en: Name
    new_en: Name
    old_kk: Name | None = None
    old_ru: Name | None = None
    new_kk: Name | None = None
    new_ru: Name | None = None
    note: Text = ""

    _on = field_validator("on", mode="before")(_day)


class SpecFile(_Table):
    """A whole reform spec file."""

    reform: ReformTable
    centres: Annotated[dict[Code, CentreTable], Field(max_length=MAX_ENTRIES)] = {}
    regions: Annotated[list[RegionTable], Field(max_length=MAX_ENTRIES)] = []
    moves: Annotated[list[MoveTable], Field(max_length=MAX_ENTRIES)] = []
    splits: Annotated[list[SplitTable], Field(max_length=MAX_ENTRIES)] = []
    merges: Annotated[list[MergeTable], Field(max_length=MAX_ENTRIES)] = []
    members: Annotated[list[MemberTable], Field(max_length=MAX_ENTRIES)] = []
    renames: Annotated[list[RenameTable], Field(max_length=MAX_ENTRIES)] = []
    periods: Annotated[dict[Code, PeriodTable], Field(max_length=MAX_ENTRIES)] = {}


def validate_spec_mapping(raw: Any) -> tuple[SpecFile | None, list[str]]:
    """Validate a parsed spec file; return the model (None on failure) and the problems.

    Every problem is one line such as ``[centres.semey]: lat 500.0 is not a latitude;
    give degrees north (WGS 84)`` or ``[[regions]] KZ-19: unknown key 'centr'; remove
    it or fix its spelling (known: code, epochs, …)``.
    """
    if not isinstance(raw, Mapping):
        return None, [f"the spec must be a TOML document of tables, not {type(raw).__name__}"]
    try:
        return SpecFile.model_validate(dict(raw)), []
    except ValidationError as err:
        return None, [_problem(e, raw) for e in err.errors(include_url=False)]


# ----------------------------------------------------------------- error wording
_ARRAYS = ("regions", "moves", "splits", "merges", "members", "renames")
_NOUNS = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "text in quotes",
    "list_type": "a list [...]",
    "dict_type": "a table",
    "model_type": "a table",
    "bool_type": "true or false",
}
_MODELS: dict[str, type[_Table]] = {
    "reform": ReformTable,
    "centres": CentreTable,
    "regions": RegionTable,
    "moves": MoveTable,
    "splits": SplitTable,
    "merges": MergeTable,
    "members": MemberTable,
    "renames": RenameTable,
    "periods": PeriodTable,
}


def _problem(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    """One problem line for one pydantic error."""
    loc = tuple(error["loc"])
    where, key = _where(loc, raw)
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        if loc == ("reform",):
            return "missing [reform] table; add id, title, before and after"
        return f"{where} has no '{key}'; add it"
    if kind == "extra_forbidden":
        return _unknown_key(loc, where, key)
    if key == "epochs" and kind in {"list_type", "too_short", "int_type"} | _RANGE:
        return f"{where}: 'epochs' must be a list of years, e.g. epochs = [2018, 2024]"
    if kind in _RANGE and isinstance(value, int):
        return f"{where}: '{key}' = {_short(value)} is not a year in {MIN_EPOCH}..{MAX_EPOCH}; give a year such as 2024"
    if kind in ("model_type", "dict_type") and len(loc) == 2 and key == loc[0]:
        return f"{where}: must be a table, got {_short(value)}"
    if kind in _NOUNS:
        return f"{where}: '{key}' must be {_NOUNS[kind]}, got {_short(value)}"
    if kind == "string_too_long":
        return f"{where}: '{key}' is {len(value):,} characters long; keep it to {ctx['max_length']}"
    if kind == "string_too_short":
        return f"{where}: '{key}' is empty; give a value"
    if kind == "too_long":
        return f"{where}: '{key}' has more than {ctx.get('max_length')} entries; split the spec or remove entries"
    if kind == "too_short":
        return f"{where}: '{key}' is empty; give at least one value"
    if kind in ("lon_range", "lat_range", "cut_layer", "day_value", "day_order"):
        return f"{where}: {error['msg']}"
    return f"{where}: '{key}': {error['msg'].lower()}"


_RANGE = {"greater_than_equal", "less_than_equal"}


def _where(loc: tuple, raw: Mapping[str, Any]) -> tuple[str, str]:
    """Return the table an error is in, as written in the file, and the key (``epochs[1]``)."""
    top = str(loc[0])
    if len(loc) == 1:
        return ("the spec" if top not in _MODELS else f"[{top}]"), top
    if top in _ARRAYS and isinstance(loc[1], int):
        entries = raw.get(top)
        entry = entries[loc[1]] if isinstance(entries, list) else None
        code = entry.get("code") if top == "regions" and isinstance(entry, Mapping) else None
        label = code if isinstance(code, str) and len(code) <= MAX_CODE_CHARS else f"#{loc[1] + 1}"
        return f"[[{top}]] {label}", _key(loc[2:]) or top
    if top in ("centres", "periods"):
        name = _short(loc[1], quote=False)
        if len(loc) > 2 and loc[2] == "[key]":
            return f"[{top}]", f"{name}"
        return f"[{top}.{name}]", _key(loc[2:]) or top
    return f"[{top}]", _key(loc[1:])


def _key(parts: tuple) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unknown_key(loc: tuple, where: str, key: str) -> str:
    if len(loc) == 1:
        known = ", ".join(_MODELS)
        return f"unknown table '{_short(key, quote=False)}'; remove it or fix its spelling (known: {known})"
    model = _MODELS.get(str(loc[0]))
    known = f" (known: {', '.join(model.model_fields)})" if model else ""
    return (
        f"{where}: unknown key '{_short(key, quote=False)}'; remove it or fix its spelling{known}"
    )


def _short(value: Any, *, quote: bool = True, limit: int = 40) -> str:
    """``repr`` (or ``str``) of ``value`` cut to ``limit`` characters."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
