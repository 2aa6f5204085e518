"""One settlement's situation in both epochs, its lines to the centres and the view on it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from boundaries.schema import (
    centre_col,
    centre_lat_col,
    centre_lon_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    region_col,
)
from webapp.maps.features import centre_label, geodesic_points
from webapp.maps.script import JsCall
from webapp.maps.settlements import clean, settlement_label

#: Map height in pixels (single map; the pair of maps, each half as wide, is lower).
MAP_HEIGHT = 600
PAIR_HEIGHT = 470
#: Space kept free at the bottom of the map for the legends (pixels).
LEGEND_PADDING = 125




@dataclass
class Selection:
    """One settlement's situation in both epochs (from ``analysis.settlements``)."""

    id: str
    label: str
    names: dict[str, str]
    lat: float
    lon: float
    population: float
    population_est: float
    epochs: tuple[int, int]
    region: dict[int, str | None]
    region_name: dict[int, str | None]
    centre: dict[int, str | None]
    centre_label: dict[int, str | None]
    centre_at: dict[int, tuple[float, float] | None]
    distance_km: dict[int, float]
    delta_km: float
    nearest_centre: str | None
    nearest_km: float
    assignment: str


def _float(value) -> float:
    value = clean(value)
    return float("nan") if value is None else float(value)


def selection(analysis, settlement_id: str) -> Selection | None:
    """Return the row of ``settlement_id`` as a :class:`Selection`, or None if unknown."""
    s = analysis.settlements
    hit = s[s["id"].astype(str) == str(settlement_id)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    spec = analysis.build.spec
    before, after = analysis.epochs
    region, region_name, centre, label, at, dist = {}, {}, {}, {}, {}, {}
    for epoch in (before, after):
        code = clean(row.get(region_col(epoch)))
        region[epoch] = code
        names = analysis.build.regions[epoch].set_index("code")["name_en"]
        region_name[epoch] = str(names.get(code, code)) if code else None
        centre[epoch] = clean(row.get(centre_col(epoch)))
        label[epoch] = (
            centre_label(spec, code, epoch) if code in spec.regions_of(epoch) else centre[epoch]
        )
        lon_c, lat_c = (
            clean(row.get(centre_lon_col(epoch))),
            clean(row.get(centre_lat_col(epoch))),
        )
        at[epoch] = (
            (float(lat_c), float(lon_c)) if lon_c is not None and lat_c is not None else None
        )
        dist[epoch] = _float(row.get(dist_col(epoch)))
    names = {
        k: str(v)
        for k in ("name", "name_en", "name_kk", "name_ru")
        if (v := clean(row.get(k))) is not None
    }
    return Selection(
        id=str(row["id"]),
        label=str(settlement_label(hit.iloc[[0]])[0]),
        names=names,
        lat=float(row.geometry.y),
        lon=float(row.geometry.x),
        population=_float(row.get("population")),
        population_est=_float(row.get("population_est")),
        epochs=(before, after),
        region=region,
        region_name=region_name,
        centre=centre,
        centre_label=label,
        centre_at=at,
        distance_km=dist,
        delta_km=_float(row.get("delta_km")),
        nearest_centre=clean(row.get(nearest_centre_col(after))),
        nearest_km=_float(row.get(nearest_centre_km_col(after))),
        assignment=str(clean(row.get("assignment")) or ""),
    )


_LINE_STYLE = {0: ("#5e35b1", "6 6"), 1: ("#c62828", None)}


def selection_layer(sel: Selection, *, dual: bool) -> JsCall:
    """Ring on the settlement and geodesic lines to its centre in each epoch.

    On the comparison the line to the ``before`` centre goes on the left map and the
    line to the ``after`` centre on the right one.
    """
    lines: list[dict | None] = []
    for j, epoch in enumerate(sel.epochs):
        at = sel.centre_at[epoch]
        if at is None:
            lines.append(None)
            continue
        colour, dash = _LINE_STYLE[j]
        lines.append(
            {
                "pts": geodesic_points(sel.lat, sel.lon, at[0], at[1]),
                "colour": colour,
                "dash": dash,
                "label": f"{epoch}: {sel.distance_km[epoch]:,.0f} km",
            }
        )
    # streamlit-folium names the right map ``map_div2`` (and lays out two maps when the base
    # script mentions that name, so it appears only here, in the selection layer)
    data = {
        "at": [round(sel.lat, 5), round(sel.lon, 5)],
        "dual": dual,
        "target": "map_div" + "2",
        "lines": lines if dual else [x for x in lines if x is not None],
    }
    return JsCall("RA.selection", data, name="ra_selection")


def view_for(
    sel: Selection,
    *,
    width: float = 700,
    height: float = MAP_HEIGHT,
    bottom: float = LEGEND_PADDING,
) -> tuple[list[float], float]:
    """Centre and zoom showing a settlement and both its centres above the legend."""
    pts = [(sel.lat, sel.lon)] + [at for at in sel.centre_at.values() if at is not None]
    lats = [p[0] for p in pts]
    lons = [p[1] for p in pts]

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dlon = max(math.radians(max(lons) - min(lons)), 1e-4)
    dy = max(merc(max(lats)) - merc(min(lats)), 1e-4)
    z_w = math.log2((width - 120) * 2 * math.pi / (256 * dlon))
    z_h = math.log2((height - bottom - 100) * 2 * math.pi / (256 * dy))
    zoom = min(max(math.floor(min(z_w, z_h) * 4) / 4, 4.0), 9.0)
    cy = (merc(max(lats)) + merc(min(lats))) / 2 - (bottom / 2) * 2 * math.pi / (256 * 2**zoom)
    lat = math.degrees(2 * math.atan(math.exp(cy)) - math.pi / 2)
    return [round(lat, 4), round((max(lons) + min(lons)) / 2, 4)], zoom


