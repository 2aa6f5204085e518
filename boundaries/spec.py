"""Declarative reform specifications: load, validate and save.

A reform is data: a TOML file naming the regions of each epoch with their centres,
the districts that moved, the districts that were split (with the reference layer
and codes whose geometry makes the cut) and optional region merges. The same
format describes the enacted 2022 reform and any what-if scenario.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from boundaries.spec_model import MAX_CODE_CHARS, SpecFile, validate_spec_mapping
from geo.errors import DataError, ReformAtlasError
from geo.io import read_input_bytes
from inputs.limits import INPUT_WHAT, input_limit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REFORMS_DIR = Path(__file__).with_name("reforms")


class ReformSpecError(ReformAtlasError, ValueError):
    """A reform spec is malformed or inconsistent with the district data.

    ``problems`` lists every problem found; the message joins them.
    """

    #: Problems the message shows before "and N more" (``problems`` keeps them all).
    SHOWN = 8

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        head = f"{source}: {len(problems)} problem(s) in reform spec: "
        shown = [_cut(p) for p in self.problems[: self.SHOWN]]
        rest = len(self.problems) - len(shown)
        super().__init__(head + "; ".join(shown) + (f"; and {rest} more" if rest else ""))


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Centre:
    """A regional centre: a settlement with names and WGS 84 coordinates."""

    key: str
    name_en: str
    name_kk: str
    name_ru: str
    lon: float
    lat: float
    kato: str | None = None
    former_name_en: str | None = None


@dataclass(frozen=True)
class Region:
    """A region as it exists in one or more epochs."""

    code: str
    epochs: tuple[int, ...]
    name_en: str
    name_kk: str
    name_ru: str
    centre: str
    parent: str | None = None


@dataclass(frozen=True)
class Move:
    """Whole units (districts) assigned to region ``to`` in the ``after`` epoch."""

    to: str
    units: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Split:
    """A unit divided by a cut geometry taken from a reference layer."""

    unit: str
    cut_layer: str
    cut_codes: tuple[str, ...]
    inside: str
    outside: str
    name_en: str = ""
    note: str = ""


@dataclass(frozen=True)
class Merge:
    """Regions of the ``after`` epoch whose units all go to ``into``."""

    regions: tuple[str, ...]
    into: str
    note: str = ""


@dataclass(frozen=True)
class Member:
    """Units that belonged to region ``region`` of the ``before`` epoch.

    For a spec that derives an earlier epoch from later units; a unit may also be a
    split piece (``CODE:inside``/``CODE:outside``). ``source`` says where the
    membership is documented.
    """

    region: str
    units: tuple[str, ...]
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Period:
    """The period an epoch's map shows (``label``) and the days whose place names it uses."""

    label: str
    first_day: date
    last_day: date
    approximate: bool = False
    note: str = ""


@dataclass(frozen=True)
class Rename:
    """A place renamed on day ``on`` (English names in the project's scheme; ``source``: the act)."""

    old: str
    new: str
    on: date
    source: str
    kind: str | None = None
    old_kk: str | None = None
    old_ru: str | None = None
    new_kk: str | None = None
    new_ru: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ReformSpec:
    """A parsed reform spec. Use :func:`load_spec`; it validates the structure."""

    id: str
    title: str
    before: int
    after: int
    centres: Mapping[str, Centre]
    regions: tuple[Region, ...]
    moves: tuple[Move, ...] = ()
    splits: tuple[Split, ...] = ()
    merges: tuple[Merge, ...] = ()
    members: tuple[Member, ...] = ()
    renames: tuple[Rename, ...] = ()
    #: epoch → its period (label, days whose names the map uses), from ``[periods.<epoch>]``
    periods: Mapping[int, Period] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<spec>"

    @property
    def epochs(self) -> tuple[int, int]:
        """The ``(before, after)`` epochs."""
        return (self.before, self.after)

    def regions_of(self, epoch: int) -> dict[str, Region]:
        """Regions of ``epoch`` keyed by code."""
        return {r.code: r for r in self.regions if epoch in r.epochs}

    def centre_of(self, code: str, *, epoch: int) -> Centre:
        """Return the centre of region ``code`` in ``epoch``."""
        return self.centres[self.regions_of(epoch)[code].centre]

    def parent_of(self, code: str) -> str:
        """Region of the ``before`` epoch a region of the ``after`` epoch came from."""
        region = self.regions_of(self.after)[code]
        return region.parent or code

    def member_regions(self) -> dict[str, str]:
        """Map unit or piece key (``CODE`` or ``CODE:inside``) → ``before`` region, from [[members]]."""
        return {u: m.region for m in self.members for u in m.units}

    def moved_units(self) -> dict[str, str]:
        """Map unit code → target region, for whole-unit moves."""
        return {u: m.to for m in self.moves for u in m.units}


