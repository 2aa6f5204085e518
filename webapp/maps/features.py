"""Regions, changed territory, regional centres and centre moves as map data."""

from __future__ import annotations

import html
import math

import branca.colormap as bcm
import numpy as np
import pandas as pd
from pyproj import Geod

from boundaries.schema import region_col
from webapp.labels import period_name, reform_year
from webapp.maps.colours import Metric, colour_of
from webapp.maps.geometry import DisplayGeometry, geometry_json

_GEOD = Geod(ellps="WGS84")




def centre_label(spec, code: str, epoch: int) -> str:
    """Name of a region's centre as the epoch knew it, with its former name.

    ``Konaev (former Kapshagai)``; ``Astana / Nur-Sultan`` for June 2018 – June 2022.
    """
    c = spec.centre_of(code, epoch=epoch)
    name = period_name(spec, epoch, c.name_en)
    return f"{name} (former {c.former_name_en})" if c.former_name_en and name == c.name_en else name


def region_features(
    analysis,
    geometry: DisplayGeometry,
    epoch: int,
    metric: Metric,
    values: pd.Series,
    cmap: bcm.StepColormap,
) -> dict:
    """GeoJSON of one epoch's regions with fill colour and a trilingual tooltip."""
    spec = analysis.build.spec
    before, after = analysis.epochs
    other = after if epoch == before else before
    meta = analysis.build.regions[epoch].set_index("code")
    other_codes = set(analysis.build.regions[other]["code"])
    feats = []
    for row in geometry.regions[epoch].itertuples(index=False):
        r = meta.loc[row.code]
        value = values.get(row.code, np.nan)
        names = [r["name_kk"]] + ([r["name_ru"]] if r["name_ru"] != r["name_kk"] else [])
        is_new = row.code not in other_codes and epoch == after
        lines = [
            f"<b>{html.escape(r['name_en'])}</b> · {html.escape(row.code)}",
            html.escape(" · ".join(names)),
            f"Centre {epoch}: {html.escape(centre_label(spec, row.code, epoch))}",
            f"{html.escape(metric.label)}: <b>{html.escape(metric.format(value))}</b>",
        ]
        if is_new:
            parent = spec.regions_of(after)[row.code].parent
            parent_name = (
                analysis.build.regions[before].set_index("code")["name_en"].get(parent, parent)
            )
            lines.append(
                f"<i>new region in {reform_year(spec)}, formed from {html.escape(str(parent_name))}</i>"
            )
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "code": row.code,
                    "fill": colour_of(cmap, value),
                    "isnew": bool(is_new),
                    "tip": "<br>".join(lines),
                },
                "geometry": geometry_json(row.geometry),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def changed_features(analysis, geometry: DisplayGeometry) -> dict:
    """GeoJSON of the territories whose region changed, with area and population moved."""
    before, after = analysis.epochs
    names_b = analysis.build.regions[before].set_index("code")["name_en"]
    names_a = analysis.build.regions[after].set_index("code")["name_en"]
    cw = analysis.build.crosswalk.set_index([region_col(before), region_col(after)])
    shifts = analysis.shifts.set_index([region_col(before), region_col(after)])
    feats = []
    for row in geometry.changed.itertuples(index=False):
        key = (row[0], row[1])
        area = float(cw["area_km2"].get(key, np.nan)) if key in cw.index else np.nan
        moved = shifts.loc[key] if key in shifts.index else None
        people = (
            f"{moved['population']:,.0f} persons (est.) in {int(moved['settlements']):,} settlements"
            if moved is not None
            else "no settlements"
        )
        tip = (
            f"<b>Changed region in {reform_year(analysis.build.spec)}</b><br>{html.escape(str(names_b.get(key[0], key[0])))} ({key[0]}) → "
            f"{html.escape(str(names_a.get(key[1], key[1])))} ({key[1]})<br>{area:,.0f} km² · {people}"
        )
        feats.append(
            {
                "type": "Feature",
                "properties": {"tip": tip},
                "geometry": geometry_json(row.geometry),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _label_offsets(
    points: list[tuple[float, float, str]], *, zoom: float = 4.75
) -> list[tuple[str, list[int]]]:
    """Greedy placement of centre labels (right, left, below, above) to avoid overlaps."""
    world = 256 * 2**zoom

    def px(lat: float, lon: float) -> tuple[float, float]:
        x = (lon + 180) / 360 * world
        y = (
            (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi)
            / 2
            * world
        )
        return x, y

    boxes: list[tuple[float, float, float, float]] = []
    for lat, lon, _ in points:
        x, y = px(lat, lon)
        boxes.append((x - 5, y - 5, x + 5, y + 5))
    out = []
    for lat, lon, text in points:
        x, y = px(lat, lon)
        w, h = 6.3 * len(text) + 8, 15
        candidates = (
            ("right", [7, 0], (x + 7, y - h / 2, x + 7 + w, y + h / 2)),
            ("left", [-7, 0], (x - 7 - w, y - h / 2, x - 7, y + h / 2)),
            ("bottom", [0, 7], (x - w / 2, y + 7, x + w / 2, y + 7 + h)),
            ("top", [0, -7], (x - w / 2, y - 7 - h, x + w / 2, y - 7)),
        )
        choice = candidates[0]
        for cand in candidates:
            b = cand[2]
            if not any(b[0] < o[2] and b[2] > o[0] and b[1] < o[3] and b[3] > o[1] for o in boxes):
                choice = cand
                break
        boxes.append(choice[2])
        out.append((choice[0], choice[1]))
    return out


def centre_points(analysis, epoch: int, *, zoom: float = 4.75) -> list[dict]:
    """Regional centres of ``epoch`` with labels placed for ``zoom``.

    ``isnew``: a centre in ``epoch`` that was none before; ``key``: a centre the
    reform touched (new, or a region's centre that moved), labelled at every zoom.
    """
    spec = analysis.build.spec
    before, after = analysis.epochs
    other = after if epoch == before else before
    other_keys = {spec.regions_of(other)[c].centre for c in spec.regions_of(other)}
    b, a = spec.regions_of(before), spec.regions_of(after)
    moved = {
        r[code].centre
        for code in set(b) & set(a)
        for r in (b, a)
        if (spec.centres[b[code].centre].lon, spec.centres[b[code].centre].lat)
        != (spec.centres[a[code].centre].lon, spec.centres[a[code].centre].lat)
    }
    seen: dict[str, dict] = {}
    for code, region in sorted(spec.regions_of(epoch).items()):
        c = spec.centres[region.centre]
        if region.centre in seen:
            continue
        is_new = (
            epoch == after
            and region.centre not in other_keys
            and not any(
                spec.centres[k].lon == c.lon and spec.centres[k].lat == c.lat for k in other_keys
            )
        )
        seen[region.centre] = {
            "la": round(c.lat, 4),
            "lo": round(c.lon, 4),
            "label": centre_label(spec, code, epoch),
            "isnew": bool(is_new),
            "key": bool(is_new) or region.centre in moved,
        }
    points = sorted(seen.values(), key=lambda p: (-p["key"], -p["la"], p["lo"]))
    placed = _label_offsets([(p["la"], p["lo"], p["label"]) for p in points], zoom=zoom)
    for p, (direction, offset) in zip(points, placed, strict=True):
        p["dir"], p["offset"] = direction, offset
    return points


def geodesic_points(
    lat1: float, lon1: float, lat2: float, lon2: float, n: int = 24
) -> list[list[float]]:
    """Points along the geodesic between two places, as ``[lat, lon]`` pairs."""
    mid = _GEOD.npts(lon1, lat1, lon2, lat2, n) if n > 0 else []
    pts = [(lon1, lat1), *mid, (lon2, lat2)]
    return [[round(la, 4), round(lo, 4)] for lo, la in pts]


def centre_moves(analysis) -> list[dict]:
    """Regions whose centre moved to another place (Almaty Region: Taldykorgan → Konaev)."""
    spec = analysis.build.spec
    before, after = analysis.epochs
    out = []
    b, a = spec.regions_of(before), spec.regions_of(after)
    for code in sorted(set(b) & set(a)):
        cb, ca = spec.centres[b[code].centre], spec.centres[a[code].centre]
        if (cb.lon, cb.lat) == (ca.lon, ca.lat):
            continue
        out.append(
            {
                "pts": geodesic_points(cb.lat, cb.lon, ca.lat, ca.lon, 12),
                "tip": f"{a[code].name_en}: centre moved in {reform_year(spec)} from "
                f"{centre_label(spec, code, before)} to {centre_label(spec, code, after)}",
            }
        )
    return out


