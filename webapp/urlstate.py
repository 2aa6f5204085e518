"""The view in the URL: a copied link reopens the same view (``st.query_params``).

Atlas: ``?epoch=2018&view=pair&colour=change_km&place=<settlement id>`` (or
``&region=KZ-19``); ``epoch`` is one of the timeline's epochs the data source can build
(1996, 2017, 2018, 2024). Scenario lab: the scenario as its difference from the enacted
reform, ``?moves=KZ193400:KZ-10,...&centres=KZ-19@76.9012/43.2543,...`` (a centre by
its place, matched to the nearest settlement). Unknown or malformed values are
ignored: a link can never break the page.
"""

from __future__ import annotations

import re

import streamlit as st

#: URL value of each view of the atlas (and back).
VIEW_PARAMS = {"single": "Single map", "pair": "Side by side"}
_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")  # settlement ids (geonames:1518518) and region codes


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if isinstance(value, str) and len(value) <= 4000 else None


def read_epoch_once(epochs: tuple[int, ...]) -> None:
    """On a session's first run, the URL's epoch into the timeline (before it is drawn), if it is one of ``epochs``."""
    if st.session_state.get("url_epoch_read"):
        return
    st.session_state["url_epoch_read"] = True
    if (epoch := _param("epoch")) in {str(e) for e in epochs}:
        st.session_state["epoch"] = int(epoch)


def read_atlas_once(metrics) -> None:
    """On a session's first run, put the URL's view into the widgets' state (before they are drawn)."""
    if st.session_state.get("url_read"):
        return
    st.session_state["url_read"] = True
    if (view := VIEW_PARAMS.get(_param("view") or "")) is not None:
        st.session_state["view"] = view
    if (colour := _param("colour")) in metrics:
        st.session_state["metric"] = colour
    place, region = _param("place"), _param("region")
    if place and _CODE.match(place):
        st.session_state["selected_id"] = place
    elif region and _CODE.match(region):
        st.session_state["selected_region"] = region


def write_atlas(*, epoch: int, view: str, metric: str) -> None:
    """Keep the URL in step with the view, so that the address bar is always a link to it."""
    params = {"epoch": str(epoch), "view": next(k for k, v in VIEW_PARAMS.items() if v == view), "colour": metric}
    if sid := st.session_state.get("selected_id"):
        params["place"] = str(sid)
    elif code := st.session_state.get("selected_region"):
        params["region"] = str(code)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def scenario_params(state: dict) -> dict[str, str]:
    """Return the lab scenario as URL parameters: its moves and centres (empty for the enacted reform)."""
    params = {}
    if state["moves"]:
        params["moves"] = ",".join(f"{u}:{r}" for u, r in sorted(state["moves"].items()))
    if state["centres"]:
        params["centres"] = ",".join(f"{k}@{c.lon:.4f}/{c.lat:.4f}" for k, c in sorted(state["centres"].items()))
    return params


def write_lab(state: dict) -> None:
    """Keep the URL in step with the lab's scenario."""
    params = scenario_params(state)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _moves(lab, text: str) -> dict[str, str]:
    moves = {}
    for item in text.split(",")[:500]:
        unit, _, region = item.partition(":")
        if unit in lab.base.unit_pieces and region in lab.region_names:
            moves[unit] = region
    return moves


def _centres(lab, text: str) -> dict:
    """Centres of ``KZ-19@lon/lat`` items: the settlement at that place (within about 1 km)."""
    import numpy as np

    from analysis.labspec import centre_from_settlement

    s = lab.base.settlements
    lon, lat = s.geometry.x.to_numpy(), s.geometry.y.to_numpy()
    centres = {}
    for item in text.split(",")[:100]:
        code, _, at = item.partition("@")
        x, _, y = at.partition("/")
        try:
            px, py = float(x), float(y)
        except ValueError:
            continue
        if code not in lab.region_names or not (np.isfinite(px) and np.isfinite(py)) or not len(s):
            continue
        i = int(np.argmin((lon - px) ** 2 + (lat - py) ** 2))
        if abs(lon[i] - px) < 0.01 and abs(lat[i] - py) < 0.01:
            row = s.iloc[i]
            centres[code] = centre_from_settlement({**row.to_dict(), "lon": lon[i], "lat": lat[i]})
    return centres


def lab_state_from_url(lab) -> dict | None:
    """Return the scenario a lab link describes (``moves``, ``centres``), or None when it names none."""
    moves_text, centres_text = _param("moves"), _param("centres")
    if not moves_text and not centres_text:
        return None
    moves = _moves(lab, moves_text or "") if lab.base.can_move else {}
    centres = _centres(lab, centres_text or "")
    if not moves and not centres:
        return None
    return {"moves": moves, "centres": centres}