def parse_spec(raw: Mapping[str, Any], *, source: str = "<spec>") -> ReformSpec:
    """Build a :class:`ReformSpec` from a parsed TOML mapping, checking structure.

    Types, ranges, lengths and unknown keys are checked by the typed model
    (:class:`boundaries.spec_model.SpecFile`), centres referenced by regions here;
    every problem is collected and reported in one :class:`ReformSpecError`.
    Consistency between entries (:func:`check_consistency`) is checked only once
    the structure is sound.
    """
    model, problems = validate_spec_mapping(raw)
    problems += _undefined_centres(raw)
    if model is not None:
        problems += _period_problems(model)
    if problems or model is None:
        raise ReformSpecError(source, problems)
    spec = _spec_from_model(model, source=source, key_order=list(raw["reform"]))
    check_consistency(spec)
    return spec


def _period_problems(model: SpecFile) -> list[str]:
    """``[periods.<epoch>]`` tables for epochs the spec does not have."""
    before, after = model.reform.before, model.reform.after
    tables = " or ".join(f"[periods.{e}]" for e in dict.fromkeys((before, after)))
    return [
        f"[periods.{key}]: {key} is not an epoch of this spec (before {before}, after {after}); "
        f"rename the table to {tables} or remove it"
        for key in model.periods
        if not key.isdigit() or int(key) not in (before, after)
    ]


def _undefined_centres(raw: Mapping[str, Any]) -> list[str]:
    """Regions whose ``centre`` names no ``[centres.<key>]`` table (raw, any junk tolerated)."""
    centres = raw.get("centres", {}) if isinstance(raw, Mapping) else None
    regions = raw.get("regions") if isinstance(raw, Mapping) else None
    if not isinstance(centres, Mapping):
        return []  # reported by the model: [centres] must be a table
    keys = set(centres)
    problems = []
    for i, entry in enumerate(regions if isinstance(regions, list) else []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("centre"), str):
            continue
        centre = entry["centre"]
        if centre in keys or len(centre) > MAX_CODE_CHARS:
            continue
        code = entry.get("code")
        label = code if isinstance(code, str) and len(code) <= MAX_CODE_CHARS else f"#{i + 1}"
        problems.append(
            f"[[regions]] {label}: centre '{centre}' is not defined; add a [centres.{centre}] table"
        )
    return problems


def _spec_from_model(model: SpecFile, *, source: str, key_order: list[str]) -> ReformSpec:
    """Build the runtime :class:`ReformSpec` of a validated spec file.

    ``meta`` keeps the ``[reform]`` keys in the file's order (``key_order``), so a
    spec is written back as it was read.
    """
    reform = model.reform
    fields = reform.model_dump(exclude_none=True)
    centres = {
        key: Centre(
            key=key,
            **c.model_dump(exclude={"kato", "alt_name_en"}),
            kato=None if c.kato is None else str(c.kato),
        )
        for key, c in model.centres.items()
    }
    return ReformSpec(
        id=reform.id,
        title=reform.title or reform.id,
        before=reform.before,
        after=reform.after,
        centres=centres,
        regions=tuple(
            Region(**r.model_dump(exclude={"epochs"}), epochs=tuple(r.epochs))
            for r in model.regions
        ),
        moves=tuple(Move(to=m.to, units=tuple(m.units), note=m.note) for m in model.moves),
        splits=tuple(
            Split(**s.model_dump(exclude={"cut_codes"}), cut_codes=tuple(s.cut_codes))
            for s in model.splits
        ),
        merges=tuple(
            Merge(regions=tuple(g.regions), into=g.into, note=g.note) for g in model.merges
        ),
        members=tuple(
            Member(region=g.region, units=tuple(g.units), source=g.source, note=g.note)
            for g in model.members
        ),
        renames=tuple(
            Rename(old=r.old_en, new=r.new_en, **r.model_dump(exclude={"old_en", "new_en"}))
            for r in model.renames
        ),
        periods={int(k): Period(**p.model_dump()) for k, p in model.periods.items() if k.isdigit()},
        meta={k: fields[k] for k in [*key_order, *fields] if k in fields},
        source=source,
    )


def check_consistency(spec: ReformSpec) -> None:
    """Check the spec on its own (no district data): codes, epochs, duplicates, merges."""
    problems = [
        *_epoch_problems(spec),
        *_reference_problems(spec),
        *merge_problems(spec),
        *_repeated_unit_problems(spec),
    ]
    if problems:
        raise ReformSpecError(spec.source, problems)


