"""The report's building blocks: formatted tables, figures and region names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from report.format import region_label

if TYPE_CHECKING:
    from analysis.pipeline import Analysis


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    ``numeric`` marks right-aligned columns, ``highlight`` the rows to stand out
    and ``total`` an optional closing row.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    highlight: tuple[bool, ...] = ()
    total: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.numeric:
            object.__setattr__(self, "numeric", (False,) * len(self.columns))
        if not self.highlight:
            object.__setattr__(self, "highlight", (False,) * len(self.rows))


@dataclass(frozen=True)
class Chart:
    """A PNG figure with its caption and alternative text."""

    png: bytes
    caption: str
    alt: str


@dataclass
class Names:
    """Region names of each epoch, for labels."""

    by_epoch: dict[int, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, analysis: Analysis) -> Names:
        """Epoch → region code → English name, from the build's regions."""
        regions = analysis.build.regions
        return cls({e: dict(zip(r["code"], r["name_en"], strict=True)) for e, r in regions.items()})

    def label(self, code: Any, epoch: int) -> str:
        """``KZ-19 Almaty Region`` (``unassigned`` for no region)."""
        return region_label(code, self.by_epoch[epoch])

    def name(self, code: Any, epoch: int) -> str:
        """``Almaty Region`` (the code when the name is unknown)."""
        return self.by_epoch[epoch].get(code, code)
