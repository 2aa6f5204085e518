"""Reforms as a chain: specs that follow one another through shared epochs.

A reform spec names its ``before`` and ``after`` epochs; a chain is a list of specs in
which each one's ``after`` is the next one's ``before`` (1996 → 2017 → 2018 → 2024), and
consecutive specs describe their shared epoch identically (same region codes, names and
centres). :func:`load_chain` loads and checks one; the builder
(:func:`boundaries.build.build_chain`) builds every epoch of it from the district units.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from boundaries.spec import Period, ReformSpec, Rename, load_spec
from geo.errors import ReformAtlasError

#: The bundled chain, oldest reform first.
DEFAULT_CHAIN = ("kz-1997", "kz-2018", "kz-2022")


class ReformChainError(ReformAtlasError, ValueError):
    """Specs that do not form a chain (a gap, a fork, a cycle or a shared epoch that differs)."""


@dataclass(frozen=True)
class ReformChain:
    """Checked specs, oldest first. Use :func:`load_chain` or :func:`check_chain`."""

    specs: tuple[ReformSpec, ...]

    @property
    def epochs(self) -> tuple[int, ...]:
        """Every epoch of the chain, oldest first."""
        return (self.specs[0].before, *(s.after for s in self.specs))

    @property
    def reform_ids(self) -> tuple[str, ...]:
        """Ids of the specs, oldest first."""
        return tuple(s.id for s in self.specs)

    @property
    def renames(self) -> tuple[Rename, ...]:
        """Every ``[[renames]]`` entry of the chain's specs, oldest first (one home of names over time)."""
        return tuple(sorted(dict.fromkeys(r for s in self.specs for r in s.renames), key=lambda r: r.on))

    def period(self, epoch: int) -> Period | None:
        """Return the ``[periods.<epoch>]`` of ``epoch`` (consecutive specs agree on it), or None."""
        return next((s.periods[epoch] for s in self.specs if epoch in s.periods), None)

    def reform_of(self, epoch: int, *, districts: bool = True) -> ReformSpec:
        """Return the reform that produced ``epoch`` (its ``after``); for the first epoch, the one starting there.

        ``districts=False``: among the epochs a source of region units can build
        (:meth:`buildable_epochs`), so on the embedded default 2017 is the first epoch.
        """
        epochs = self.buildable_epochs(districts=districts)
        for s in self.specs:
            if s.after == epoch and s.before in epochs:
                return s
        return next((s for s in self.specs if s.before == epoch), None) or self.spec_of_epoch(epoch)

    def buildable_epochs(self, *, districts: bool) -> tuple[int, ...]:
        """Return the epochs a source can build.

        All of them with district units; with region units only (the embedded
        default) those after the latest reform whose ``[[members]]`` need districts.
        """
        if districts:
            return self.epochs
        needing = [s.before for s in self.specs if s.members]
        return tuple(e for e in self.epochs if not needing or e > max(needing))

    def spec(self, reform_id: str) -> ReformSpec:
        """Return the spec with id ``reform_id``."""
        for s in self.specs:
            if s.id == reform_id:
                return s
        msg = f"reform '{reform_id}' is not in the chain; use one of {', '.join(self.reform_ids)}"
        raise ReformChainError(msg)

    def since(self, reform_id: str) -> ReformChain:
        """Return the part of the chain from reform ``reform_id`` to the latest one.

        The builder derives earlier epochs from the units of the latest reform, so
        building one reform needs it and every later one.
        """
        return ReformChain(self.specs[self.specs.index(self.spec(reform_id)) :])

    def spec_of_epoch(self, epoch: int) -> ReformSpec:
        """Return a spec defining ``epoch`` (on a shared epoch both agree, see :func:`check_chain`)."""
        for s in self.specs:
            if epoch in s.epochs:
                return s
        msg = f"epoch {epoch} is not in the chain; use one of {', '.join(map(str, self.epochs))}"
        raise ReformChainError(msg)


def _name(spec: ReformSpec) -> str:
    return Path(spec.source).name if spec.source != "<spec>" else spec.id