def _epoch_problems(spec: ReformSpec) -> list[str]:
    """Each epoch has regions, each defined once."""
    problems = []
    for epoch in dict.fromkeys(spec.epochs):
        seen: dict[str, int] = {}
        for r in spec.regions:
            if epoch in r.epochs:
                seen[r.code] = seen.get(r.code, 0) + 1
        problems += [
            f"region {code} is defined {n} times for {epoch}; keep one entry per epoch"
            for code, n in seen.items()
            if n > 1
        ]
        if not seen:
            problems.append(
                f"no region is defined for epoch {epoch}; add [[regions]] with epochs = [{epoch}]"
            )
    return problems


def _reference_problems(spec: ReformSpec) -> list[str]:
    """Parents, move targets, split sides and merged regions that name no region."""
    before, after = spec.regions_of(spec.before), spec.regions_of(spec.after)
    problems = [
        f"region {r.code}: parent {r.parent} is not a {spec.before} region; fix 'parent'"
        for r in spec.regions
        if r.parent is not None and r.parent not in before
    ]
    problems += [
        f"[[moves]] to {m.to}: no such {spec.after} region; add it to [[regions]] or fix 'to'"
        for m in spec.moves
        if m.to not in after
    ]
    problems += [
        f"[[splits]] {s.unit}: {side} is not a {spec.after} region; fix inside/outside"
        for s in spec.splits
        for side in (s.inside, s.outside)
        if side not in after
    ]
    problems += [
        f"[[merges]] into {g.into}: {code} is not a {spec.after} region; fix the codes"
        for g in spec.merges
        for code in (*g.regions, g.into)
        if code not in after
    ]
    problems += [
        f"[[members]] {g.region}: no such {spec.before} region; add it to [[regions]] or fix 'region'"
        for g in spec.members
        if g.region not in before
    ]
    return problems


def _repeated_unit_problems(spec: ReformSpec) -> list[str]:
    """Every unit assigned at most once by moves and splits, and at most once by members."""
    problems = []
    for label, listed in (
        ("moves/splits", [u for m in spec.moves for u in m.units] + [s.unit for s in spec.splits]),
        ("members", [u for g in spec.members for u in g.units]),
    ):
        counts: dict[str, int] = {}
        for u in listed:
            counts[u] = counts.get(u, 0) + 1
        problems += [
            f"unit {u} is assigned {n} times by {label}; keep it in exactly one"
            for u, n in sorted(counts.items())
            if n > 1
        ]
    return problems


def merge_problems(spec: ReformSpec) -> list[str]:
    """Regions merged into two different regions, and circular merges (A → B → A)."""
    problems: list[str] = []
    into: dict[str, str] = {}
    for g in spec.merges:
        for code in g.regions:
            if code == g.into:
                continue
            if into.setdefault(code, g.into) != g.into:
                problems.append(
                    f"[[merges]]: {code} is merged into both {into[code]} and {g.into}; keep one"
                )
    reported: set[str] = set()
    for start in into:
        path, code = [start], into[start]
        while code in into and code not in path:
            path.append(code)
            code = into[code]
        if code in path and not reported & set(path):
            cycle = [*path[path.index(code) :], code]
            reported |= set(cycle)
            problems.append(
                f"[[merges]] form a cycle {' → '.join(cycle)}; merge these regions into one "
                "region that is not itself merged"
            )
    return problems


def load_spec(path: str | os.PathLike | None = None) -> ReformSpec:
    """Load a reform spec from a TOML file, or the bundled ``kz-2022`` by default.

    ``path`` may also be the id of a bundled spec (e.g. ``"kz-2022"``).
    """
    raw, source = read_spec_toml(REFORMS_DIR / "kz-2022.toml" if path is None else path)
    return parse_spec(raw, source=source)


