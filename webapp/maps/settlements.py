"""The settlements as one compact payload of canvas circles, and its legend."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from boundaries.schema import centre_col, dist_col
from webapp.maps.colours import STRIP_FONT, short, swatch
from webapp.maps.geometry import DISPLAY_DECIMALS
from webapp.maps.script import to_json

#: Classes of ``delta_km`` (km) for settlement colours; ±0.5 km is "unchanged", as in analysis.stats.
DELTA_CLASSES: tuple[tuple[str, str], ...] = (
    ("≤ −150 (nearer)", "#08519c"),
    ("−150 to −50", "#4292c6"),
    ("−50 to −0.5", "#9ecae1"),
    ("unchanged (±0.5)", "#c4c4c4"),
    ("+0.5 to +50", "#fcae91"),
    ("+50 to +150", "#ef3b2c"),
    ("≥ +150 (farther)", "#99000d"),
    ("outside every region", "#ffffff"),
)
#: Index of the "unchanged" class, drawn muted.
UNCHANGED_CLASS = 3
DELTA_CAPTION = "Settlements: change in distance to own regional centre {before} → {after} (km)"
SIZE_CAPTION = "circle area ∝ population (estimated)"


def delta_class(delta: np.ndarray) -> np.ndarray:
    """Index into :data:`DELTA_CLASSES` for each change in distance (km)."""
    d = np.asarray(delta, dtype="float64")
    conditions = [d <= -150, d <= -50, d < -0.5, d <= 0.5, d < 50, d < 150, d >= 150]
    return np.select(conditions, np.arange(7), default=7)


def marker_radius(population: np.ndarray) -> np.ndarray:
    """Circle radius in pixels: area proportional to population (√ scale), 1.6–18 px."""
    p = np.nan_to_num(np.asarray(population, dtype="float64"), nan=0.0).clip(min=0)
    return np.clip(0.0125 * np.sqrt(p), 1.6, 18.0)


def settlement_label(frame: pd.DataFrame) -> np.ndarray:
    """Display label of each settlement: local name, with its Latin name when it differs.

    The Latin name is ``name_latn`` (one romanisation for every place, :mod:`inputs.names`),
    else the English one: ``Өскемен (Oskemen)``, ``Uzunagach (Uzynagash)``.
    """

    def text(col: str) -> pd.Series:
        if col not in frame.columns:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        s = frame[col].astype(object)
        return s.where(s.notna(), None)

    name, en, latn, kk, ru = text("name"), text("name_en"), text("name_latn"), text("name_kk"), text("name_ru")
    labels = []
    for n, e, lt, k, r in zip(name, en, latn, kk, ru, strict=True):
        local = " ".join(str(n or k or r or lt or e or "(unnamed)").split())
        latin = lt or e
        if latin and str(latin).casefold() != local.casefold():
            labels.append(f"{local} ({latin})")
        else:
            labels.append(local)
    return np.array(labels, dtype=object)


@dataclass
class SettlementLayer:
    """The settlements as drawn: JSON payload plus arrays to resolve clicks."""

    payload: str
    ids: np.ndarray
    labels: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)

    def settlement_id(self, index: object) -> str | None:
        """Id of the settlement drawn at ``index`` (what ``static/ra.js`` reports), or None."""
        try:
            i = int(str(index))
        except ValueError:
            return None
        return str(self.ids[i]) if 0 <= i < len(self.ids) else None


def parse_click(value: Mapping | None) -> tuple[str, str] | None:
    """``(kind, key)`` of a map click reported by ``RA.report`` (``"ra:<kind>:<key>"``), or None.

    Kinds: ``s`` a settlement (key: its index in the layer), ``r`` a region (key: its
    code), ``u`` a district of the scenario lab (key: its code).
    """
    text = (value or {}).get("last_object_clicked_tooltip")
    if not isinstance(text, str) or not text.startswith("ra:"):
        return None
    kind, _, key = text[3:].partition(":")
    return (kind, key) if kind and key else None


def clean(value):
    """None for missing values (None, pandas NA, NaN), else the value."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


#: Sentinels of the packed integer columns (missing value).
_NO_U8, _NO_U16 = 255, 65535


def _pack(values: np.ndarray, dtype: str) -> str:
    """Base64 of little-endian unsigned integers (``dtype`` ``"u1"`` or ``"u2"``)."""
    return base64.b64encode(np.asarray(values).astype("<" + dtype).tobytes()).decode("ascii")


def _pack_text(lines: list[str]) -> tuple[str, str]:
    r"""Encode lines, joined by newlines, in a one-byte-per-character code, as ``(base64, alphabet)``.

    ASCII stays as is; the 127 most frequent other characters take one byte each
    (128–254) and up to 256 rarer ones two (255, index). Cyrillic names thus cost
    1.33 bytes a letter, where ASCII JSON (how Streamlit ships component arguments)
    would spend 6 on ``\uXXXX``.
    """
    text = "\n".join(" ".join(line.split()) for line in lines)
    counts: dict[str, int] = {}
    for ch in text:
        if ord(ch) > 127:
            counts[ch] = counts.get(ch, 0) + 1
    alphabet = sorted(counts, key=lambda ch: (-counts[ch], ch))
    if (
        len(alphabet) > 127 + 256
    ):  # too many scripts for the code: keep the most frequent, mark the rest
        alphabet = [*alphabet[: 127 + 255], "\ufffd"]
    code = {ch: i for i, ch in enumerate(alphabet)}
    out = bytearray()
    for ch in text:
        o = ord(ch)
        if o < 128:
            out.append(o)
            continue
        i = code.get(ch, len(alphabet) - 1)
        if i < 127:
            out.append(128 + i)
        else:
            out += bytes((255, i - 127))
    return base64.b64encode(bytes(out)).decode("ascii"), "".join(alphabet)


