"""The scenario lab's state: the current scenario, its history (undo and redo) and the edits.

A state is a plain dict ``{"moves": {unit: region}, "centres": {region: Centre}, "label",
"id", "title", "origin"}`` kept in the session; edits are callbacks of the page's widgets.
"""

from __future__ import annotations

import time

import streamlit as st

from webapp.common import one_line, plain
from webapp.lab_model import (
    SCENARIOS_DIR,
    Lab,
    problems_markdown,
    scenario_key,
    state_from_spec_text,
)

MAP_KEY = "lab_map"
MAX_HISTORY = 200


def enacted_state(lab: Lab, label: str | None = None) -> dict:
    """Return the state of the enacted reform, unchanged."""
    spec = lab.base.spec
    return {
        "moves": {},
        "centres": {},
        "label": label or f"Enacted reform ({spec.id})",
        "id": "scenario-lab",
        "title": "",
        "origin": spec.id,
    }


def history() -> list[dict]:
    """Return the undo stack (oldest first); the last entry is the current state."""
    return st.session_state["lab_history"]


def current() -> dict:
    """Return the current scenario state."""
    return history()[-1]


def push(state: dict) -> None:
    """Make ``state`` current (undo returns to the previous one; nothing left to redo)."""
    steps = history()
    steps.append(state)
    st.session_state["lab_future"] = []
    if len(steps) > MAX_HISTORY:  # keep the first (enacted) state and the latest ones
        del steps[1 : len(steps) - MAX_HISTORY + 1]


def started() -> None:
    """Note when an edit began (its callback runs before the page): the page says how long it took."""
    st.session_state["lab_edit_started"] = time.perf_counter()


def flash(kind: str, text: str) -> None:
    """Queue a message shown once at the top of the next run."""
    st.session_state.setdefault("lab_flash", []).append((kind, text))


def evaluate_state(lab: Lab, state: dict):
    """Evaluate a state by the fast path, once per state (undo and redo find it done)."""
    from analysis.whatif import evaluate

    return lab.per_state(scenario_key(state), "result", lambda: evaluate(lab.base, state["moves"], state["centres"]))


def derived_state(state: dict, moves: dict, centres: dict, label: str) -> dict:
    """Return a new state after one edit of ``state``."""
    origin = state.get("origin", "")
    edited = (
        state["id"]
        if state["id"].endswith("-lab") or state["id"] == "scenario-lab"
        else f"{state['id']}-lab"
    )
    title = state["title"]
    if title and "(edited in the scenario lab)" not in title:
        title = f"{title} (edited in the scenario lab)"
    return {
        "moves": moves,
        "centres": centres,
        "label": label,
        "id": edited,
        "title": title,
        "origin": origin,
    }


def apply_move(lab: Lab) -> None:
    """Move the district chosen in the editor to the chosen region (callback)."""
    started()
    from boundaries.spec import ReformSpecError

    unit, target = st.session_state.get("lab_unit"), st.session_state.get("lab_target")
    if unit is None or target is None:
        return
    state = current()
    moves = dict(state["moves"])
    was = result_region(lab, state, unit)
    if target == lab.base.unit_region(unit) and len(lab.base.unit_pieces[unit]) == 1:
        moves.pop(unit, None)
    else:
        moves[unit] = target
    name = lab.base.unit_names.get(unit, unit)
    label = f"{name} ({unit}): {lab.region_name(was)} → {lab.region_name(target)}"
    new = derived_state(state, moves, dict(state["centres"]), label)
    try:
        evaluate_state(lab, new)
    except ReformSpecError as err:
        flash("error", "Move not applied: " + plain("; ".join(err.problems)))
        return
    push(new)


def result_region(lab: Lab, state: dict, unit: str) -> str:
    """Region of a district in a state (of its largest piece when split)."""
    if unit in state["moves"]:
        return state["moves"][unit]
    return lab.base.unit_region(unit)


def apply_centre(lab: Lab) -> None:
    """Make the chosen settlement the centre of the chosen region (callback)."""
    started()
    from analysis.labspec import centre_from_settlement

    code, pick = st.session_state.get("lab_centre_region"), st.session_state.get("lab_centre_pick")
    options = st.session_state.get("lab_centre_rows") or {}
    if code is None or pick not in options:
        return
    state = current()
    row = options[pick]
    centre = centre_from_settlement(row)
    centres = dict(state["centres"])
    old = state["centres"].get(code) or lab.base.centre(code)
    enacted = lab.base.centre(code)
    if (centre.lon, centre.lat) == (enacted.lon, enacted.lat):
        centres.pop(code, None)
    else:
        centres[code] = centre
    label = f"centre of {lab.region_name(code)}: {old.name_en} → {centre.name_en}"
    push(derived_state(state, dict(state["moves"]), centres, label))


def restore_centre(lab: Lab, code: str) -> None:
    """Give a region its enacted centre back (callback)."""
    started()
    state = current()
    centres = dict(state["centres"])
    old = centres.pop(code, None)
    if old is None:
        return
    label = f"centre of {lab.region_name(code)}: {old.name_en} → {lab.base.centre(code).name_en} (enacted)"
    push(derived_state(state, dict(state["moves"]), centres, label))


def undo() -> None:
    """Go back to the previous state (callback); redo brings it back."""
    started()
    if len(history()) > 1:
        st.session_state.setdefault("lab_future", []).append(history().pop())


def redo() -> None:
    """Bring back the state the last undo left (callback)."""
    started()
    later = st.session_state.get("lab_future") or []
    if later:
        history().append(later.pop())


def reset(lab: Lab) -> None:
    """Go back to the enacted reform, itself undoable (callback)."""
    started()
    push(enacted_state(lab, "Reset to the enacted reform"))


def on_map_click(lab: Lab) -> None:
    """Select a clicked district in the editor, and its region for the centre (callback)."""
    from webapp.maps.settlements import parse_click

    click = parse_click(st.session_state.get(MAP_KEY))
    if click is None:
        return
    kind, key = click
    if kind == "r" and key in lab.region_names:  # a region of the enacted map
        st.session_state["lab_centre_region"] = key
        return
    if kind != "u" or key not in lab.base.unit_pieces:
        return
    if lab.base.can_move:
        st.session_state["lab_unit"] = key
    st.session_state["lab_centre_region"] = result_region(lab, current(), key)


def load_example(lab: Lab, file: str) -> None:
    """Load one of the example specs of ``scenarios/`` (callback)."""
    started()
    path = SCENARIOS_DIR / file
    try:
        data = path.read_bytes()
    except OSError as err:
        flash("error", plain(f"{file}: {one_line(err)}"))
        return
    state, problems = state_from_spec_text(lab, file, data)
    if state is None:
        flash("error", problems_markdown(file, problems, can_move=lab.base.can_move))
        return
    state["label"] = f"example {file}"
    push(state)


def load_enacted(lab: Lab) -> None:
    """Start again from the enacted reform (callback)."""
    started()
    push(enacted_state(lab))


