"""Match BNS units to geokz district polygons, and BNS settlements to settlement points.

Districts
    Every district, city administration (``қ.ә.``) and city district of the bulletin
    (sheet ``02``, Kazakh names, no codes) is linked to one or more geokz 2024
    district polygons (``KATO``) of the same region: first through the explicit
    alias table ``inputs/data/bns_district_aliases.csv`` (every row says why and
    cites its source), then by name — the bulletin name without its kind suffix
    against ``ADM2_KK``/``ADM2_RU``/``ADM2_EN`` under
    :func:`inputs.names.skeleton` — with city and district told apart by the
    KATO classifier's numbering (within a region, codes ``NN10…``–``NN31…`` are
    cities of regional significance, ``NN32…`` and up are districts), so Kostanay
    city (391000000) never takes Kostanay district's figure (395400000).
    Linked units and polygons form *control units* (connected groups): one BNS unit
    to one polygon in almost every case; a unit to several polygons where a district
    was split after 1 January 2023 (Urzhar → + Makanshy); several units to one
    polygon where geokz has no polygon for a unit (Sauran inside Kentau).

Settlements
    Every BNS settlement is looked for among the settlement points of its control
    unit by name skeleton (any script or romanisation), preferring points of a
    compatible OSM ``place`` class, then the point with the largest current
    estimate; failing that, among the points of its region within
    ``max_km_outside`` of the unit. The outcome of each is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import DataError
from inputs.names import name_skeletons, skeleton

ALIASES_FILE = Path(__file__).with_name("data") / "bns_district_aliases.csv"

#: OSM ``place`` classes compatible with each BNS settlement kind.
PLACE_CLASSES = {
    "city": ("city", "town"),
    "posyolok": ("town", "village", "suburb", "hamlet"),
    "village": ("village", "town", "hamlet"),
}

#: Settlement names the bulletin writes differently from every gazetteer, with why.
SETTLEMENT_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    # sheet 03 row 416 misspells Түркістан as "Түкістан қаласы"
    ("KZ-61", "Түкістан"): ("Түркістан", "Turkistan"),
    # "Б.Момышұлы" abbreviates Бауыржан Момышұлы, the centre of Zhualy district
    ("KZ-31", "Б.Момышұлы"): ("Бауыржан Момышұлы", "Баурджан Момышулы"),
    # the centre of Tolebi district (Shu district block) is Tolebi, also written Төлеби
    ("KZ-31", "Төле би"): ("Төлеби", "Толе би", "Tolebi"),
    # Balpyk bi is written as one or two words
    ("KZ-33", "Балпық би"): ("Балпықби", "Балпык би", "Balpyk bi"),
}


def is_city_kato(kato: str) -> bool:
    """Tell a city of regional significance by its KATO numbering (digits 3–4 below 32)."""
    return int(str(kato)[2:4]) < 32


def read_aliases(path: str | Path = ALIASES_FILE) -> pd.DataFrame:
    """Read the district alias table (``region``, ``bns_name``, ``kato``, ``reason``, ``source``).

    ``kato`` is ``;``-joined, or ``*`` for every polygon of the region.
    """
    table = pd.read_csv(path, dtype=str)
    missing = {"region", "bns_name", "kato", "reason", "source"} - set(table.columns)
    blank = table[["reason", "source"]].isna().any(axis=1) if not missing else pd.Series([])
    if missing or blank.any():
        msg = f"{path}: every alias needs region, bns_name, kato, reason and source; fix the table"
        raise DataError(msg)
    return table


@dataclass
class DistrictMatch:
    """Outcome of :func:`match_districts`.

    Attributes
    ----------
    links : DataFrame
        One row per (BNS unit, polygon): ``bns_row``, ``region``, ``bns_name``,
        ``kato``, ``how`` (``name`` or ``alias``).
    units : DataFrame
        Control units: ``unit`` (id), ``region``, ``katos`` (``;``-joined),
        ``bns_names`` (``;``-joined), ``population`` (sum of the BNS figures).
    report : DataFrame
        Every BNS unit and every polygon: ``side`` (``bns``/``geokz``), ``region``,
        ``name``, ``kato``, ``unit``, ``status`` and ``action`` in words.
    """

    links: pd.DataFrame
    units: pd.DataFrame
    report: pd.DataFrame


#: The name columns of a geokz ``adm2_2024`` polygon, in the order they are tried.
_POLYGON_NAMES = ("ADM2_KK", "ADM2_RU", "ADM2_EN")


def _keys(*names: object) -> set[str]:
    out = set()
    for n in names:
        if isinstance(n, str) and n.strip():
            out.add(skeleton(n))
    return out


def _name_links(districts: pd.DataFrame, polygons: pd.DataFrame, done: set[int]) -> list[dict]:
    """Links by name skeleton within a region, cities to city KATOs, districts to district KATOs."""
    # plain lists, each polygon's skeletons once: filtering the polygon frame per BNS
    # unit (220 boolean selections of a GeoDataFrame) took most of a cold analysis' match
    katos = polygons["KATO"].tolist()
    keys = [_keys(*names) for names in zip(*(polygons[c] for c in _POLYGON_NAMES), strict=True)]
    city = [is_city_kato(k) for k in katos]
    by_region: dict[str, list[int]] = {}
    for i, region in enumerate(polygons["region"]):
        if isinstance(region, str):
            by_region.setdefault(region, []).append(i)
    links = []
    for d in districts.itertuples(index=False):
        if d.row in done:
            continue
        pool = by_region.get(d.region, [])
        if d.kind in ("city", "district"):
            pool = [i for i in pool if city[i] == (d.kind == "city")]
        want = _keys(d.name)
        hits = [katos[i] for i in pool if want & keys[i]]
        if len(hits) == 1:
            links.append({"bns_row": d.row, "kato": hits[0], "how": "name"})
    return links


def _alias_links(
    districts: pd.DataFrame, polygons: pd.DataFrame, aliases: pd.DataFrame
) -> list[dict]:
    links = []
    for a in aliases.itertuples(index=False):
        units = districts[districts["region"] == a.region]
        if a.bns_name != "*":
            units = units[units["name_kk"] == a.bns_name]
        katos = (
            polygons.loc[polygons["region"] == a.region, "KATO"].tolist()
            if a.kato == "*"
            else a.kato.split(";")
        )
        unknown = sorted(set(katos) - set(polygons["KATO"]))
        if units.empty or unknown:
            what = f"KATO {', '.join(unknown)}" if unknown else f"unit {a.bns_name!r}"
            msg = f"{ALIASES_FILE}: alias {a.region} {a.bns_name}: {what} not found; fix the alias table"
            raise DataError(msg)
        links += [{"bns_row": u, "kato": k, "how": "alias"} for u in units["row"] for k in katos]
    return links


def _components(links: pd.DataFrame) -> dict[int, str]:
    """Control unit id of each BNS row: connected groups of the (row, KATO) graph."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in links.itertuples(index=False):
        a, b = find(f"r{r.bns_row}"), find(f"k{r.kato}")
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for r in links.itertuples(index=False):
        groups.setdefault(find(f"k{r.kato}"), []).append(r.kato)
    name = {root: min(katos) for root, katos in groups.items()}
    return {int(r.bns_row): name[find(f"r{r.bns_row}")] for r in links.itertuples(index=False)}