def _quantised(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Coordinates as unsigned steps from a corner: ``(qlat, qlon, [lat0, lon0, scale])``."""
    raw_lat = frame.geometry.y.to_numpy(dtype="float64")
    raw_lon = frame.geometry.x.to_numpy(dtype="float64")
    lat0, lon0 = (math.floor(float(v.min())) if len(v) else 0 for v in (raw_lat, raw_lon))
    span = max(float(raw_lat.max() - lat0), float(raw_lon.max() - lon0), 1.0) if len(frame) else 1.0
    fine = 10**DISPLAY_DECIMALS
    scale = fine if span * fine < _NO_U16 else math.floor(_NO_U16 / span)
    qlat = np.round((raw_lat - lat0) * scale).astype(np.int64)
    qlon = np.round((raw_lon - lon0) * scale).astype(np.int64)
    return qlat, qlon, [lat0, lon0, scale]


def _centre_ids(frame: pd.DataFrame, cols: list[str]) -> tuple[list[np.ndarray], list[str]]:
    """Index of each settlement's centre per column (255 = none), and the centre names."""
    centres: list[str] = []
    index: dict[str, int] = {}
    out = []
    for col in cols:
        ids = np.full(len(frame), _NO_U8, dtype=np.int64)
        for i, name in enumerate(frame[col].astype(object)):
            if clean(name) is None:
                continue
            ids[i] = index.setdefault(str(name), len(index))
            if ids[i] == len(centres):
                centres.append(str(name))
        out.append(ids)
    if len(centres) >= _NO_U8:
        msg = f"{len(centres)} regional centres: too many for the packed settlement layer"
        raise ValueError(msg)
    return out, centres


def _km(values: np.ndarray) -> np.ndarray:
    """Whole km for the packed layer (65535 = missing)."""
    return np.where(np.isfinite(values), np.clip(np.round(values), 0, _NO_U16 - 1), _NO_U16).astype(np.int64)


def settlement_layer(analysis) -> SettlementLayer:
    """Compact payload of every settlement: position, radius, colour class, label, distances.

    Columns are packed as base64 of unsigned integers (coordinates in 0.001° steps
    from a corner, radius in 0.1 px, distances in whole km, colour class and centre
    index in bytes) and labels in a one-byte text code, which halves the page
    payload against plain JSON.
    """
    before, after = analysis.epochs
    pop = pd.to_numeric(analysis.settlements["population_est"], errors="coerce").to_numpy(dtype="float64")
    order = np.argsort(-np.nan_to_num(pop, nan=0.0), kind="stable")  # big circles first (drawn below)
    s, pop = analysis.settlements.iloc[order], pop[order]
    qlat, qlon, origin = _quantised(s)
    labels = settlement_label(s)

    def column(col: str) -> np.ndarray:
        return pd.to_numeric(s[col], errors="coerce").to_numpy(dtype="float64")

    delta = column("delta_km")
    (k0, k1), centres = _centre_ids(s, [centre_col(before), centre_col(after)])
    classes = delta_class(delta)
    names, alphabet = _pack_text([str(x) for x in labels])
    payload = {
        "n": len(s), "epochs": [before, after], "centres": centres, "palette": [c for _, c in DELTA_CLASSES],
        "muted": UNCHANGED_CLASS, "origin": origin, "la": _pack(qlat, "u2"), "lo": _pack(qlon, "u2"),
        "r": _pack(np.round(marker_radius(pop) * 10), "u1"), "c": _pack(classes, "u1"),
        "d0": _pack(_km(column(dist_col(before))), "u2"), "d1": _pack(_km(column(dist_col(after))), "u2"),
        "dd": _pack(np.where(np.isfinite(delta), np.clip(np.round(np.abs(delta)), 0, _NO_U16 - 1), 0), "u2"),
        "k0": _pack(k0, "u1"), "k1": _pack(k1, "u1"), "names": names, "alphabet": alphabet,
    }
    lat0, lon0, scale = origin
    return SettlementLayer(
        payload=to_json(payload),
        ids=s["id"].astype(str).to_numpy(dtype=object),
        labels=labels,
        lat=lat0 + qlat / scale,  # exactly what the browser decodes
        lon=lon0 + qlon / scale,
        counts={label: int((classes == i).sum()) for i, (label, _) in enumerate(DELTA_CLASSES)},
    )


def settlement_legend_html(counts: Mapping[str, int] | None = None, *, epochs: tuple[int, int] = (2018, 2024)) -> str:
    """Legend of the settlement layer as HTML for under the map (inline styles).

    Colour classes of the change in distance (with how many settlements each holds)
    and reference circles for the √ size scale.
    """
    items = []
    for label, colour in DELTA_CLASSES:
        n = counts.get(label, 0) if counts is not None else None
        if counts is not None and label == DELTA_CLASSES[-1][0] and not n:
            continue
        items.append(swatch(colour, label, count=n))
    sizes = []
    for p in (10_000, 100_000, 1_000_000):
        d = 2 * float(marker_radius(np.array([p]))[0])
        sizes.append(
            f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:{d:.0f}px;"
            f"height:{d:.0f}px;border-radius:50%;background:#c4c4c4;border:1px solid #3b3b3b;"
            f"vertical-align:middle;margin-right:4px'></span>{short(p)}</span>"
        )
    return (
        f'<div style="{STRIP_FONT}"><b>{html.escape(DELTA_CAPTION.format(before=epochs[0], after=epochs[1]))}:</b> '
        f'{"".join(items)}'
        f"<br><b>Circle size</b> ({html.escape(SIZE_CAPTION)}): {''.join(sizes)}</div>"
    )


