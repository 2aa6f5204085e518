"""Template context of the claims section: places named for a reform, and the distance claim.

For the reform an address speaks about (:data:`ADDRESS_CLAIMS`) the section quotes
it and says whether the numbers support it; for other reforms it gives the same
numbers without quotes. The claim places come from
:attr:`~analysis.pipeline.Analysis.claims`; nothing is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.summary import (
    affected_codes,
    affected_mean_distances,
    gained,
    nearest_centre_elsewhere,
)
from boundaries.schema import (
    DELTA_KM,
    centre_col,
    dist_col,
    nearest_centre_col,
    nearest_centre_km_col,
    pw_mean_col,
    region_col,
)
from report.format import (
    distance_verdict,
    fmt_date,
    fmt_delta,
    fmt_int,
    fmt_km,
    fmt_pct,
    join_words,
    population_text,
    text,
)
from report.model import Names, Table

if TYPE_CHECKING:
    from analysis.pipeline import Analysis

#: Claims of the address of the President of 16 March 2022 that the report answers, by
#: reform spec id: the quote naming places (and the places of
#: :data:`analysis.pipeline.CLAIM_PLACES` it names) and the quote about distances.
#: Reforms without an entry get the same numbers without quotes.
ADDRESS_CLAIMS: dict[str, dict[str, Any]] = {
    "kz-2022": {
        "places": "It is not easy to solve problems of Uzynagash or Talgar from Taldykorgan",
        "quoted_places": ("Uzynagash", "Talgar"),
        "distance": "People have to travel long distances to get to the centre of the region",
    },
}
ADDRESS = "Address of the President of Kazakhstan"


# ---------------------------------------------------------------- claims


def claim_facts(row: dict[str, Any], *, epochs: tuple[int, int], names: Names) -> dict[str, Any]:
    """One found claim place: its distances, regions, verdict and nearest centre, formatted."""
    before, after = epochs
    rb, ra = row.get(region_col(before)), row.get(region_col(after))
    own, nearest = text(row.get(centre_col(after))), text(row.get(nearest_centre_col(after)))
    return {
        "place": row["place"],
        "name": text(row.get("name")),
        "population": population_text(row),
        "verdict": distance_verdict(row.get(DELTA_KM)),
        "centre_before": text(row.get(centre_col(before))),
        "centre_after": own,
        "dist_before": fmt_km(row.get(dist_col(before))),
        "dist_after": fmt_km(row.get(dist_col(after))),
        "delta": fmt_delta(row.get(DELTA_KM)),
        "moved": rb != ra,
        "region_before": names.name(rb, before),
        "region_after": names.name(ra, after),
        "regions": f"{names.label(rb, before)} → {names.label(ra, after)}",
        "nearest": nearest,
        "nearest_km": fmt_km(row.get(nearest_centre_km_col(after))),
        "nearest_elsewhere": bool(nearest) and nearest != own,
        "gained": gained(row.get(DELTA_KM)),
    }


def claims_table(
    facts: list[dict[str, Any]], epochs: tuple[int, int], *, address: bool = True
) -> Table:
    """Tabulate the claim places: distance to the centre before and after."""
    before, after = epochs
    rows = []
    for f in facts:
        if "verdict" not in f:
            rows.append((f["place"], "not found in the settlement source", *("–",) * 8))
            continue
        nearest = (
            f"{f['nearest']} {f['nearest_km']}"
            if f["nearest_elsewhere"]
            else ("own centre" if f["nearest"] else "–")
        )
        rows.append(
            (f["place"], f"{f['name']}, {f['population']}", f["regions"], f["centre_before"],
             f["dist_before"], f["centre_after"], f["dist_after"], f["delta"], f["verdict"], nearest)
        )  # fmt: skip
    return Table(
        ("Place", "Settlement in data", f"Region {before} → {after}", f"Centre {before}", "km",
         f"Centre {after}", "km", "Change, km", "Verdict", f"Nearest {after} centre, km"),
        tuple(rows),
        caption=f"Places {'named in or around the address' if address else 'the reform moved'}: "
        "geodesic distance to the regional centre (highlighted: no gain)",
        numeric=(False, False, False, False, True, False, True, True, False, False),
        highlight=tuple("verdict" in f and not f["gained"] for f in facts),
    )  # fmt: skip


def distance_claim(analysis: Analysis, names: Names) -> dict[str, Any] | None:
    """Answer the distance claim: mean distance in the regions touched, before and after (None if none)."""
    before, after = analysis.epochs
    if analysis.affected.empty:
        return None
    means = affected_mean_distances(analysis)
    far = nearest_centre_elsewhere(analysis)
    return {
        "supported": means["mean_after_km"] < means["mean_before_km"],
        "regions": [names.name(c, before) for c in affected_codes(analysis)],
        "population": fmt_int(means["population"]),
        "mean_before": fmt_km(means["mean_before_km"]),
        "mean_after": fmt_km(means["mean_after_km"]),
        "rows": [
            {
                "name": names.name(r[region_col(before)], before),
                "mean_before": fmt_km(r[pw_mean_col(before)]),
                "mean_after": fmt_km(r[pw_mean_col(after)]),
                "nearer": fmt_pct(r["share_pop_nearer"]),
                "farther": fmt_pct(r["share_pop_farther"]),
                "unchanged": fmt_pct(r["share_pop_unchanged"]),
            }
            for r in analysis.affected.to_dict("records")
        ],
        "far": {
            "count": f"{far['count']:,}",
            "assigned": f"{far['assigned']:,}",
            "share": fmt_pct(far["count"] / far["assigned"] if far["assigned"] else None),
            "in_affected": f"{far['in_affected']:,}",
        },
    }


def claims_context(analysis: Analysis) -> dict[str, Any]:
    """Answer the address's two claims with the claim places and the regions touched."""
    names, meta = Names.of(analysis), dict(analysis.build.spec.meta)
    facts = [
        claim_facts(r, epochs=analysis.epochs, names=names)
        if r.get("found")
        else {"place": r["place"]}
        for r in analysis.claims.to_dict("records")
    ]
    found = {f["place"]: f for f in facts if "verdict" in f}
    quotes = ADDRESS_CLAIMS.get(analysis.build.spec.id)
    places = quotes["quoted_places"] if quotes else ()
    quoted = [found[p] for p in places if p in found]
    distance = distance_claim(analysis, names)
    return {
        "quotes": quotes,
        "source": f"{ADDRESS}, {fmt_date(meta['proposed'])}" if meta.get("proposed") else ADDRESS,
        "quoted": quoted,
        "missing_places": join_words([p for p in places if p not in found]),
        "supported": bool(places)
        and len(quoted) == len(places)
        and all(f["gained"] for f in quoted),
        "distance": distance,
        "far": distance["far"] if distance else None,
        "exceptions": [f for f in found.values() if not f["gained"]],
        "table": claims_table(facts, analysis.epochs, address=quotes is not None),
    }
