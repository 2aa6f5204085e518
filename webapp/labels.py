"""Labels true to the period a map shows (facts with their sources).

The ``before`` epoch of ``kz-2022`` is the state from the 2018 reform (Shymkent made a
city of republican significance, 19 June 2018) to the decrees of 8 June 2022 that
created Abai, Ulytau and Zhetysu regions; the ``after`` epoch is the state since then
(boundaries of 2024). Place names of a period come from :func:`inputs.names.period_name`
(the capital is "Astana / Nur-Sultan" on the map of 2018 – June 2022).
"""

from __future__ import annotations

from datetime import date

#: (spec id, epoch) → the period the epoch's map shows.
EPOCH_PERIODS: dict[tuple[str, int], str] = {
    ("kz-2022", 2018): "2018 – June 2022",
    ("kz-2022", 2024): "since June 2022",
}
#: (spec id, epoch) → first and last day whose names the epoch's map uses (the 2024 map: its year).
EPOCH_SPANS: dict[tuple[str, int], tuple[date, date]] = {
    ("kz-2022", 2018): (date(2018, 6, 19), date(2022, 6, 7)),
    ("kz-2022", 2024): (date(2024, 1, 1), date(2024, 12, 31)),
}


def epoch_period(spec_id: str, epoch: int) -> str:
    """``2018 – June 2022`` for the ``before`` epoch of kz-2022; the year for unknown specs."""
    return EPOCH_PERIODS.get((spec_id, epoch), str(epoch))


def epoch_name(spec_id: str, epoch: int) -> str:
    """``2018 (2018 – June 2022)``: the epoch's year with its period when that says more."""
    period = epoch_period(spec_id, epoch)
    return str(epoch) if period == str(epoch) else f"{epoch} ({period})"


def period_name(spec_id: str, epoch: int, name: str) -> str:
    """Name a place as the epoch's period knew it (``Astana / Nur-Sultan`` for 2018 – June 2022)."""
    from inputs.names import period_name as names_then

    span = EPOCH_SPANS.get((spec_id, epoch))
    return names_then(name, *span) if span else name
