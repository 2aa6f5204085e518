"""The analysis written up: a self-contained ``report.html`` and a ``report.md``.

Both files are rendered by jinja2 from the same section templates
(``templates/sections/*.j2``, listed in ``templates/body.j2``) with the building
blocks of each format (``blocks.html.j2``, ``blocks.md.j2``), so they carry the
same content; the Markdown file names the figures but does not embed them. The
context comes from :func:`report.context.report_context`.

The HTML opens offline: styles are inline and figures are PNGs embedded as
``data:`` URIs. Nothing here changes the :class:`~analysis.pipeline.Analysis`.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from analysis.summary import reform_chain
from report.context import report_context
from report.format import join_words

if TYPE_CHECKING:
    from analysis.pipeline import Analysis
    from analysis.summary import ChainSummary

#: Markdown metacharacters escaped in values (names from a settlements file may carry any of them).
_MD_SPECIAL = re.compile(r"([\\`*_<>\[\]|])")


def md_escape(value: Any) -> Markup:
    """Escape a value for Markdown text and table cells (newlines become spaces)."""
    return Markup(_MD_SPECIAL.sub(r"\\\1", str(value)).replace("\n", " "))


def _md_finalize(value: Any) -> Any:
    # every {{ value }} of the Markdown templates goes through here: markup made by the
    # block macros (Markup) passes, data is escaped for Markdown instead of HTML
    return value if isinstance(value, Markup) else md_escape(value)


def _collapse(value: str) -> Markup:
    """Join the lines of a paragraph written over several template lines."""
    return Markup(" ".join(str(value).split()))


def _sep(loop: Any) -> str:
    """Separator after a loop item in running text: ``, `` then `` and `` then nothing."""
    return "" if loop.last else (" and " if loop.revindex == 2 else ", ")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@cache
def environment(fmt: str) -> Environment:
    """Return the jinja2 environment of ``fmt`` (``"html"`` or ``"md"``), templates from the package."""
    env = Environment(
        loader=PackageLoader("report", "templates"),
        autoescape=True,  # HTML-escaped in html; _md_finalize escapes for Markdown first
        finalize=_md_finalize if fmt == "md" else None,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(collapse=_collapse, sep=_sep, data_uri=_data_uri, join_words=join_words)
    env.filters["eq"] = lambda ok: "=" if ok else "≠"
    return env


def _tidy(text: str) -> str:
    """At most one blank line between blocks, one newline at the end."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_html(context: dict[str, Any]) -> str:
    """Render the complete, self-contained HTML document."""
    return _tidy(environment("html").get_template("report.html.j2").render(context))


def render_markdown(context: dict[str, Any]) -> str:
    """Render the report as Markdown."""
    return _tidy(environment("md").get_template("report.md.j2").render(context))


def write_report(
    analysis: Analysis,
    folder: str | Path,
    *,
    chain: ChainSummary | Literal["auto"] | None = "auto",
) -> list[Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` into ``folder``.

    Parameters
    ----------
    analysis : Analysis
        A finished analysis (see :func:`analysis.pipeline.analyze`); not modified.
    folder : str or Path
        Output folder (created if missing).
    chain : ChainSummary, "auto" or None
        The reform chain of the analysed reform: a section per reform and today's
        regions against the former oblasts. ``"auto"`` (default) builds it with
        :func:`analysis.summary.reform_chain` when the analysed reform ends the
        bundled chain; None leaves the sections out.

    Returns
    -------
    list of Path
        The two files written, HTML first.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if chain == "auto":
        chain = reform_chain(analysis)
    context = report_context(analysis, chain=chain)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_path.write_text(render_html(context), encoding="utf-8")
    md_path.write_text(render_markdown(context), encoding="utf-8")
    return [html_path, md_path]