def match_districts(
    districts: pd.DataFrame, polygons: pd.DataFrame, *, aliases: pd.DataFrame | None = None
) -> DistrictMatch:
    """Link every BNS unit to geokz 2024 polygons and group them into control units.

    Parameters
    ----------
    districts : DataFrame
        :attr:`inputs.bns.Bulletin.districts`.
    polygons : DataFrame
        geokz ``adm2_2024`` attributes: ``KATO``, ``ADM2_KK``, ``ADM2_RU``,
        ``ADM2_EN`` and ``region`` (KZ-NN).
    aliases : DataFrame, optional
        :func:`read_aliases` (read from the package by default).

    Returns
    -------
    DistrictMatch
        Every BNS unit and every polygon is in a control unit or reported as
        unmatched (with what was done: its people then stay with the region's other
        units' allocation is impossible, so an unmatched BNS unit raises instead).

    Raises
    ------
    geo.errors.DataError
        A BNS unit or polygon that no name and no alias places.
    """
    aliases = read_aliases() if aliases is None else aliases
    links = _alias_links(districts, polygons, aliases)
    links += _name_links(districts, polygons, {link["bns_row"] for link in links})
    table = pd.DataFrame(links, columns=["bns_row", "kato", "how"])
    lost_units = districts[~districts["row"].isin(table["bns_row"])]
    lost_polys = polygons[~polygons["KATO"].isin(table["kato"])]
    if len(lost_units) or len(lost_polys):
        names = [f"{u.region} {u.name_kk}" for u in lost_units.itertuples(index=False)]
        names += [f"polygon {p.KATO} {p.ADM2_KK}" for p in lost_polys.itertuples(index=False)]
        msg = (
            f"BNS districts vs geokz 2024: no match for {', '.join(names[:8])}; "
            f"add them to {ALIASES_FILE.name} with the reason and source"
        )
        raise DataError(msg)
    unit_of = _components(table)
    info = districts.set_index("row")
    table["unit"] = table["bns_row"].map(unit_of)
    table["region"] = table["bns_row"].map(info["region"])
    table["bns_name"] = table["bns_row"].map(info["name_kk"])
    units = _unit_table(table, info)
    return DistrictMatch(table, units, _report(table, districts, polygons, aliases))


