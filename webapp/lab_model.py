"""The scenario lab's data: the base of a data source, states read from and written to specs.

A :class:`Lab` is computed once per data source (:func:`webapp.cache.cached_lab`) from
the source's cached build and analysis: the fast path's base (:func:`analysis.whatif.prepare`),
display geometry of every build piece, and per-piece population for tooltips.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from boundaries.schema import region_col
from webapp.common import one_line, plain

SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"
#: Example specs offered with one click: file, button label.
EXAMPLES = (
    ("zhetysu-without-alakol.toml", "Zhetysu without Alakol"),
    ("almaty-centre-kaskelen.toml", "Almaty Region centred on Kaskelen"),
)
#: Scenario states whose results a lab keeps (evaluation, map data, tables): undo and redo hit them.
MAX_STATES = 32
#: Region fill colours; each region keeps its colour on both maps (assigned per build).
PALETTE = (
    "#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#ffed6f",
    "#bc80bd", "#ccebc5", "#e5c494", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854",
    "#ffd92f", "#b3b3b3", "#92c5de", "#f4a582",
)  # fmt: skip


@dataclass
class Lab:
    """Everything a data source gives the lab, computed once per data directory."""

    source: str  # the data source's name (webapp.datasource)
    analysis: object
    base: object
    simple: np.ndarray  # display geometry of each build piece (coverage-simplified)
    piece_geometry: list[dict]  # GeoJSON geometry of each piece (display coordinates)
    piece_population: np.ndarray
    piece_settlements: np.ndarray
    colours: dict[str, str]
    region_names: dict[str, str]
    unit_labels: dict[str, str]
    memo: dict = field(default_factory=dict)  # display data computed on first use (outlines, tooltips)
    states: OrderedDict = field(default_factory=OrderedDict, repr=False)  # per-state results, newest last
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def per_state(self, key: str, name, compute):
        """Return ``compute()`` for a scenario state, computed once (the :data:`MAX_STATES` latest states kept).

        A lab is shared by every session of its data source, so the table is guarded by a lock;
        two sessions may compute the same entry at once, which only costs time.
        """
        with self.lock:
            entry = self.states.get(key)
            if entry is not None:
                self.states.move_to_end(key)
                if name in entry:
                    return entry[name]
        value = compute()
        with self.lock:
            entry = self.states.setdefault(key, {})
            self.states.move_to_end(key)
            entry[name] = value
            while len(self.states) > MAX_STATES:
                self.states.popitem(last=False)
        return value

    @property
    def build(self):
        """The base build."""
        return self.base.build

    def region_name(self, code: str) -> str:
        """English name of an ``after`` region."""
        return self.region_names.get(code, code)


def region_colours(build, simple: np.ndarray) -> dict[str, str]:
    """Give each region a distinct colour, neighbours as different as the palette allows."""
    import shapely

    after = build.spec.after
    codes = list(build.regions[after]["code"])
    labels = build.pieces[region_col(after)].astype(str).to_numpy()
    shapes = [shapely.coverage_union_all(simple[labels == c]) for c in codes]
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="intersects")
    neighbours = {c: set() for c in codes}
    for i, j in zip(a, b, strict=True):
        if i != j:
            neighbours[codes[i]].add(codes[j])
    rgb = {c: np.array([int(c[k : k + 2], 16) for k in (1, 3, 5)], dtype=float) for c in PALETTE}
    free = list(PALETTE)
    out: dict[str, str] = {}
    for code in sorted(codes, key=lambda c: (-len(neighbours[c]), c)):
        used = [rgb[out[n]] for n in neighbours[code] if n in out]
        pool = free or list(PALETTE)
        best = max(pool, key=lambda c: min((np.linalg.norm(rgb[c] - u) for u in used), default=0.0))
        out[code] = best
        if best in free:
            free.remove(best)
    return out


def compute_lab(source: str, analysis) -> Lab:
    """Prepare the fast path of a data source from its analysis (build included)."""
    import shapely

    from analysis.whatif import prepare
    from webapp.maps.geometry import DISPLAY_TOLERANCE, geometry_json

    result = analysis.build
    base = prepare(result, analysis.settlements)
    geoms = result.pieces.geometry.to_numpy()
    simple = shapely.coverage_simplify(
        shapely.coverage_clean(geoms, gap_width=DISPLAY_TOLERANCE / 2), DISPLAY_TOLERANCE
    )
    sp = base.settlement_piece
    ok = sp >= 0
    n = len(result.pieces)
    population = np.bincount(sp[ok], weights=np.nan_to_num(base.weight[ok]), minlength=n)
    return Lab(
        source=source,
        analysis=analysis,
        base=base,
        simple=simple,
        piece_geometry=[geometry_json(g) for g in simple],
        piece_population=population,
        piece_settlements=np.bincount(sp[ok], minlength=n),
        colours=region_colours(result, simple),
        region_names={r.code: r.name_en for r in result.spec.regions_of(result.spec.after).values()},
        unit_labels=unit_labels(base),
    )


def unit_labels(base) -> dict[str, str]:
    """``Alakol · KZ193400 (Almaty Region)`` for every district: name, code, 2018 region."""
    before = base.build.regions[base.epochs[0]].set_index("code")["name_en"]
    out = {}
    for unit, idx in base.unit_pieces.items():
        split = " · split" if len(idx) > 1 else ""
        out[unit] = (
            f"{base.unit_names.get(unit, unit)} · {unit}{split} ({before.get(base.unit_before[unit], '')})"
        )
    return out


#: Top-level fields of a reform spec that are tables (``[name]``) or arrays of tables (``[[name]]``).
SPEC_TABLES = ("reform", "centres")
SPEC_ARRAYS = ("regions", "moves", "splits", "renames")


def _toml_type(value) -> str:
    if isinstance(value, list):
        return "an array of tables" if all(isinstance(v, dict) for v in value) else "an array of values"
    return {dict: "a table", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def shape_problems(raw: dict) -> list[str]:
    """Return the top-level fields of a spec that have the wrong TOML type (before any deeper check)."""
    problems = []
    for key in (*SPEC_TABLES, *SPEC_ARRAYS):
        if key not in raw:
            continue
        want = "a table" if key in SPEC_TABLES else "an array of tables"
        got = _toml_type(raw[key])
        if got != want:
            form = f"[{key}]" if key in SPEC_TABLES else f"[[{key}]]"
            problems.append(f"'{key}' is {got}, not {want}; write it as {form} sections (see kz-2022.toml)")
    return problems


def _read_spec(lab: Lab, name: str, data: bytes):
    """Return the spec in ``data`` and the problems found in it (a spec only when there are none)."""
    from analysis.scenario import scenario_problems
    from boundaries.spec import spec_toml_from_bytes

    # the command line's checks of a spec file: size, empty, NUL bytes, UTF-8, TOML (ReformSpecError)
    raw = spec_toml_from_bytes(data, source=name)
    if problems := shape_problems(raw):
        return None, problems
    spec, problems = scenario_problems(raw, source=name, sources=lab.build.sources, enacted_spec=lab.base.spec)
    return (spec, []) if spec is not None and not problems else (None, problems or ["not a reform spec"])


def state_from_spec_text(lab: Lab, name: str, data: bytes) -> tuple[dict | None, list[str]]:
    """Read a lab state from the bytes of a spec file, or list every problem found in it.

    A spec of any shape gives a state or problems, never an exception (a field of the wrong
    type that the checks miss is reported as one problem).
    """
    from analysis.labspec import state_from_spec
    from boundaries.spec import ReformSpecError

    try:
        spec, problems = _read_spec(lab, name, data)
        if spec is None:
            return None, problems
        moves, centres = state_from_spec(lab.base, spec)
    except ReformSpecError as err:
        return None, list(err.problems)
    except Exception as err:  # a visitor's file: one line about it, never a traceback
        return None, [one_line(err)]
    state = {"moves": moves, "centres": centres, "label": f"loaded {name}: {spec.title}"}
    return state | {"id": spec.id, "title": spec.title, "origin": spec.id}, []


def problems_markdown(name: str, problems: list[str], *, can_move: bool = True) -> str:
    """Every problem of a spec as a Markdown list (with the app's way out on the embedded default)."""
    from boundaries.spec import ReformSpecError

    shown = problems[: ReformSpecError.SHOWN]  # the first ones, as on the command line
    items = "\n".join(f"- {plain(p[:300])}" for p in shown)
    if len(problems) > len(shown):
        items += f"\n- and {len(problems) - len(shown):,} more"
    text = f"**{plain(name)}**: {len(problems)} problem(s); the scenario was not loaded:\n\n{items}"
    if not can_move and any("district" in p for p in problems):
        text += (
            "\n\nThis scenario needs district boundaries: choose a data directory in the sidebar "
            "(one with the geokz districts); centre changes work here."
        )
    return text


def scenario_title(lab: Lab, result) -> str:
    """Make a title for a spec exported from the lab."""
    parts = []
    base = lab.base
    for unit in result.moved_units:
        idx = base.unit_pieces[unit]
        parts.append(
            f"{base.unit_names.get(unit, unit)} to {lab.region_name(str(result.piece_region[idx[0]]))}"
        )
    for code in sorted(result.centres):
        parts.append(f"{lab.region_name(code)} centred on {result.centres[code].name_en}")
    return "What if: " + "; ".join(parts) if parts else f"The enacted reform ({base.spec.id})"


def export_spec(lab: Lab, state: dict, result):
    """Return the reform spec of the current state."""
    from analysis.labspec import to_spec

    title = state["title"] or scenario_title(lab, result)
    return to_spec(lab.base, state["moves"], state["centres"], id=state["id"], title=title)


def spec_text(lab: Lab, state: dict, result) -> str:
    """TOML of the current state, with a header saying how to evaluate it."""
    from boundaries.spec import dump_spec

    spec = export_spec(lab, state, result)
    head = (
        "# SCENARIO (what-if, not enacted), exported from the Reform Atlas scenario lab.\n"
        f"# Evaluate:  reform-atlas scenario evaluate {spec.id}.toml --data-dir DIR --out OUT\n\n"
    )
    return head + dump_spec(spec)


def scenario_key(state: dict) -> str:
    """Return a stable text key of what a state changes (moves and centres), for per-state results."""
    moves = sorted(state["moves"].items())
    centres = sorted((k, repr(c)) for k, c in state["centres"].items())  # every field of the Centre
    return json.dumps([moves, centres], ensure_ascii=False)
