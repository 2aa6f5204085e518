r"""What the command line prints on success: summary lines, each one safe line.

Summary lines repeat text from outside (file names, settlement and region names from
a settlements file or a spec). They go through the same escaper as error messages
(:func:`geo.errors.escape_controls`), so a newline or a terminal escape in a name is
shown as ``\n`` or ``\x1b`` and never breaks the line or rewrites the terminal.
"""

from __future__ import annotations

import sys

from geo.errors import escape_controls


def say(*lines: object) -> None:
    """Print each of ``lines`` on standard output as one line, control characters escaped."""
    for line in lines:
        print(escape_controls(str(line)), file=sys.stdout)