def _unit_table(links: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """One row per control unit (sorted): its region, KATOs, BNS names and total."""
    name, population = info["name_kk"].to_dict(), info["population"].to_dict()
    groups: dict[str, tuple[str, set, set]] = {}
    for unit, row, kato, region in zip(
        links["unit"], links["bns_row"], links["kato"], links["region"], strict=True
    ):
        groups.setdefault(unit, (region, set(), set()))
        groups[unit][1].add(row)
        groups[unit][2].add(kato)
    rows = []
    for unit in sorted(groups):
        region, bns_rows, katos = groups[unit]
        bns_rows = sorted(bns_rows)
        rows.append(
            {
                "unit": unit,
                "region": region,
                "katos": ";".join(sorted(katos)),
                "bns_names": ";".join(name[r] for r in bns_rows),
                "population": int(sum(population[r] for r in bns_rows)),
            }
        )
    return pd.DataFrame(rows)


def _report(
    links: pd.DataFrame, districts: pd.DataFrame, polygons: pd.DataFrame, aliases: pd.DataFrame
) -> pd.DataFrame:
    """One line per BNS unit and per polygon: how it was matched and what was done."""
    reason = {(a.region, a.bns_name): a.reason for a in aliases.itertuples(index=False)}
    by_row: dict[int, list[tuple[str, str, str]]] = {}  # bns row -> its (kato, unit, how)
    unit_of_kato: dict[str, str] = {}  # the unit of a polygon's first link
    katos_of_unit: dict[str, set[str]] = {}
    for row, kato, unit, how in zip(
        links["bns_row"], links["kato"], links["unit"], links["how"], strict=True
    ):
        by_row.setdefault(row, []).append((kato, unit, how))
        unit_of_kato.setdefault(kato, unit)
        katos_of_unit.setdefault(unit, set()).add(kato)
    rows = []
    for d in districts.itertuples(index=False):
        g = by_row[d.row]
        how = "alias" if any(h == "alias" for _, _, h in g) else "name"
        why = reason.get((d.region, d.name_kk)) or reason.get((d.region, "*"), "")
        rows.append(
            {"side": "bns", "region": d.region, "name": d.name_kk,
             "kato": ";".join(k for k, _, _ in g), "unit": g[0][1],
             "status": f"matched by {how}",
             "action": why or "its figure is the control total of its polygon"}
        )  # fmt: skip
    for p in polygons.itertuples(index=False):
        unit = unit_of_kato[p.KATO]
        shared = len(katos_of_unit[unit]) > 1
        rows.append(
            {"side": "geokz", "region": p.region, "name": p.ADM2_KK, "kato": p.KATO,
             "unit": unit, "status": "no own BNS figure" if shared else "matched",
             "action": "controlled together with the other polygons of its unit" if shared else ""}
        )  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- settlements


def _candidates(keys: set[str], skeletons: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return rows[[bool(keys & skeletons[i]) for i in rows]] if rows.size else rows


def match_settlements(
    places: pd.DataFrame,
    settlements: pd.DataFrame,
    *,
    unit_col: str,
    region_col: str,
    weight_col: str,
) -> pd.DataFrame:
    """Find the settlement point of every BNS settlement.

    Parameters
    ----------
    places : DataFrame
        BNS settlements (:attr:`inputs.bns.Bulletin.settlements`) with a ``unit``
        column (their control unit; the region code when there are no districts).
    settlements : DataFrame
        Points with names, ``place``, ``unit_col``, ``region_col`` and ``weight_col``
        (the current estimate used to break ties).
    unit_col, region_col, weight_col : str
        Columns of ``settlements``.

    Returns
    -------
    DataFrame
        One row per BNS place: its ``row``, ``region``, ``unit``, ``name_kk``,
        ``kind``, ``population``, ``match`` (row position in ``settlements`` or -1),
        ``status`` (``matched``, ``matched in region``, ``ambiguous``, ``missing``,
        ``city district``) and ``candidates`` (how many same-named points).
        An ``ambiguous`` place is still matched, to its best candidate.
    """
    skeletons = name_skeletons(settlements).to_numpy()
    unit = settlements[unit_col].astype(object).to_numpy()
    region = settlements[region_col].astype(object).to_numpy()
    place = settlements["place"].astype("string").fillna("").to_numpy(dtype=object)
    weight = pd.to_numeric(settlements[weight_col], errors="coerce").fillna(0).to_numpy()
    # row positions (ascending) of each unit and region, found once (not a scan of every
    # point per place); missing units and regions have none
    positions = pd.Series(np.arange(len(settlements)))
    in_unit = positions.groupby(unit, sort=False).indices
    in_region = positions.groupby(region, sort=False).indices
    nowhere = np.empty(0, dtype=np.intp)
    used: set[int] = set()
    out = []
    for p in places.itertuples(index=False):
        row = {"row": p.row, "region": p.region, "unit": p.unit, "name_kk": p.name_kk,
               "kind": p.kind, "population": p.population, "match": -1, "candidates": 0}  # fmt: skip
        if p.kind == "city_district":
            out.append({**row, "status": "city district"})
            continue
        keys = _keys(p.name, *SETTLEMENT_ALIASES.get((p.region, p.name), ()))
        if p.kind != "village":  # Kazakh official names drop the Russian -sk: Приозер = Приозёрск
            keys |= _keys(p.name + "ск")
        status = "matched"
        hits = _candidates(keys, skeletons, in_unit.get(p.unit, nowhere))
        if hits.size == 0:
            status = "matched in region"
            hits = _candidates(keys, skeletons, in_region.get(p.region, nowhere))
        hits = np.array([h for h in hits if h not in used], dtype=int)
        if hits.size == 0:
            out.append({**row, "status": "missing"})
            continue
        typed = hits[np.isin(place[hits], PLACE_CLASSES[p.kind])]
        pool = typed if typed.size else hits
        best = pool[np.argmax(weight[pool])]
        used.add(int(best))
        if pool.size > 1 and status == "matched":
            status = "ambiguous"
        out.append({**row, "match": int(best), "candidates": int(hits.size), "status": status})
    table = pd.DataFrame(out)
    table["match"] = table["match"].astype("int64")
    return table
