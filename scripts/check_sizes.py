"""List modules over 600 lines and functions over 60 code lines (issue 9: "fit on a screen").

usage: python scripts/check_sizes.py [PACKAGE_OR_FILE ...]   (default: the project's packages)

A function's code lines are its lines that hold code: blank lines, comment lines and
its docstring are not counted (nested functions count within their parent and on
their own). A module counts all its lines. An offender with a reason written beside
it, a comment ``# size: <why>`` on the line above its ``def`` (or, for a module, in
its first 20 lines), is listed as explained. Exit code 1 when any offender has no
reason.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "boundaries", "inputs", "analysis", "report", "webapp", "cli")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
REASON = "# size:"


def code_lines(source: str) -> set[int]:
    """Line numbers holding code: not blank, not only a comment (docstrings removed later)."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers of every docstring (module, class, function)."""
    lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def has_reason(text_lines: list[str], lineno: int) -> bool:
    """Whether a ``# size:`` comment stands on the lines just above ``lineno`` (decorators skipped)."""
    i = lineno - 2
    while i >= 0 and text_lines[i].strip().startswith("@"):
        i -= 1
    return i >= 0 and text_lines[i].strip().startswith(REASON)


def check_file(path: Path) -> list[tuple[str, bool]]:
    """Return ``(line of report, explained)`` for each offender of ``path``."""
    source = path.read_text(encoding="utf-8")
    text_lines = source.splitlines()
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    out = []
    if len(text_lines) > MAX_MODULE_LINES:
        explained = any(line.strip().startswith(REASON) for line in text_lines[:20])
        out.append((f"{rel}: module of {len(text_lines)} lines", explained))
    tree = ast.parse(source)
    counted = code_lines(source) - docstring_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = len([i for i in counted if node.lineno <= i <= node.end_lineno])
            if n > MAX_FUNCTION_LINES:
                explained = has_reason(text_lines, node.lineno)
                out.append((f"{rel}:{node.lineno}: {node.name} has {n} code lines", explained))
    return out


def main(argv: list[str]) -> int:
    """Check the given packages or files (default: the project's packages); 1 if any offender lacks a reason."""
    targets = [Path(a) for a in argv] or [ROOT / p for p in PACKAGES]
    files = sorted(
        f for t in targets for f in ([t] if t.is_file() else t.rglob("*.py"))
        if "__pycache__" not in f.parts
    )  # fmt: skip
    bad = 0
    for path in files:
        for line, explained in check_file(path.resolve()):
            print(f"{line}{' (reason given)' if explained else ''}")
            bad += not explained
    print(f"{len(files)} files checked; {bad} offender(s) without a reason")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
