"""The scenario lab's state as a reform spec, and back.

A lab state is two mappings relative to the base (enacted) reform of a
:class:`~analysis.whatif.WhatIfBase`: ``moves`` (2018 district code → region of
the ``after`` epoch) and ``centres`` (region code → :class:`~boundaries.spec.Centre`).
:func:`to_spec` writes a state as a reform spec (moves relative to the 2018
districts) for export and for the slow path (:func:`analysis.scenario.evaluate_scenario`);
:func:`state_from_spec` reads one back; :func:`centre_from_settlement` makes a
centre of a settlement row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.whatif import LAB_SOURCE, WhatIfBase, checked_state, piece_labels
from boundaries.spec import (
    Centre,
    Move,
    ReformSpec,
    ReformSpecError,
    Region,
    check_consistency,
)
from boundaries.spec_units import assign_after

__all__ = ["centre_from_settlement", "state_from_spec", "to_spec"]


# ----------------------------------------------------------------- centres
def centre_from_settlement(row: Mapping[str, Any], *, key: str | None = None) -> Centre:
    """Make a :class:`~boundaries.spec.Centre` of a settlement row (names, lon/lat).

    Missing names fall back on the local ``name``; the key defaults to a slug of
    the English name (``"kaskelen"``), else of the settlement id.
    """

    def text(col: str) -> str | None:
        value = row.get(col)
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        value = str(value).strip()
        return value or None

    local = text("name") or text("name_en") or text("name_kk") or text("name_ru") or "unnamed"
    name_en = text("name_en") or local
    geom = row.get("geometry")
    lon = float(row["lon"]) if "lon" in row and row.get("lon") is not None else float(geom.x)
    lat = float(row["lat"]) if "lat" in row and row.get("lat") is not None else float(geom.y)
    if key is None:
        key = _slug(name_en) or _slug(f"settlement {text('id') or ''}") or "centre"
    return Centre(
        key=key,
        name_en=name_en,
        name_kk=text("name_kk") or local,
        name_ru=text("name_ru") or local,
        lon=lon,
        lat=lat,
    )


def _slug(text: str) -> str:
    """ASCII key for a TOML table: ``"Qaskeleñ"`` → ``"qaskelen"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.casefold()).strip("_")


# --------------------------------------------------------------------------- specs
def _names(base: WhatIfBase, units) -> str:
    return ", ".join(f"{base.unit_names.get(u, u)} ({u})" for u in units)


def _move_targets(base: WhatIfBase, labels: np.ndarray, moves: Mapping[str, str]) -> dict[str, str]:
    """District → ``after`` region for every district that leaves its ``before`` region."""
    split_units = {s.unit for s in base.spec.splits}
    target: dict[str, str] = {}
    for unit, idx in base.unit_pieces.items():
        if unit in split_units and unit not in moves:
            continue
        code = str(labels[idx[0]])
        if code != base.unit_before[unit]:
            target[unit] = code
    return target


def _move_note(base: WhatIfBase, listed: list[str], ordered: list[str], notes: list[str]) -> str:
    """Note of a move: the base notes when its districts are unchanged, else what changed."""
    if set(ordered) == set(listed) and notes:
        return " / ".join(notes)
    added = [u for u in ordered if u not in listed]
    removed = [u for u in listed if u not in ordered]
    parts = []
    if added:
        parts.append("added " + _names(base, added))
    if removed:
        parts.append("removed " + _names(base, removed))
    head = " / ".join(notes) + "; " if notes else ""
    return f"{head}scenario lab: {'; '.join(parts)}"


def _spec_moves(base: WhatIfBase, target: Mapping[str, str]) -> tuple[Move, ...]:
    """Group ``[[moves]]`` by target region: base order first, base notes kept."""
    base_moves = list(base.spec.moves)
    order = list(dict.fromkeys([m.to for m in base_moves] + sorted(set(target.values()))))
    new_moves = []
    for code in order:
        units_now = [u for u, c in target.items() if c == code]
        if not units_now:
            continue
        listed = [u for m in base_moves if m.to == code for u in m.units]
        ordered = [u for u in listed if u in units_now] + sorted(
            u for u in units_now if u not in listed
        )
        notes = [m.note for m in base_moves if m.to == code and m.note]
        new_moves.append(
            Move(to=code, units=tuple(ordered), note=_move_note(base, listed, ordered, notes))
        )
    return tuple(new_moves)


