"""Declarative reform specifications: load, validate and save.

A reform is data: a TOML file naming the regions of each epoch with their centres,
the districts that moved, the districts that were split (with the reference layer
and codes whose geometry makes the cut) and optional region merges. The same
format describes the enacted 2022 reform and any what-if scenario.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.errors import ReformAtlasError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REFORMS_DIR = Path(__file__).with_name("reforms")
CUT_LAYERS = ("adm2_2024", "adm1_2024")


class ReformSpecError(ReformAtlasError, ValueError):
    """A reform spec is malformed or inconsistent with the district data.

    ``problems`` lists every problem found; the message joins them.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        head = f"{source}: {len(problems)} problem(s) in reform spec: "
        super().__init__(head + "; ".join(problems))


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
    renames: tuple[Mapping[str, Any], ...] = ()
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

    def moved_units(self) -> dict[str, str]:
        """Map unit code → target region, for whole-unit moves."""
        return {u: m.to for m in self.moves for u in m.units}


def _problem_list(raw: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    reform = raw.get("reform")
    if not isinstance(reform, Mapping):
        problems.append("missing [reform] table; add id, title, before and after")
        reform = {}
    for key in ("id", "before", "after"):
        if key not in reform:
            problems.append(f"[reform] has no '{key}'; add it")
    return problems, dict(reform)


def _get(entry: Mapping[str, Any], key: str, where: str, problems: list[str], kind=str):
    if key not in entry:
        problems.append(f"{where} has no '{key}'; add it")
        return None
    value = entry[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        problems.append(f"{where}: '{key}' must be {kind.__name__}, got {value!r}")
        return None
    return value


def parse_spec(raw: Mapping[str, Any], *, source: str = "<spec>") -> ReformSpec:
    """Build a :class:`ReformSpec` from a parsed TOML mapping, checking structure.

    Every problem is collected and reported in one :class:`ReformSpecError`.
    """
    problems, reform = _problem_list(raw)

    centres: dict[str, Centre] = {}
    for key, entry in (raw.get("centres") or {}).items():
        where = f"[centres.{key}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} must be a table")
            continue
        vals = {k: _get(entry, k, where, problems) for k in ("name_en", "name_kk", "name_ru")}
        lon = _get(entry, "lon", where, problems, float)
        lat = _get(entry, "lat", where, problems, float)
        if lon is not None and not -180 <= lon <= 180:
            problems.append(f"{where}: lon {lon} is not a longitude; give degrees east (WGS 84)")
        if lat is not None and not -90 <= lat <= 90:
            problems.append(f"{where}: lat {lat} is not a latitude; give degrees north (WGS 84)")
        if None in (*vals.values(), lon, lat):
            continue
        centres[key] = Centre(
            key=key,
            lon=lon,
            lat=lat,
            kato=str(entry["kato"]) if "kato" in entry else None,
            former_name_en=entry.get("former_name_en"),
            **vals,
        )

    regions: list[Region] = []
    for i, entry in enumerate(raw.get("regions") or []):
        code = entry.get("code", f"#{i + 1}")
        where = f"[[regions]] {code}"
        vals = {
            k: _get(entry, k, where, problems)
            for k in ("code", "name_en", "name_kk", "name_ru", "centre")
        }
        epochs = entry.get("epochs")
        if (
            not isinstance(epochs, list)
            or not epochs
            or not all(isinstance(e, int) for e in epochs)
        ):
            problems.append(
                f"{where}: 'epochs' must be a list of years, e.g. epochs = [2018, 2024]"
            )
            continue
        if None in vals.values():
            continue
        if vals["centre"] not in centres:
            problems.append(
                f"{where}: centre '{vals['centre']}' is not defined; add a [centres.{vals['centre']}] table"
            )
        regions.append(Region(epochs=tuple(epochs), parent=entry.get("parent"), **vals))

    moves = []
    for i, entry in enumerate(raw.get("moves") or []):
        where = f"[[moves]] #{i + 1}"
        to = _get(entry, "to", where, problems)
        units = entry.get("units")
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            problems.append(f"{where}: 'units' must be a list of district codes")
            continue
        if to is not None:
            moves.append(Move(to=to, units=tuple(units), note=entry.get("note", "")))

    splits = []
    for i, entry in enumerate(raw.get("splits") or []):
        where = f"[[splits]] #{i + 1}"
        vals = {
            k: _get(entry, k, where, problems) for k in ("unit", "cut_layer", "inside", "outside")
        }
        codes = entry.get("cut_codes")
        if not isinstance(codes, list) or not codes:
            problems.append(f"{where}: 'cut_codes' must be a non-empty list of codes of cut_layer")
            continue
        if vals["cut_layer"] is not None and vals["cut_layer"] not in CUT_LAYERS:
            problems.append(
                f"{where}: cut_layer '{vals['cut_layer']}' unknown; use one of {', '.join(CUT_LAYERS)}"
            )
        if None in vals.values():
            continue
        splits.append(
            Split(
                cut_codes=tuple(codes),
                name_en=entry.get("name_en", ""),
                note=entry.get("note", ""),
                **vals,
            )
        )

    merges = []
    for i, entry in enumerate(raw.get("merges") or []):
        where = f"[[merges]] #{i + 1}"
        into = _get(entry, "into", where, problems)
        regs = entry.get("regions")
        if not isinstance(regs, list) or not regs:
            problems.append(f"{where}: 'regions' must be a non-empty list of region codes")
            continue
        if into is not None:
            merges.append(Merge(regions=tuple(regs), into=into, note=entry.get("note", "")))

    if problems:
        raise ReformSpecError(source, problems)

    spec = ReformSpec(
        id=str(reform["id"]),
        title=str(reform.get("title", reform["id"])),
        before=int(reform["before"]),
        after=int(reform["after"]),
        centres=centres,
        regions=tuple(regions),
        moves=tuple(moves),
        splits=tuple(splits),
        merges=tuple(merges),
        renames=tuple(raw.get("renames") or ()),
        meta=reform,
        source=source,
    )
    check_consistency(spec)
    return spec


def check_consistency(spec: ReformSpec) -> None:
    """Check the spec on its own (no district data): codes, epochs, duplicates."""
    problems: list[str] = []
    for epoch in spec.epochs:
        seen: dict[str, int] = {}
        for r in spec.regions:
            if epoch in r.epochs:
                seen[r.code] = seen.get(r.code, 0) + 1
        for code, n in seen.items():
            if n > 1:
                problems.append(
                    f"region {code} is defined {n} times for {epoch}; keep one entry per epoch"
                )
        if not seen:
            problems.append(
                f"no region is defined for epoch {epoch}; add [[regions]] with epochs = [{epoch}]"
            )
    before, after = spec.regions_of(spec.before), spec.regions_of(spec.after)
    for r in spec.regions:
        if r.parent is not None and r.parent not in before:
            problems.append(
                f"region {r.code}: parent {r.parent} is not a {spec.before} region; fix 'parent'"
            )
    for m in spec.moves:
        if m.to not in after:
            problems.append(
                f"[[moves]] to {m.to}: no such {spec.after} region; add it to [[regions]] or fix 'to'"
            )
    for s in spec.splits:
        for side in (s.inside, s.outside):
            if side not in after:
                problems.append(
                    f"[[splits]] {s.unit}: {side} is not a {spec.after} region; fix inside/outside"
                )
    for g in spec.merges:
        for code in (*g.regions, g.into):
            if code not in after:
                problems.append(
                    f"[[merges]] into {g.into}: {code} is not a {spec.after} region; fix the codes"
                )
    # every unit assigned at most once by moves and splits
    counts: dict[str, int] = {}
    for u in [u for m in spec.moves for u in m.units] + [s.unit for s in spec.splits]:
        counts[u] = counts.get(u, 0) + 1
    for u, n in sorted(counts.items()):
        if n > 1:
            problems.append(
                f"unit {u} is assigned {n} times by moves/splits; keep it in exactly one"
            )
    if problems:
        raise ReformSpecError(spec.source, problems)


def check_against_units(
    spec: ReformSpec,
    unit_regions: Mapping[str, str],
    *,
    layer_codes: Mapping[str, Iterable[str]] | None = None,
    source: str = "districts",
) -> None:
    """Check the spec against the unit (district) codes of the ``before`` epoch.

    Parameters
    ----------
    unit_regions : mapping
        Unit code → region code (``KZ-NN``) in the ``before`` epoch.
    layer_codes : mapping, optional
        Cut layer name → codes it holds, to check split cuts.

    Raises
    ------
    ReformSpecError
        Listing every unknown unit, every unassigned region and every unknown cut code.
    """
    problems: list[str] = []
    before, after = spec.regions_of(spec.before), spec.regions_of(spec.after)
    for u in [u for m in spec.moves for u in m.units] + [s.unit for s in spec.splits]:
        if u not in unit_regions:
            problems.append(
                f"unit {u} is not a {spec.before} district code in {source}; fix the code (ADM2_PCODE)"
            )
    for code in sorted(set(unit_regions.values())):
        if code not in before:
            problems.append(
                f"{source} has region {code} that the spec does not define for {spec.before}; add it"
            )
    if layer_codes is not None:
        for s in spec.splits:
            known = set(layer_codes.get(s.cut_layer, ()))
            for c in s.cut_codes:
                if c not in known:
                    problems.append(
                        f"[[splits]] {s.unit}: cut code {c} is not in layer {s.cut_layer}; fix cut_codes"
                    )
    # every after-region receives at least one unit
    targets = assign_after(spec, unit_regions)
    got = set(targets.values()) | {s.inside for s in spec.splits} | {s.outside for s in spec.splits}
    got = {merge_target(spec, c) for c in got}
    merged_away = {c for g in spec.merges for c in g.regions if c != g.into}
    for code in after:
        if code not in got and code not in merged_away:
            problems.append(
                f"{spec.after} region {code} receives no district; move units to it or remove it"
            )
    if problems:
        raise ReformSpecError(spec.source, problems)


def merge_target(spec: ReformSpec, code: str) -> str:
    """Follow [[merges]] from ``code`` to the region it ends up in."""
    seen = set()
    while True:
        nxt = next((g.into for g in spec.merges if code in g.regions and g.into != code), None)
        if nxt is None or code in seen:
            return code
        seen.add(code)
        code = nxt


def assign_after(spec: ReformSpec, unit_regions: Mapping[str, str]) -> dict[str, str]:
    """Region of the ``after`` epoch for each whole (unsplit) unit."""
    moved = spec.moved_units()
    split = {s.unit for s in spec.splits}
    return {
        u: merge_target(spec, moved.get(u, r)) for u, r in unit_regions.items() if u not in split
    }


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
    if not path.exists() and (REFORMS_DIR / f"{path}.toml").exists():
        path = REFORMS_DIR / f"{path}.toml"
    if not path.exists():
        raise ReformSpecError(str(path), ["file not found; give the path of a .toml reform spec"])
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), str(path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ReformSpecError(str(path), [f"not valid TOML ({err}); fix the syntax"]) from err


def spec_to_dict(spec: ReformSpec) -> dict[str, Any]:
    """Return the TOML-ready mapping of a spec (inverse of :func:`parse_spec`)."""

    def centre(c: Centre) -> dict[str, Any]:
        d = {"name_en": c.name_en, "name_kk": c.name_kk, "name_ru": c.name_ru}
        if c.former_name_en:
            d["former_name_en"] = c.former_name_en
        if c.kato:
            d["kato"] = c.kato
        d.update(lon=c.lon, lat=c.lat)
        return d

    out: dict[str, Any] = {
        "reform": dict(spec.meta)
        | {"id": spec.id, "title": spec.title, "before": spec.before, "after": spec.after}
    }
    out["centres"] = {k: centre(c) for k, c in spec.centres.items()}
    out["regions"] = [
        {
            k: v
            for k, v in {
                "code": r.code,
                "epochs": list(r.epochs),
                "parent": r.parent,
                "name_en": r.name_en,
                "name_kk": r.name_kk,
                "name_ru": r.name_ru,
                "centre": r.centre,
            }.items()
            if v is not None
        }
        for r in spec.regions
    ]
    if spec.renames:
        out["renames"] = [dict(r) for r in spec.renames]
    if spec.moves:
        out["moves"] = [{"to": m.to, "note": m.note, "units": list(m.units)} for m in spec.moves]
    if spec.splits:
        out["splits"] = [
            {
                "unit": s.unit,
                "name_en": s.name_en,
                "cut_layer": s.cut_layer,
                "cut_codes": list(s.cut_codes),
                "inside": s.inside,
                "outside": s.outside,
                "note": s.note,
            }
            for s in spec.splits
        ]
    if spec.merges:
        out["merges"] = [
            {"regions": list(g.regions), "into": g.into, "note": g.note} for g in spec.merges
        ]
    return out


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
