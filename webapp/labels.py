"""Labels true to the period a map shows (facts with their sources).

The ``before`` epoch of ``kz-2022`` is the state from the 2018 reform (Shymkent made a
city of republican significance, 19 June 2018) to the decrees of 8 June 2022 that
created Abai, Ulytau and Zhetysu regions; the ``after`` epoch is the state since then
(boundaries of 2024). The capital was Astana until 23 March 2019, Nur-Sultan until
17 September 2022 and Astana again since; a map of 2018 – June 2022 covers both names.
"""

from __future__ import annotations

#: (spec id, epoch) → the period the epoch's map shows.
EPOCH_PERIODS: dict[tuple[str, int], str] = {
    ("kz-2022", 2018): "2018 – June 2022",
    ("kz-2022", 2024): "since June 2022",
}
#: (spec id, epoch) → names of places as the period knew them (both where it knew two).
PERIOD_NAMES: dict[tuple[str, int], dict[str, str]] = {
    ("kz-2022", 2018): {"Nur-Sultan": "Astana / Nur-Sultan", "Astana": "Astana / Nur-Sultan"},
}


def epoch_period(spec_id: str, epoch: int) -> str:
    """``2018 – June 2022`` for the ``before`` epoch of kz-2022; the year for unknown specs."""
    return EPOCH_PERIODS.get((spec_id, epoch), str(epoch))


def epoch_name(spec_id: str, epoch: int) -> str:
    """``2018 (2018 – June 2022)``: the epoch's year with its period when that says more."""
    period = epoch_period(spec_id, epoch)
    return str(epoch) if period == str(epoch) else f"{epoch} ({period})"


def period_name(spec_id: str, epoch: int, name: str) -> str:
    """Return a place name as the epoch's period knew it (``Astana / Nur-Sultan`` for 2018 – June 2022)."""
    return PERIOD_NAMES.get((spec_id, epoch), {}).get(name, name)
