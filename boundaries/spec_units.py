"""A reform spec applied to district units: where each unit goes, checked against the data.

:func:`check_against_units` checks a parsed spec (:mod:`boundaries.spec`) against the
unit codes of a data source; :func:`assign_after` and :func:`merge_target` give the
``after`` region of each whole unit, following the spec's moves and merges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from boundaries.spec import ReformSpec, ReformSpecError


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