def _centre_fields(c: Centre) -> tuple:
    return (c.lon, c.lat, c.name_en, c.name_kk, c.name_ru)


def _centre_keys(
    spec: ReformSpec, centres: Mapping[str, Centre]
) -> tuple[dict[str, Centre], dict[str, str]]:
    """All centres (changed ones added under a fresh key) and region → key of its new centre."""
    all_centres = dict(spec.centres)
    after_regions = spec.regions_of(spec.after)
    new_key: dict[str, str] = {}
    for code in sorted(centres):
        c = centres[code]
        if _centre_fields(c) == _centre_fields(spec.centres[after_regions[code].centre]):
            continue
        same = next(
            (k for k, o in all_centres.items() if _centre_fields(o) == _centre_fields(c)), None
        )
        if same is None:
            key = _slug(c.key) or _slug(c.name_en) or "centre"
            stem, n = key, 2
            while key in all_centres:
                key, n = f"{stem}_{n}", n + 1
            all_centres[key] = Centre(
                key=key,
                name_en=c.name_en,
                name_kk=c.name_kk,
                name_ru=c.name_ru,
                lon=float(c.lon),
                lat=float(c.lat),
                kato=c.kato,
                former_name_en=c.former_name_en,
            )
            same = key
        new_key[code] = same
    return all_centres, new_key


def _spec_regions(spec: ReformSpec, new_key: Mapping[str, str]) -> tuple[Region, ...]:
    """Regions with a new ``after`` centre get a separate ``after`` entry carrying it."""
    after = spec.after
    regions: list[Region] = []
    for r in spec.regions:
        if after not in r.epochs or r.code not in new_key:
            regions.append(r)
            continue
        rest = tuple(e for e in r.epochs if e != after)
        # built field by field (not dataclasses.replace): the spec model may change type
        for epochs, centre in ((rest, r.centre), ((after,), new_key[r.code])):
            if epochs:
                regions.append(
                    Region(
                        code=r.code,
                        epochs=epochs,
                        name_en=r.name_en,
                        name_kk=r.name_kk,
                        name_ru=r.name_ru,
                        centre=centre,
                        parent=r.parent,
                    )
                )
    return tuple(regions)


def _spec_meta(
    base: WhatIfBase,
    labels: np.ndarray,
    new_key: Mapping[str, str],
    *,
    id: str,
    title: str,
    description: str,
) -> dict[str, Any]:
    spec = base.spec
    changes = []
    moved = sorted(
        u for u, idx in base.unit_pieces.items() if (labels[idx] != base.piece_region[idx]).any()
    )
    if moved:
        changes.append("districts moved: " + _names(base, moved))
    if new_key:
        changes.append("centres changed: " + ", ".join(sorted(new_key)))
    meta = {k: v for k, v in spec.meta.items() if k not in ("id", "title", "before", "after")}
    meta.update(kind="scenario", based_on=spec.id)
    meta["source"] = (
        f"{spec.meta.get('source', spec.id)}; changed in the Reform Atlas scenario lab"
        + (f" ({'; '.join(changes)})" if changes else " (no change)")
    )
    if description:
        meta["description"] = description
    return {"id": id, "title": title, "before": spec.before, "after": spec.after, **meta}


def to_spec(
    base: WhatIfBase,
    moves: Mapping[str, str] | None = None,
    centres: Mapping[str, Centre] | None = None,
    *,
    id: str = "scenario-lab",
    title: str | None = None,
    description: str = "",
) -> ReformSpec:
    """Write a scenario state as a reform spec, for export and the slow path.

    Moves are written relative to the 2018 districts (every district whose
    ``after`` region differs from its ``before`` region), grouped by target
    region; a base move whose districts are unchanged keeps its note. Splits of
    the base are kept unless their district was moved whole. A changed centre is
    written as a ``[centres.<key>]`` table with names and lon/lat; a region that
    exists in both epochs gets a separate ``after`` entry carrying it. Centres no
    region refers to any more are dropped.

    Raises
    ------
    ReformSpecError
        The state has problems (see :func:`evaluate`).
    """
    moves, centres = checked_state(base, moves, centres)
    spec = base.spec
    labels = piece_labels(base, moves)
    all_centres, new_key = _centre_keys(spec, centres)
    regions = _spec_regions(spec, new_key)
    used = {r.centre for r in regions}
    title = title or f"Scenario based on {spec.id}"
    out = ReformSpec(
        id=id,
        title=title,
        before=spec.before,
        after=spec.after,
        centres={k: c for k, c in all_centres.items() if k in used},
        regions=regions,
        moves=_spec_moves(base, _move_targets(base, labels, moves)),
        splits=tuple(s for s in spec.splits if s.unit not in moves),
        merges=spec.merges,
        renames=spec.renames,
        periods=spec.periods,
        meta=_spec_meta(base, labels, new_key, id=id, title=title, description=description),
        source=f"<{LAB_SOURCE}>",
    )
    check_consistency(out)
    return out


