"""Labels true to the period a map shows, from the reform specs' ``[periods.<epoch>]`` and ``[[renames]]``.

Each spec names the period of each of its epochs (``June 2018 – June 2022`` for the
2018 map, ``since June 2022`` for the 2024 map) and the days whose place names that
map uses; an approximate epoch (the 1996 oblasts, built from later districts) is
marked so wherever it is shown. Place names of a period come from
:func:`inputs.names.period_name` with the renamings of the specs
(:func:`boundaries.chain.known_renames`): the capital is "Astana / Nur-Sultan" on
the map of June 2018 – June 2022.
"""

from __future__ import annotations

#: Word added to the period of an approximate epoch.
APPROXIMATE = "approximate"


def is_approximate(spec, epoch: int) -> bool:
    """Whether the spec marks ``epoch`` approximate (``approximate = true`` in its period)."""
    period = spec.periods.get(epoch)
    return bool(period is not None and period.approximate)


def epoch_period(spec, epoch: int) -> str:
    """``June 2018 – June 2022``; ``1991 – April 1997 (approximate)``; the year when the spec has no period."""
    period = spec.periods.get(epoch)
    if period is None:
        return str(epoch)
    return f"{period.label} ({APPROXIMATE})" if period.approximate else period.label


def epoch_name(spec, epoch: int) -> str:
    """``2018 (June 2018 – June 2022)``, ``1996 (1991 – April 1997, approximate)``: the year and its period.

    The report's wording (:func:`report.reforms.epoch_period`), so that app and report say it alike.
    """
    from report.reforms import epoch_period as year_and_period

    return year_and_period(epoch, spec.periods)


def period_name(spec, epoch: int, name: str) -> str:
    """Name a place as the epoch's period knew it (``Astana / Nur-Sultan`` for June 2018 – June 2022).

    The report's wording (:func:`report.reforms.name_then`), with the spec's renames.
    """
    from boundaries.chain import known_renames
    from report.reforms import name_then

    return name_then(name, epoch, spec.periods, known_renames(spec))


def reform_year(spec) -> str:
    """Return the year a reform was enacted (``[reform] enacted``), else its ``after`` epoch: ``2022``."""
    enacted = str(spec.meta.get("enacted") or "")
    return enacted[:4] if enacted[:4].isdigit() else str(spec.after)


def epoch_label(spec, epoch: int) -> str:
    """Return the timeline label of an epoch: ``2018 · June 2018 – June 2022``."""
    period = epoch_period(spec, epoch)
    return str(epoch) if period == str(epoch) else f"{epoch} · {period}"


def centres_then(frame, spec, columns: dict[int, str]):
    """Return ``frame`` with each epoch's centre column (epoch → column) named as that period knew it."""
    from boundaries.chain import known_renames
    from report.reforms import name_then

    renames = known_renames(spec)  # once, and each distinct name once (about 20 centres)
    out = frame.copy()
    for epoch, col in columns.items():
        if col in out.columns:
            names = {n: name_then(n, epoch, spec.periods, renames) for n in set(out[col]) if isinstance(n, str)}
            out[col] = [names.get(n, n) if isinstance(n, str) else n for n in out[col]]
    return out
