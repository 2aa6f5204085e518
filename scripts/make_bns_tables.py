"""Regenerate the compact BNS tables shipped in ``inputs/data/`` from the workbooks.

Usage: ``python scripts/make_bns_tables.py [DATA_DIR]`` (default ``../shared/data``).

The tables let ``reform-atlas run`` without a data folder print official figures:
``bns_regions_2023.csv`` (20 regions), ``bns_settlements_2023.csv`` (the 244 rows of
sheet 03: towns, posyolki, district-centre villages and 5 city districts) and
``bns_region_series.csv`` (population on 1 January 2018-2023 by region). Every row
carries its date and source.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inputs.bns import (  # noqa: E402
    BNS_SOURCE,
    BULLETIN_DATE,
    BULLETIN_TITLE,
    EMBEDDED_REGIONS,
    EMBEDDED_SERIES,
    EMBEDDED_SETTLEMENTS,
    SERIES_TITLE,
    bulletin_path,
    read_bulletin,
    read_series,
    series_path,
)


def main(argv: list[str]) -> int:
    """Write the three tables; return the exit code."""
    data_dir = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "data"
    bulletin, series = bulletin_path(data_dir), series_path(data_dir)
    if bulletin is None or series is None:
        print(f"{data_dir}: no bns/ workbooks; run 'reform-atlas data fetch --dest {data_dir}'")
        return 2
    b = read_bulletin(bulletin)
    source = f"{BNS_SOURCE}: {BULLETIN_TITLE}"
    b.regions.assign(date=BULLETIN_DATE, source=source).to_csv(
        EMBEDDED_REGIONS, index=False, lineterminator="\n"
    )
    b.settlements.assign(date=BULLETIN_DATE, source=source).to_csv(
        EMBEDDED_SETTLEMENTS, index=False, lineterminator="\n"
    )
    s = read_series(series)
    s[s["year"] >= 2018].assign(source=f"{BNS_SOURCE}: {SERIES_TITLE}").to_csv(
        EMBEDDED_SERIES, index=False, lineterminator="\n"
    )
    for path in (EMBEDDED_REGIONS, EMBEDDED_SETTLEMENTS, EMBEDDED_SERIES):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