def check_chain(specs: Iterable[ReformSpec]) -> ReformChain:
    """Order ``specs`` by epoch and check that they chain.

    Raises
    ------
    ReformChainError
        One line naming both specs and the epoch: two specs starting (or ending) at the
        same epoch, a gap between one spec's ``after`` and the next one's ``before``, a
        cycle, or a shared epoch the two specs describe differently.
    """
    specs = list(specs)
    if not specs:
        raise ReformChainError("no reform spec given; a chain needs at least one spec")
    for s in specs:
        if s.after <= s.before:
            _reject_backward(s, specs)
    for attr in ("before", "after"):
        seen: dict[int, ReformSpec] = {}
        for s in specs:
            other = seen.setdefault(getattr(s, attr), s)
            if other is not s:
                msg = (
                    f"{_name(other)} and {_name(s)} both have {attr} = {getattr(s, attr)}; "
                    "a chain holds one reform per step, drop or re-date one of them"
                )
                raise ReformChainError(msg)
    ordered = sorted(specs, key=lambda s: s.before)
    for a, b in itertools.pairwise(ordered):
        if a.after != b.before:
            msg = (
                f"{_name(a)} and {_name(b)} do not chain at epoch {a.after}: {_name(a)} ends at "
                f"{a.after} but {_name(b)} starts at {b.before}; add the reform in between or re-date one"
            )
            raise ReformChainError(msg)
        _check_shared_epoch(a, b, a.after)
    return ReformChain(tuple(ordered))


def _reject_backward(spec: ReformSpec, specs: list[ReformSpec]) -> None:
    """Reject a spec running back in time, naming the spec it closes a cycle with, if any."""
    back = next(
        (t for t in specs if t is not spec and t.before == spec.after and t.after == spec.before),
        None,
    ) or next((t for t in specs if t is not spec and spec.after in t.epochs), None)
    if back is not None:
        msg = (
            f"{_name(back)} and {_name(spec)} form a cycle at epoch {spec.after}: {_name(spec)} "
            f"runs back from {spec.before} to {spec.after}; a chain runs forward in time"
        )
    else:
        msg = (
            f"{_name(spec)}: before {spec.before} is not earlier than after {spec.after}; "
            "a chain runs forward in time"
        )
    raise ReformChainError(msg)


def _check_shared_epoch(a: ReformSpec, b: ReformSpec, epoch: int) -> None:
    ra, rb = a.regions_of(epoch), b.regions_of(epoch)
    problems = [f"region {c} only in {_name(a)}" for c in sorted(set(ra) - set(rb))]
    problems += [f"region {c} only in {_name(b)}" for c in sorted(set(rb) - set(ra))]
    for code in sorted(set(ra) & set(rb)):
        ca, cb = a.centres[ra[code].centre], b.centres[rb[code].centre]
        if ra[code].name_en != rb[code].name_en:
            problems.append(f"{code} named {ra[code].name_en!r} vs {rb[code].name_en!r}")
        if (ca.lon, ca.lat) != (cb.lon, cb.lat):
            problems.append(
                f"{code} centre {ca.name_en} ({ca.lon}, {ca.lat}) vs {cb.name_en} ({cb.lon}, {cb.lat})"
            )
    pa, pb = a.periods.get(epoch), b.periods.get(epoch)
    if pa is not None and pb is not None and pa != pb:
        problems.append(
            f"[periods.{epoch}] {pa.label!r} {pa.first_day}..{pa.last_day} vs "
            f"{pb.label!r} {pb.first_day}..{pb.last_day}"
        )
    if problems:
        msg = (
            f"{_name(a)} and {_name(b)} disagree on their shared epoch {epoch}: "
            f"{'; '.join(problems)}; describe epoch {epoch} identically in both specs"
        )
        raise ReformChainError(msg)


def load_chain(paths: Sequence[str | os.PathLike] | None = None) -> ReformChain:
    """Load specs (paths or bundled ids; default :data:`DEFAULT_CHAIN`) and check that they chain."""
    return check_chain(load_spec(p) for p in (DEFAULT_CHAIN if paths is None else paths))


@lru_cache(maxsize=1)
def _bundled_renames() -> tuple[Rename, ...]:
    return load_chain().renames


def known_renames(spec: ReformSpec) -> tuple[Rename, ...]:
    """Return the renamings to name places by: the bundled chain's and ``spec``'s own, oldest first.

    Names are facts about places, not about one reform: a spec of the chain (or a
    scenario based on one) names places with every renaming the chain knows.
    """
    return tuple(
        sorted(dict.fromkeys((*_bundled_renames(), *spec.renames)), key=lambda r: r.on)
    )