def _split_key(s) -> tuple:
    return (s.unit, s.cut_layer, tuple(s.cut_codes), s.inside, s.outside)


def _spec_problems(base: WhatIfBase, spec: ReformSpec) -> list[str]:
    """List what in ``spec`` (same epochs as the base) the lab cannot represent."""
    b, after = base.spec, base.after
    problems = []
    ours, theirs = b.regions_of(after), spec.regions_of(after)
    for code in sorted(set(ours) ^ set(theirs)):
        where = "adds" if code in theirs else "drops"
        problems.append(
            f"the spec {where} {after} region {code}; the scenario lab keeps the {len(ours)} regions of {b.id}"
        )
    for code in sorted(set(ours) & set(theirs)):
        o, t = ours[code], theirs[code]
        if (o.name_en, o.name_kk, o.name_ru) != (t.name_en, t.name_kk, t.name_ru):
            problems.append(
                f"region {code} is renamed ({o.name_en} → {t.name_en}); the scenario lab keeps region names"
            )
    if spec.merges != b.merges:
        problems.append(
            "the spec has [[merges]]; the scenario lab moves districts, not whole regions"
        )
    ours_split = {s.unit: _split_key(s) for s in b.splits}
    for s in spec.splits:
        if ours_split.get(s.unit) != _split_key(s):
            problems.append(
                f"[[splits]] {s.unit} differs from {b.id}; the scenario lab can only move whole districts"
            )
    if base.can_move:
        problems += [
            f"unit {u} is not a {b.before} district code; fix the code (ADM2_PCODE)"
            for m in spec.moves
            for u in m.units
            if u not in base.unit_pieces
        ]
    return problems


def state_from_spec(base: WhatIfBase, spec: ReformSpec) -> tuple[dict[str, str], dict[str, Centre]]:
    """Express a reform spec as a lab state (moves, centres) relative to the base.

    The lab edits district assignments and centres only, so the spec must have
    the base's epochs, ``after`` regions (codes and names), merges and splits
    (a base split may be replaced by a whole-district move).

    Raises
    ------
    ReformSpecError
        Listing everything in the spec the lab cannot represent.
    """
    b = base.spec
    if spec.epochs != b.epochs:
        problems = [
            f"epochs {spec.before}/{spec.after} differ from the base {b.before}/{b.after}; use {b.before} and {b.after}"
        ]
        raise ReformSpecError(spec.source, problems)
    problems = _spec_problems(base, spec)
    if problems:
        raise ReformSpecError(spec.source, problems)
    after = b.after
    centres = {
        code: spec.centre_of(code, epoch=after)
        for code in sorted(spec.regions_of(after))
        if _centre_fields(spec.centre_of(code, epoch=after))
        != _centre_fields(b.centre_of(code, epoch=after))
    }
    ours_split = {s.unit for s in b.splits}
    theirs_split = {s.unit for s in spec.splits}
    if not base.can_move:
        if spec.moved_units() != b.moved_units() or theirs_split != ours_split:
            raise ReformSpecError(
                spec.source,
                [
                    "the spec moves districts differently from the enacted reform; district moves need district "
                    "boundaries and the embedded default has none: choose a data directory with the geokz districts"
                ],
            )
        return {}, centres
    targets = assign_after(spec, base.unit_before)
    moves = {}
    for unit, idx in base.unit_pieces.items():
        if unit in theirs_split:
            continue
        code = targets[unit]
        if unit in ours_split or (base.piece_region[idx] != code).any():
            moves[unit] = code
    return moves, centres