def read_spec_toml(path: str | os.PathLike) -> tuple[dict[str, Any], str]:
    """Read a spec file's TOML unparsed: the mapping and the path it came from.

    ``path`` may also be the id of a bundled spec (e.g. ``"kz-2022"``).

    Raises
    ------
    ReformSpecError
        The file is missing or is not valid TOML.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink() and _is_bundled_id(str(path)):
        path = REFORMS_DIR / f"{path}.toml"
    if not path.exists() and not path.is_symlink():
        raise ReformSpecError(str(path), ["file not found; give the path of a .toml reform spec"])
    limit = input_limit("spec")  # a bad setting is reported as itself, not as a spec problem
    try:
        data = read_input_bytes(path, limit=limit, what=INPUT_WHAT["spec"])
    except DataError as err:  # folder, FIFO, device, unreadable, too large, binary
        reason = str(err).removeprefix(f"{path}: ")
        raise ReformSpecError(str(path), [reason]) from err
    return spec_toml_from_bytes(data, source=str(path)), str(path)


def spec_toml_from_bytes(data: bytes, *, source: str) -> dict[str, Any]:
    """Parse the bytes of a spec file (e.g. an upload) as TOML, within the spec limits.

    Checks what :func:`geo.io.check_input_file` checks of a spec file (size limit,
    emptiness, NUL bytes), then UTF-8 and TOML syntax.

    Raises
    ------
    ReformSpecError
        One problem naming ``source``.
    """
    limit = input_limit("spec").max_bytes
    problem = None
    if len(data) > limit:
        problem = f"{len(data):,} bytes is over the {limit:,}-byte limit for spec files; give a smaller spec"
    elif not data.strip():
        problem = "the file is empty; give a reform spec (.toml)"
    elif b"\0" in data:
        problem = "binary data (NUL bytes) in a text file; give a UTF-8 TOML reform spec"
    if problem:
        raise ReformSpecError(source, [problem])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ReformSpecError(source, [f"not UTF-8 text (byte {err.start}); save the spec as UTF-8"]) from err
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as err:
        reason = str(err).splitlines()[0] if str(err) else "too deeply nested"
        raise ReformSpecError(source, [f"not valid TOML ({reason}); fix the syntax"]) from err


def _is_bundled_id(name: str) -> bool:
    """Whether ``name`` is the id of a bundled spec (``kz-2022``), not a path."""
    return "/" not in name and "\\" not in name and (REFORMS_DIR / f"{name}.toml").is_file()


def spec_to_dict(spec: ReformSpec) -> dict[str, Any]:
    """Return the TOML-ready mapping of a spec (inverse of :func:`parse_spec`)."""
    out: dict[str, Any] = {
        "reform": dict(spec.meta)
        | {"id": spec.id, "title": spec.title, "before": spec.before, "after": spec.after}
    }
    out["centres"] = {k: _centre_dict(c) for k, c in spec.centres.items()}
    out["regions"] = [_region_dict(r) for r in spec.regions]
    if spec.periods:
        out["periods"] = {
            str(e): {k: v for k, v in vars(p).items() if v not in ("", False)}
            for e, p in sorted(spec.periods.items())
        }
    if spec.renames:
        out["renames"] = [_rename_dict(r) for r in spec.renames]
    if spec.moves:
        out["moves"] = [{"to": m.to, "note": m.note, "units": list(m.units)} for m in spec.moves]
    if spec.splits:
        out["splits"] = [_split_dict(s) for s in spec.splits]
    if spec.members:
        out["members"] = [
            {"region": g.region, "source": g.source, "note": g.note, "units": list(g.units)}
            for g in spec.members
        ]
    if spec.merges:
        out["merges"] = [
            {"regions": list(g.regions), "into": g.into, "note": g.note} for g in spec.merges
        ]
    return out


def _centre_dict(c: Centre) -> dict[str, Any]:
    """Return the ``[centres.<key>]`` table of a centre."""
    d = {"name_en": c.name_en, "name_kk": c.name_kk, "name_ru": c.name_ru}
    if c.former_name_en:
        d["former_name_en"] = c.former_name_en
    if c.kato:
        d["kato"] = c.kato
    d.update(lon=c.lon, lat=c.lat)
    return d


def _region_dict(r: Region) -> dict[str, Any]:
    """Return the ``[[regions]]`` entry of a region (its unset fields left out)."""
    d = {"code": r.code, "epochs": list(r.epochs), "parent": r.parent, "name_en": r.name_en,
         "name_kk": r.name_kk, "name_ru": r.name_ru, "centre": r.centre}  # fmt: skip
    return {k: v for k, v in d.items() if v is not None}


def _split_dict(s: Split) -> dict[str, Any]:
    """Return the ``[[splits]]`` entry of a split."""
    return {"unit": s.unit, "name_en": s.name_en, "cut_layer": s.cut_layer,
            "cut_codes": list(s.cut_codes), "inside": s.inside, "outside": s.outside,
            "note": s.note}  # fmt: skip


def _rename_dict(r: Rename) -> dict[str, Any]:
    """Return the ``[[renames]]`` entry of a rename (inverse of :func:`_spec_from_model`'s)."""
    d = {"kind": r.kind, "on": r.on, "old_en": r.old, "new_en": r.new, "old_kk": r.old_kk,
         "old_ru": r.old_ru, "new_kk": r.new_kk, "new_ru": r.new_ru, "source": r.source, "note": r.note}  # fmt: skip
    return {k: v for k, v in d.items() if v not in (None, "")}


def dump_spec(spec: ReformSpec) -> str:
    """Serialise a spec to TOML text."""
    import tomli_w

    return tomli_w.dumps(spec_to_dict(spec))


def save_spec(spec: ReformSpec, path: str | os.PathLike) -> Path:
    """Write a spec as TOML (atomically: temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_spec(spec), encoding="utf-8")
    os.replace(tmp, path)
    return path
